"""A cancellation deals with many orders per transaction: the statements of a batch do not
grow with its orders, the rows written are those of the order-by-order refund, and an order
at fault fails alone (the batch is halved down to order by order), the others refunded."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tessera.accounts.tests.factories import make_member
from tessera.aftersales import changes
from tessera.aftersales.models import (
    Initiator,
    RefundRequest,
    RefundRequestLine,
    RequestStatus,
    SessionChangeOrder,
)
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.checkin import services as checkin
from tessera.core.models import AuditEntry
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.notifications.models import Message
from tessera.orders.models import LedgerEntry, Order, OrderStatus
from tessera.payments import services as payments
from tessera.payments.models import Refund, RefundStatus
from tessera.tickets.models import Revocation, Ticket, TicketStatus
from tessera.tickets.services import credential_for

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def sale(now):
    sale = make_sale(sections=1, rows=1, seats_per_row=24, starts_at=now + timedelta(days=10))
    catalog.set_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        refund_cutoff_hours=2,
        tiers=[(0, 20)],
        fee_min=D("5.00"),
    )
    return sale


@pytest.fixture
def organizer(sale):
    return make_member(organization=sale.session.event.organization, role="owner")


def sell(sale, now, count: int, per_order: int = 2) -> list[Order]:
    return [
        bought(sale, make_buyer(), list(range(1 + i * per_order, 1 + (i + 1) * per_order)), now)
        for i in range(count)
    ]


def statements_of_one_batch(sale, organizer, now, count: int) -> int:
    sell(sale, now, count)
    change = changes.start_cancellation(
        session=sale.session, actor=organizer, reason="Storm", now=now
    )
    with (
        CaptureQueriesContext(connection) as captured,
        TestCase.captureOnCommitCallbacks(execute=False),
    ):
        assert changes.run_batch(change_id=change.pk, now=now, limit=100) == 0
    return len(captured.captured_queries)


def test_the_statements_of_a_cancellation_batch_do_not_grow_with_its_orders(now):
    # given two sessions, one with 3 paid orders, one with 10
    counts = []
    for orders_sold in (3, 10):
        sale = make_sale(sections=1, rows=1, seats_per_row=24, starts_at=now + timedelta(days=10))
        organizer = make_member(organization=sale.session.event.organization, role="owner")
        # when each is cancelled in one batch
        counts.append(statements_of_one_batch(sale, organizer, now, orders_sold))
    # then both batches took the same number of statements (about 60, once per batch)
    assert counts[0] == counts[1]
    assert counts[1] < 70


def test_a_batch_writes_what_the_order_by_order_refund_writes(sale, organizer, now):
    # given four paid orders of two tickets (380.00 each)
    paid = sell(sale, now, 4)

    # when the session is cancelled in one batch, the provider refunds run after commit
    change = changes.start_cancellation(
        session=sale.session, actor=organizer, reason="Storm", now=now
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes.run_change(change_id=change.pk, clock=lambda: now, limit=100)

    # then each order has one approved request of its two lines, no fee, its ledger at zero
    for order in paid:
        order.refresh_from_db()
        assert (order.status, order.closed_at) == (OrderStatus.REFUNDED, now)
        request = RefundRequest.objects.get(order=order)
        assert (request.status, request.initiator, request.fee, request.amount) == (
            RequestStatus.APPROVED,
            Initiator.ORGANIZER,
            D("0.00"),
            D("760.00"),
        )
        assert request.decided_by == organizer
        lines = list(RefundRequestLine.objects.filter(request=request).values("fee", "price"))
        assert lines == [{"fee": D("0.00"), "price": D("380.00")}] * 2
        assert sorted(LedgerEntry.objects.filter(order=order).values_list("kind", "amount")) == [
            ("charge", D("760.00")),
            ("refund", D("-760.00")),
        ]
        refund = Refund.objects.get(payment__order=order)
        assert (refund.amount, refund.status, refund.is_booked) == (
            D("760.00"),
            RefundStatus.SUCCEEDED,
            True,
        )
        assert list(request.refunds.all()) == [refund]
        # the fan is told of the refund and of the cancellation, once each
        assert sorted(
            Message.objects.filter(user=order.user, channel="inbox")
            .exclude(kind="order_paid")
            .values_list("kind", flat=True)
        ) == ["refund_approved", "session_cancelled"]
    # every ticket revoked once, with its version on the revocation list
    assert set(Ticket.objects.filter(session=sale.session).values_list("status", "version")) == {
        (TicketStatus.REVOKED, 2)
    }
    assert Revocation.objects.filter(session=sale.session, reason="refund").count() == 8
    # audited as the order-by-order refund is
    for action, count in (
        ("refund.requested", 4),
        ("refund.approved", 4),
        ("ticket.revoked", 8),
        ("order.lines_refunded", 4),
    ):
        assert AuditEntry.objects.filter(action=action).count() == count
    assert payments.check_ledgers(now=now).differences == 0


def test_an_order_at_fault_fails_alone_in_a_batch_halved_down_to_it(
    sale, organizer, now, monkeypatch
):
    # given nine paid orders, the seventh with a ticket that entered at the gate
    monkeypatch.setattr(changes, "SPLIT_BELOW", 1)
    paid = sell(sale, now, 9)
    entered = Ticket.objects.filter(order_line__order=paid[6]).order_by("pk").first()
    device, _token = checkin.register_device(
        organization=sale.session.event.organization, name="gate", now=now
    )
    checkin.scan_online(
        device=device,
        session=sale.session,
        gate_id=None,
        direction="entry",
        text=credential_for(ticket=entered, now=now),
        scan_uuid=uuid.uuid4(),
        now=sale.session.starts_at - timedelta(hours=3),
    )

    # when the session is cancelled in one batch of all nine
    change = changes.start_cancellation(
        session=sale.session, actor=organizer, reason="Storm", now=now
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes.run_change(change_id=change.pk, clock=lambda: now, limit=100)

    # then the eight others are refunded, that one is listed failed with nothing done to it
    state = changes.progress(change)
    assert (state["status"], state["done"], state["failed"]) == ("failed", 8, 1)
    assert [(f["order"], f["code"]) for f in state["failures"]] == [(paid[6].number, "ticket_used")]
    statuses = [Order.objects.get(pk=o.pk).status for o in paid]
    assert (
        statuses
        == [OrderStatus.REFUNDED] * 6 + [OrderStatus.FULFILLED] + [OrderStatus.REFUNDED] * 2
    )
    assert not RefundRequest.objects.filter(order=paid[6]).exists()
    assert set(
        Ticket.objects.filter(order_line__order=paid[6]).values_list("status", flat=True)
    ) == {TicketStatus.VALID}
    assert RefundRequest.objects.count() == 8
    assert Refund.objects.count() == 8
    assert (
        SessionChangeOrder.objects.get(change=change, order=paid[6]).attempts,
        SessionChangeOrder.objects.filter(change=change, outcome="refunded").count(),
    ) == (1, 8)
    assert payments.check_ledgers(now=now).differences == 0
