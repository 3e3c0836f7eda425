"""The buyer's one-call checkout: hold, order and payment start in one transaction.

On PostgreSQL the checkout runs as three statements (``sale.fastpath``); everywhere else,
and whenever those decline, through the apps' services. The results must be the same rows.
"""

from decimal import Decimal

import pytest

from tessera.core.errors import DomainError
from tessera.core.models import AuditEntry
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.inventory.services import hold_units
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import Order, OrderLine, OrderStatus
from tessera.payments.models import Payment, PaymentStatus
from tessera.sale import services, status
from tessera.sale.tests.conftest import choose, sale_rows

pytestmark = pytest.mark.django_db


def buy(sale, buyer, now, **fields):
    fields.setdefault("provider", "sandbox")
    choice = fields.pop("choice")
    return services.checkout(
        session_id=sale.session.pk, user=buyer, choice=choice, now=now, **fields
    )


def test_any_two_places_of_a_zone_become_an_order_awaiting_payment(sale, buyer, now):
    # When a buyer checks out two places of zone A
    result = buy(sale, buyer, now, choice=choose(zone=sale.zones["A"].pk, quantity=2))
    # Then an order of two lines at ¥380 awaits payment of ¥760 at the sandbox
    order = Order.objects.get(pk=result.order.pk)
    assert (order.status, order.total, order.currency) == (
        OrderStatus.PENDING_PAYMENT,
        Decimal("760.00"),
        "CNY",
    )
    assert order.email == "fan@example.com"
    lines = list(order.lines.order_by("id"))
    assert [(ln.section_code, ln.row_label, ln.seat_label, ln.price) for ln in lines] == [
        ("S1", "A", "1", Decimal("380.00")),
        ("S1", "A", "2", Decimal("380.00")),
    ]
    assert [ln.zone_name for ln in lines] == ["Zone A", "Zone A"]
    # the places are held by the order's hold, which is ordered and expires with the order
    hold = Hold.objects.get(pk=order.hold_id)
    assert (hold.status, hold.quantity, hold.user_id) == (HoldStatus.ORDERED, 2, buyer.pk)
    assert order.expires_at == hold.expires_at
    units = InventoryUnit.objects.filter(hold=hold).order_by("id")
    assert [u.pk for u in units] == [ln.unit_id for ln in lines]
    assert {(u.status, u.hold_expires_at) for u in units} == {(UnitStatus.HELD, hold.expires_at)}
    # and one payment of the total awaits the buyer at the cashier
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.amount, payment.provider) == (
        PaymentStatus.CREATED,
        Decimal("760.00"),
        "sandbox",
    )
    assert payment.cashier_url.endswith(f"/pay/sandbox/{payment.pk}/") or "/pay/sandbox/" in (
        payment.cashier_url
    )
    # The answer is what was written
    assert result.order.number == order.number
    assert [ln.pk for ln in result.lines] == [ln.pk for ln in lines]
    assert (result.payment.pk, result.payment.cashier_url) == (payment.pk, payment.cashier_url)
    assert status.read_token(result.status_token).order_id == order.pk
    # and the audit trail says who did what
    assert sorted(AuditEntry.objects.filter(actor=buyer).values_list("action", flat=True)) == [
        "hold.created",
        "order.placed",
        "payment.started",
    ]


def test_chosen_seats_attendees_and_contact_are_copied(sale, buyer, now):
    seats = sale.seat_units("S2", "B", [4, 5])
    result = buy(
        sale,
        buyer,
        now,
        choice=choose(unit_ids=[seats[1].pk, seats[0].pk]),
        attendees=["Li Lei", " Han Meimei "],
        email="tickets@example.org",
        phone="+86 138 0000 0000",
    )
    order = Order.objects.get(pk=result.order.pk)
    assert (order.email, order.phone, order.total) == (
        "tickets@example.org",
        "+86 138 0000 0000",
        Decimal("560.00"),
    )
    assert list(
        order.lines.order_by("id").values_list("unit_id", "seat_label", "attendee_name")
    ) == [(seats[0].pk, "4", "Li Lei"), (seats[1].pk, "5", "Han Meimei")]


def test_best_available_takes_adjacent_seats(sale, buyer, now):
    result = buy(
        sale, buyer, now, choice=choose(zone=sale.zones["B"].pk, quantity=3, best_available=True)
    )
    lines = list(OrderLine.objects.filter(order_id=result.order.pk).order_by("id"))
    assert len({ln.row_label for ln in lines}) == 1
    positions = sorted(int(ln.seat_label) for ln in lines)
    assert positions == list(range(positions[0], positions[0] + 3))


def test_standing_places_by_zone(sale, buyer, now):
    result = buy(sale, buyer, now, choice=choose(zone=sale.zones["GA"].pk, quantity=4))
    lines = list(OrderLine.objects.filter(order_id=result.order.pk))
    assert [(ln.section_code, ln.seat_label, ln.price) for ln in lines] == [
        ("GA", "", Decimal("180.00"))
    ] * 4


def test_a_taken_seat_refuses_the_whole_checkout_and_writes_nothing(sale, buyer, now):
    seats = sale.seat_units("S1", "C", [1, 2])
    hold_units(session=sale.session, user=make_buyer(), unit_ids=[seats[1].pk], now=now)
    before = sale_rows(sale.session)
    with pytest.raises(DomainError) as refused:
        buy(sale, buyer, now, choice=choose(unit_ids=[s.pk for s in seats]))
    assert refused.value.code == "places_unavailable"
    assert refused.value.details == {"unit_ids": [seats[1].pk]}
    assert sale_rows(sale.session) == before


def test_the_account_limit_counts_places_already_held(sale, buyer, now):
    buy(sale, buyer, now, choice=choose(zone=sale.zones["A"].pk, quantity=4))
    before = sale_rows(sale.session)
    with pytest.raises(DomainError) as refused:
        buy(sale, buyer, now, choice=choose(zone=sale.zones["B"].pk, quantity=3))
    assert refused.value.code == "limit_exceeded"
    assert refused.value.details == {
        "max_tickets_per_account": 6,
        "already": 4,
        "requested": 3,
    }
    assert sale_rows(sale.session) == before
    # two more are fine
    buy(sale, buyer, now, choice=choose(zone=sale.zones["B"].pk, quantity=2))


def test_a_sold_out_zone_says_so(sale, buyer, now):
    buy(sale, make_buyer(), now, choice=choose(zone=sale.zones["GA"].pk, quantity=6))
    buy(sale, make_buyer(), now, choice=choose(zone=sale.zones["GA"].pk, quantity=6))
    buy(sale, make_buyer(), now, choice=choose(zone=sale.zones["GA"].pk, quantity=6))
    before = sale_rows(sale.session)
    with pytest.raises(DomainError) as refused:
        buy(sale, buyer, now, choice=choose(zone=sale.zones["GA"].pk, quantity=3))
    assert refused.value.code == "places_unavailable"
    assert str(refused.value.message) == "Fewer than 3 places are left here."
    assert sale_rows(sale.session) == before


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"attendees": ["only one"]}, "attendees_invalid"),
        ({"attendees": ["nul\x00name", "ok"]}, "attendees_invalid"),
        ({"email": "not an email"}, "contact_invalid"),
        ({"email": "a@b.example\x00"}, "contact_invalid"),
        ({"phone": "call me"}, "contact_invalid"),
        ({"provider": "nobody"}, "unknown_provider"),
        ({"options": {"fail": "yes"}}, "invalid_payment_options"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(sale, buyer, now, fields, code):
    before = sale_rows(sale.session)
    with pytest.raises(DomainError) as refused:
        buy(sale, buyer, now, choice=choose(zone=sale.zones["A"].pk, quantity=2), **fields)
    assert refused.value.code == code
    assert sale_rows(sale.session) == before


def test_a_session_off_sale_refuses(sale, buyer, now):
    sale.session.on_sale_until = now
    sale.session.save()
    before = sale_rows(sale.session)
    with pytest.raises(DomainError) as refused:
        buy(sale, buyer, now, choice=choose(zone=sale.zones["A"].pk, quantity=1))
    assert refused.value.code == "not_on_sale"
    assert sale_rows(sale.session) == before


def test_a_zone_of_another_session_is_out_of_scope(sale, buyer, now):
    from tessera.inventory.tests.factories import make_sale

    other = make_sale(sections=1, rows=1, seats_per_row=2, now=now)
    with pytest.raises(DomainError) as refused:
        buy(sale, buyer, now, choice=choose(zone=other.zones["A"].pk, quantity=1))
    assert refused.value.code == "scope_invalid"
