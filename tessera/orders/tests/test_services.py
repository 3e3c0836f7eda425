import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.core.errors import InvalidInput
from tessera.inventory import services as inventory
from tessera.inventory.errors import HoldLost
from tessera.inventory.models import HoldStatus, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_sale
from tessera.orders import services
from tessera.orders.models import LedgerEntry, LedgerKind, LineStatus, Order, OrderStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def sale(now):
    return make_sale(sections=2, rows=2, seats_per_row=6, now=now)


def _hold_seats(sale, user, now, seats=(1, 2), section="S1"):
    units = sale.seat_units(section, "A", seats)
    return inventory.hold_units(
        session=sale.session, user=user, unit_ids=[u.id for u in units], now=now
    )


def _ledger_sum(order) -> Decimal:
    return order.ledger.aggregate(s=Sum("amount"))["s"] or Decimal("0.00")


def test_place_order_copies_prices_and_names_and_is_idempotent(sale, now):
    # given a buyer holding two seats of zone A (380.00) and one of zone B (280.00)
    buyer = make_user(email="fan@example.com")
    units = [*sale.seat_units("S1", "A", [3, 4]), sale.seat_unit("S2", "B", 1)]
    hold = inventory.hold_units(
        session=sale.session, user=buyer, unit_ids=[u.id for u in units], now=now
    )

    # when an order is placed (twice)
    order = services.place_order(
        hold=hold, user=buyer, attendees=["王芳", "李雷", " Ann "], now=now
    )
    again = services.place_order(hold=hold, user=buyer, attendees=None, now=now)

    # then one order with the prices of the moment, and the hold is ordered
    assert again.pk == order.pk
    assert Order.objects.count() == 1
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.total == Decimal("1040.00")
    assert order.currency == "CNY"
    assert order.email == "fan@example.com"
    assert order.expires_at == hold.expires_at
    assert order.number.startswith("T") and len(order.number) == 14
    lines = list(order.lines.order_by("id"))
    assert [
        (ln.section_code, ln.row_label, ln.seat_label, ln.price, ln.attendee_name) for ln in lines
    ] == [
        ("S1", "A", "3", Decimal("380.00"), "王芳"),
        ("S1", "A", "4", Decimal("380.00"), "李雷"),
        ("S2", "B", "1", Decimal("280.00"), "Ann"),
    ]
    hold.refresh_from_db()
    assert hold.status == HoldStatus.ORDERED
    # a later price change does not touch the order
    sale.zones["A"].price = Decimal("999.00")
    sale.zones["A"].save()
    order.refresh_from_db()
    assert order.total == Decimal("1040.00")


def test_place_order_refuses_an_expired_or_foreign_hold_and_changes_nothing(sale, now):
    buyer, other = make_user(), make_user()
    hold = _hold_seats(sale, buyer, now)
    with pytest.raises(services.HoldNotUsable):
        services.place_order(hold=hold, user=other, now=now)
    later = now + timedelta(minutes=sale.session.hold_minutes, seconds=1)
    with pytest.raises(services.HoldNotUsable):
        services.place_order(hold=hold, user=buyer, now=later)
    assert Order.objects.count() == 0
    hold.refresh_from_db()
    assert hold.status == HoldStatus.ACTIVE


def test_wrong_number_of_attendees_is_refused(sale, now):
    buyer = make_user()
    hold = _hold_seats(sale, buyer, now)
    with pytest.raises(services.AttendeesInvalid) as err:
        services.place_order(hold=hold, user=buyer, attendees=["only one"], now=now)
    assert err.value.details == {"expected": 2, "given": 1}
    with pytest.raises(services.AttendeesInvalid):
        services.place_order(hold=hold, user=buyer, attendees=["a", "x" * 81], now=now)
    assert Order.objects.count() == 0


def test_mark_paid_sells_places_books_one_charge_and_repeats_harmlessly(sale, now):
    buyer = make_user()
    order = services.place_order(hold=_hold_seats(sale, buyer, now), user=buyer, now=now)
    payment_id = uuid.uuid4()

    services.mark_order_paid(
        order=order, payment_id=payment_id, amount=Decimal("760.00"), currency="CNY", now=now
    )
    services.mark_order_paid(
        order=order, payment_id=payment_id, amount=Decimal("760.00"), currency="CNY", now=now
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.paid_at == now
    assert list(order.ledger.values_list("kind", "amount")) == [
        (LedgerKind.CHARGE, Decimal("760.00"))
    ]
    lines = {ln.unit_id: ln.id for ln in order.lines.all()}
    sold = dict(
        InventoryUnit.objects.filter(status=UnitStatus.SOLD).values_list("id", "order_line_id")
    )
    assert sold == lines


def test_wrong_amount_is_refused_and_nothing_is_sold(sale, now):
    buyer = make_user()
    order = services.place_order(hold=_hold_seats(sale, buyer, now), user=buyer, now=now)
    with pytest.raises(services.PaymentMismatch):
        services.mark_order_paid(
            order=order, payment_id=uuid.uuid4(), amount=Decimal("759.99"), currency="CNY", now=now
        )
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert not LedgerEntry.objects.exists()
    assert not InventoryUnit.objects.filter(status=UnitStatus.SOLD).exists()


def test_late_payment_completes_while_the_places_are_still_the_holds(sale, now):
    buyer = make_user()
    order = services.place_order(hold=_hold_seats(sale, buyer, now), user=buyer, now=now)
    late = now + timedelta(minutes=sale.session.hold_minutes + 5)
    services.expire_overdue_orders(now=late)
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED

    services.mark_order_paid(
        order=order, payment_id=uuid.uuid4(), amount=order.total, currency="CNY", now=late
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert InventoryUnit.objects.filter(status=UnitStatus.SOLD).count() == 2


def test_late_payment_after_someone_took_a_place_raises_hold_lost_and_changes_nothing(sale, now):
    buyer, rival = make_user(), make_user()
    order = services.place_order(
        hold=_hold_seats(sale, buyer, now, seats=(1, 2)), user=buyer, now=now
    )
    late = now + timedelta(minutes=sale.session.hold_minutes + 1)
    _hold_seats(sale, rival, late, seats=(2, 3))

    with pytest.raises(HoldLost):
        services.mark_order_paid(
            order=order, payment_id=uuid.uuid4(), amount=order.total, currency="CNY", now=late
        )

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert not LedgerEntry.objects.exists()
    assert not InventoryUnit.objects.filter(status=UnitStatus.SOLD).exists()


def test_lost_sale_and_refund_leave_a_ledger_that_sums_to_zero(sale, now):
    buyer = make_user()
    order = services.place_order(hold=_hold_seats(sale, buyer, now), user=buyer, now=now)
    payment_id = uuid.uuid4()

    services.record_lost_sale(
        order=order,
        payment_id=payment_id,
        amount=order.total,
        currency="CNY",
        reason="places taken",
        now=now,
    )
    services.record_refund(
        order=order,
        payment_id=payment_id,
        amount=order.total,
        currency="CNY",
        reason="places taken",
        reference="R1",
        now=now,
    )
    services.record_refund(
        order=order,
        payment_id=payment_id,
        amount=order.total,
        currency="CNY",
        reason="places taken",
        reference="R1",
        now=now,
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.close_reason == "places taken"
    assert _ledger_sum(order) == Decimal("0.00")
    assert order.ledger.count() == 2
    assert set(order.lines.values_list("status", flat=True)) == {LineStatus.VOID}


def test_refund_cannot_exceed_what_was_paid(sale, now):
    buyer = make_user()
    order = services.place_order(hold=_hold_seats(sale, buyer, now), user=buyer, now=now)
    payment_id = uuid.uuid4()
    services.mark_order_paid(
        order=order, payment_id=payment_id, amount=order.total, currency="CNY", now=now
    )
    with pytest.raises(InvalidInput):
        services.record_refund(
            order=order,
            payment_id=payment_id,
            amount=Decimal("760.01"),
            currency="CNY",
            reason="too much",
            now=now,
        )
    assert _ledger_sum(order) == Decimal("760.00")

    services.record_refund(
        order=order,
        payment_id=payment_id,
        amount=Decimal("380.00"),
        currency="CNY",
        reason="one seat",
        reference="R2",
        now=now,
    )
    order.refresh_from_db()
    # money alone does not change what the fan holds: lines change through after-sales
    assert order.status == OrderStatus.PAID
    assert _ledger_sum(order) == Decimal("380.00")


def test_cancel_frees_the_places_and_paid_orders_cannot_be_cancelled(sale, now):
    buyer = make_user()
    order = services.place_order(hold=_hold_seats(sale, buyer, now), user=buyer, now=now)
    services.cancel_order(order=order, actor=buyer, reason="changed my mind", now=now)
    services.cancel_order(order=order, actor=buyer, reason="again", now=now)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.close_reason == "changed my mind"
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 0

    second = services.place_order(
        hold=_hold_seats(sale, buyer, now, seats=(5, 6)), user=buyer, now=now
    )
    services.mark_order_paid(
        order=second, payment_id=uuid.uuid4(), amount=second.total, currency="CNY", now=now
    )
    with pytest.raises(services.OrderNotCancellable):
        services.cancel_order(order=second, actor=buyer, reason="too late", now=now)
    second.refresh_from_db()
    assert second.status == OrderStatus.PAID


def test_ledger_entries_are_append_only(sale, now):
    buyer = make_user()
    order = services.place_order(hold=_hold_seats(sale, buyer, now), user=buyer, now=now)
    services.mark_order_paid(
        order=order, payment_id=uuid.uuid4(), amount=order.total, currency="CNY", now=now
    )
    entry = order.ledger.get()
    entry.amount = Decimal("1.00")
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
    assert order.ledger.get().amount == Decimal("760.00")


def test_a_buyer_cannot_release_an_ordered_hold_but_cancelling_the_order_frees_it(sale, now):
    buyer = make_user()
    hold = _hold_seats(sale, buyer, now)
    order = services.place_order(hold=hold, user=buyer, now=now)
    with pytest.raises(inventory.HoldNotReleasable):
        inventory.release_hold(hold=hold, user=buyer, now=now)
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 2
    services.cancel_order(order=order, actor=buyer, reason="no", now=now)
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 0


def test_a_late_payment_may_not_take_an_account_past_its_limit(now):
    # given an account limit of 4, an order of 3 whose hold ran out, then a new hold of 2
    sale = make_sale(
        sections=2,
        rows=2,
        seats_per_row=6,
        now=now,
        max_tickets_per_order=4,
        max_tickets_per_account=4,
    )
    buyer = make_user()
    order = services.place_order(
        hold=_hold_seats(sale, buyer, now, seats=(1, 2, 3)), user=buyer, now=now
    )
    late = now + timedelta(minutes=sale.session.hold_minutes + 1)
    _hold_seats(sale, buyer, late, seats=(1, 2), section="S2")

    # when the first payment arrives late, its places still untaken
    with pytest.raises(HoldLost) as err:
        services.mark_order_paid(
            order=order, payment_id=uuid.uuid4(), amount=order.total, currency="CNY", now=late
        )

    # then nothing is sold: selling would give the account 5 places
    assert err.value.details["reason"] == "account_limit"
    assert not InventoryUnit.objects.filter(status=UnitStatus.SOLD).exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_extending_an_ordered_hold_goes_through_the_order(sale, now):
    buyer = make_user()
    hold = _hold_seats(sale, buyer, now)
    order = services.place_order(hold=hold, user=buyer, now=now)
    with pytest.raises(inventory.HoldOrdered):
        inventory.extend_hold(hold=hold, user=buyer, now=now)

    services.extend_order(order=order, user=buyer, now=now + timedelta(minutes=9))

    order.refresh_from_db()
    hold.refresh_from_db()
    assert (
        order.expires_at
        == hold.expires_at
        == now + timedelta(minutes=2 * sale.session.hold_minutes)
    )
    services.expire_overdue_orders(now=now + timedelta(minutes=12))
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
