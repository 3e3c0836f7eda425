"""Refunds through the services: the fan's request, the organizer's decision, the money back,
and everything refused with nothing changed."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import TestCase
from django.utils import timezone, translation

from tessera.accounts.tests.factories import make_member
from tessera.aftersales import services
from tessera.aftersales.errors import (
    AlreadyRequested,
    FeeChanged,
    LinesUnknown,
    OrderNotRefundable,
    ReasonRequired,
    RefundNotAllowed,
    RefundTooLate,
    RequestNotOpen,
    SessionHasPaidOrders,
    TicketUsed,
)
from tessera.aftersales.models import RefundRequest, RequestStatus
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.catalog.models import SessionStatus
from tessera.checkin import services as checkin
from tessera.core.models import AuditEntry
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import LedgerEntry, LineStatus, Order, OrderStatus
from tessera.orders.services import OrderNotFound
from tessera.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from tessera.sandbox.models import SandboxTrade
from tessera.tickets.models import Revocation, Ticket, TicketStatus
from tessera.tickets.services import credential_for

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def sale(now):
    sale = make_sale(sections=1, rows=1, seats_per_row=6, starts_at=now + timedelta(days=10))
    catalog.set_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        refund_cutoff_hours=2,
        tiers=[(168, 0), (72, 10), (0, 20)],
        fee_min=D("5.00"),
    )
    return sale


@pytest.fixture
def fan():
    return make_buyer(preferred_language="en")


def snapshot(order: Order) -> dict:
    """Every row a refund could touch, for "nothing changed" checks."""
    return {
        "order": Order.objects.filter(pk=order.pk).values().get(),
        "lines": list(order.lines.order_by("pk").values()),
        "units": list(InventoryUnit.objects.filter(session=order.session).order_by("pk").values()),
        "tickets": list(Ticket.objects.filter(order_line__order=order).order_by("pk").values()),
        "ledger": list(LedgerEntry.objects.filter(order=order).order_by("pk").values()),
        "refunds": list(Refund.objects.filter(payment__order=order).values()),
        "requests": list(RefundRequest.objects.filter(order=order).values()),
        "revocations": Revocation.objects.count(),
    }


def ledger_sum(order) -> Decimal:
    return sum(LedgerEntry.objects.filter(order=order).values_list("amount", flat=True), D(0))


def run(fn, **kwargs):
    """A service call as a request makes it: on-commit work (the provider refund) runs."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return fn(**kwargs)


def test_a_fan_refunds_one_of_two_tickets_and_the_fee_is_the_schedules(sale, fan, now):
    # given a paid order of two tickets of 380.00, ten days before the start (fee 0 %, min 5)
    order = bought(sale, fan, [1, 2], now)
    first, second = order.lines.order_by("pk")
    quote = services.quote_refund(order=order, line_ids=[first.pk], now=now)
    assert (quote.price, quote.fee, quote.amount) == (D("380.00"), D("5.00"), D("375.00"))
    with translation.override("en"):
        assert services.quote_refund(order=order, line_ids=[first.pk], now=now).lines[
            0
        ].explanation == [
            "The schedule's fee now (7 days or more before the start) is 0 %.",
            "The policy's minimum fee applies.",
            "Fee ¥5.00 of ¥380.00: ¥375.00 goes back to you.",
        ]

    # when the fan confirms the fee they were shown
    request = run(
        services.request_refund,
        order=order,
        user=fan,
        line_ids=[first.pk],
        expected_fee="5.00",
        now=now,
    )

    # then the request went through at once: line refunded, place on sale, ticket revoked
    assert (request.status, request.stage) == (RequestStatus.APPROVED, "refunded")
    assert (request.price, request.fee, request.amount) == (D("380.00"), D("5.00"), D("375.00"))
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (LineStatus.REFUNDED, LineStatus.ACTIVE)
    assert InventoryUnit.objects.get(pk=first.unit_id).status == UnitStatus.AVAILABLE
    assert InventoryUnit.objects.get(pk=second.unit_id).status == UnitStatus.SOLD
    old = Ticket.objects.get(order_line=first)
    assert old.status == TicketStatus.REVOKED
    assert Revocation.objects.filter(ticket_id=old.pk).exists()
    assert Ticket.objects.get(order_line=second).status == TicketStatus.VALID
    # the ledger holds what the provider still has: 760 - 380 + 5
    kinds = list(
        LedgerEntry.objects.filter(order=order).order_by("pk").values_list("kind", "amount")
    )
    assert kinds == [("charge", D("760.00")), ("refund", D("-380.00")), ("fee", D("5.00"))]
    assert ledger_sum(order) == D("385.00")
    # and the provider gave 375.00 back
    [refund] = request.refunds.all()
    assert (refund.amount, refund.status, refund.is_booked) == (
        D("375.00"),
        RefundStatus.SUCCEEDED,
        True,
    )
    trade = SandboxTrade.objects.get(payment_id=refund.payment_id)
    assert sum(int(v) for v in trade.refunds.values()) == 37500
    assert Payment.objects.get(pk=refund.payment_id).status == PaymentStatus.SUCCEEDED
    assert set(
        AuditEntry.objects.filter(object_id=str(request.pk)).values_list("action", flat=True)
    ) == {
        "refund.requested",
        "refund.approved",
    }


def test_closer_to_the_start_the_next_step_applies_and_the_rest_of_the_order_follows(
    sale, fan, now
):
    order = bought(sale, fan, [1, 2], now)
    later = sale.session.starts_at - timedelta(hours=48)
    request = run(
        services.request_refund,
        order=order,
        user=fan,
        line_ids=None,
        expected_fee="152.00",
        now=later,
    )
    assert (request.fee, request.amount) == (D("152.00"), D("608.00"))
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert ledger_sum(order) == D("152.00")
    assert Payment.objects.get(order=order).status == PaymentStatus.SUCCEEDED
    assert not Ticket.objects.filter(order_line__order=order, status=TicketStatus.VALID).exists()


def test_a_refund_that_needs_review_waits_then_is_approved(sale, fan, now):
    catalog.set_policy(
        event=sale.session.event, actor=None, now=now, is_refundable=True, refunds_need_review=True
    )
    organizer = make_member(organization=sale.session.event.organization)
    order = bought(sale, fan, [1], now)
    request = run(services.request_refund, order=order, user=fan, line_ids=None, now=now)
    assert (request.status, request.stage) == (RequestStatus.REQUESTED, "requested")
    assert Ticket.objects.get(order_line__order=order).status == TicketStatus.VALID
    assert list(
        services.selectors.review_queue(organization_ids=[sale.session.event.organization_id])
    ) == [request]
    assert not services.selectors.review_queue(organization_ids=[-1]).exists()
    # a second request of the same ticket while the first waits is refused
    with pytest.raises(AlreadyRequested):
        services.request_refund(order=order, user=fan, line_ids=None, now=now)

    approved = run(services.approve_refund, request=request, actor=organizer, now=now, note="ok")

    assert (approved.stage, approved.decided_by) == ("refunded", organizer)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    with pytest.raises(RequestNotOpen):
        services.approve_refund(request=approved, actor=organizer, now=now)


def test_a_rejected_request_says_why_and_frees_the_ticket_for_a_new_request(sale, fan, now):
    catalog.set_policy(
        event=sale.session.event, actor=None, now=now, is_refundable=True, refunds_need_review=True
    )
    organizer = make_member(organization=sale.session.event.organization)
    order = bought(sale, fan, [1], now)
    request = services.request_refund(order=order, user=fan, line_ids=None, now=now)
    before = snapshot(order)
    with pytest.raises(ReasonRequired):
        services.reject_refund(request=request, actor=organizer, reason="  ", now=now)
    assert snapshot(order) == before

    rejected = services.reject_refund(request=request, actor=organizer, reason="去年的票", now=now)

    assert (rejected.stage, rejected.decision_note) == ("rejected", "去年的票")
    assert Ticket.objects.get(order_line__order=order).status == TicketStatus.VALID
    assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLED
    again = services.request_refund(order=order, user=fan, line_ids=None, now=now)
    withdrawn = services.withdraw_refund(request=again, user=fan, now=now)
    assert withdrawn.stage == "cancelled"
    with pytest.raises(RequestNotOpen):
        services.withdraw_refund(request=withdrawn, user=fan, now=now)


def test_the_organizer_refunds_a_whole_order_without_a_fee_whatever_the_policy(sale, fan, now):
    catalog.set_policy(event=sale.session.event, actor=None, now=now, is_refundable=False)
    organizer = make_member(organization=sale.session.event.organization)
    order = bought(sale, fan, [1, 2], now)
    with pytest.raises(RefundNotAllowed):
        services.request_refund(order=order, user=fan, line_ids=None, now=now)

    cancelled = run(services.cancel_order, order=order, actor=organizer, reason="客户致电", now=now)

    assert cancelled.status == OrderStatus.REFUNDED
    request = RefundRequest.objects.get(order=order)
    assert (request.initiator, request.fee, request.amount, request.stage) == (
        "organizer",
        D("0.00"),
        D("760.00"),
        "refunded",
    )
    assert ledger_sum(order) == D("0.00")
    assert Payment.objects.get(order=order).status == PaymentStatus.REFUNDED
    assert InventoryUnit.objects.filter(session=sale.session, status=UnitStatus.SOLD).count() == 0


def test_an_unpaid_order_is_cancelled_by_the_same_action(sale, fan, now):
    from tessera.inventory import services as inventory
    from tessera.orders import services as orders

    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_unit("S1", "A", 1).pk], now=now
    )
    order = orders.place_order(hold=hold, user=fan, now=now)
    organizer = make_member(organization=sale.session.event.organization)
    assert services.cancel_order(order=order, actor=organizer, reason="x", now=now).status == (
        OrderStatus.CANCELLED
    )
    assert not RefundRequest.objects.exists()


# -- refused, nothing changed -----------------------------------------------------------------


def test_a_tampered_fee_is_refused_with_the_real_one(sale, fan, now):
    order = bought(sale, fan, [1], now)
    before = snapshot(order)
    with pytest.raises(FeeChanged) as caught:
        services.request_refund(order=order, user=fan, line_ids=None, expected_fee="0.00", now=now)
    assert caught.value.details == {"fee": "5.00", "amount": "375.00"}
    with translation.override("zh-hans"):
        assert "手续费" in str(caught.value.message)
    for bad in ("-1", "abc", "1e400", "5.001", "\x00", 4, [5], True, "99999999999999999999"):
        with pytest.raises(Exception) as caught:
            services.request_refund(order=order, user=fan, line_ids=None, expected_fee=bad, now=now)
        assert getattr(caught.value, "status", 500) < 500, (bad, caught.value)
    assert snapshot(order) == before


def test_past_the_deadline_someone_elses_order_and_a_refunded_line_are_refused(sale, fan, now):
    order = bought(sale, fan, [1, 2], now)
    first, second = order.lines.order_by("pk")
    run(services.request_refund, order=order, user=fan, line_ids=[first.pk], now=now)
    other = bought(sale, make_buyer(), [3], now)
    foreign_line = other.lines.get().pk
    before = snapshot(order)
    late = sale.session.starts_at - timedelta(hours=1)
    with pytest.raises(RefundTooLate) as caught:
        services.request_refund(order=order, user=fan, line_ids=[second.pk], now=late)
    with translation.override("zh-hans"):
        assert str(caught.value.message) != "The refund deadline for this session has passed."
    with pytest.raises(OrderNotFound):
        services.request_refund(order=order, user=make_buyer(), line_ids=None, now=now)
    with pytest.raises(LinesUnknown):
        services.request_refund(order=order, user=fan, line_ids=[first.pk], now=now)
    for lines in ([foreign_line], [second.pk, second.pk], ["1"], [True], [2**70], "all", {"a": 1}):
        with pytest.raises(LinesUnknown):
            services.request_refund(order=order, user=fan, line_ids=lines, now=now)
    with pytest.raises(ReasonRequired):
        services.request_refund(order=order, user=fan, line_ids=None, reason="x" * 501, now=now)
    assert snapshot(order) == before


def test_a_ticket_that_entered_cannot_be_refunded(sale, fan, now):
    order = bought(sale, fan, [1], now)
    ticket = Ticket.objects.get(order_line__order=order)
    device, _token = checkin.register_device(
        organization=sale.session.event.organization, name="gate", now=now
    )
    result = checkin.scan_online(
        device=device,
        session=sale.session,
        gate_id=None,
        direction="entry",
        text=credential_for(ticket=ticket, now=now),
        scan_uuid=uuid.uuid4(),
        now=sale.session.starts_at - timedelta(hours=3),
    )
    assert result.reason == "valid"
    before = snapshot(order)
    with pytest.raises(TicketUsed):
        services.request_refund(order=order, user=fan, line_ids=None, now=now)
    assert snapshot(order) == before


def test_an_unpaid_order_cannot_be_refunded(sale, fan, now):
    from tessera.inventory import services as inventory
    from tessera.orders import services as orders

    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_unit("S1", "A", 1).pk], now=now
    )
    order = orders.place_order(hold=hold, user=fan, now=now)
    with pytest.raises(OrderNotRefundable):
        services.request_refund(order=order, user=fan, line_ids=None, now=now)


def test_the_same_idempotency_key_answers_the_same_request(sale, fan, now):
    order = bought(sale, fan, [1, 2], now)
    first = run(
        services.request_refund, order=order, user=fan, line_ids=None, idempotency_key="k1", now=now
    )
    again = services.request_refund(
        order=order, user=fan, line_ids=None, idempotency_key="k1", now=now
    )
    assert again.pk == first.pk
    assert RefundRequest.objects.count() == 1
    assert Refund.objects.count() == 1


def test_a_session_with_paid_orders_cannot_be_cancelled_silently(sale, fan, now):
    order = bought(sale, fan, [1], now)
    with pytest.raises(SessionHasPaidOrders) as caught:
        catalog.cancel_session(session=sale.session, actor=None, now=now)
    assert caught.value.details == {"paid_orders": 1}
    sale.session.refresh_from_db()
    assert sale.session.status != SessionStatus.CANCELLED
    organizer = make_member(organization=sale.session.event.organization)
    run(services.cancel_order, order=order, actor=organizer, reason="场次取消", now=now)
    catalog.cancel_session(session=sale.session, actor=None, now=now)
    sale.session.refresh_from_db()
    assert sale.session.status == SessionStatus.CANCELLED


def test_a_ticket_offered_to_someone_else_cannot_be_refunded(sale, fan, now):
    from tessera.transfers import services as transfers
    from tessera.transfers.errors import TicketInTransfer

    catalog.set_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        is_transferable=True,
        max_transfers=1,
    )
    order = bought(sale, fan, [1], now)
    ticket = Ticket.objects.get(order_line__order=order)
    transfers.send_transfer(ticket=ticket, sender=fan, channel="link", now=now)
    before = snapshot(order)
    with pytest.raises(TicketInTransfer):
        services.request_refund(order=order, user=fan, line_ids=None, now=now)
    assert snapshot(order) == before
