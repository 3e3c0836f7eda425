"""Refunds racing other writers, from real threads (meant for PostgreSQL:
TESSERA_DATABASE_URL=postgres://...; on SQLite the file lock serialises them and the loser
retries): two requests for the same ticket, a refund against a scan at the gate. Whatever the
interleaving: no ticket refunded twice, no refunded ticket admitted, the ledger balanced."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from tessera.aftersales import services
from tessera.aftersales.errors import (
    AlreadyRequested,
    LinesUnknown,
    OrderNotRefundable,
    TicketUsed,
)
from tessera.aftersales.models import RefundRequest, RequestStatus
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.checkin import services as checkin
from tessera.checkin.models import Presence
from tessera.core import testing
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import LedgerEntry, LineStatus
from tessera.payments.models import Refund
from tessera.payments.services import REFUND_FIRST_ATTEMPT_GRACE, retry_due_refunds
from tessera.tickets.models import Ticket, TicketStatus
from tessera.tickets.services import credential_for


def race(*calls):
    return testing.race(*calls, run_on_commit=True)


pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 6


def ledger_sum(order) -> Decimal:
    return sum(LedgerEntry.objects.filter(order=order).values_list("amount", flat=True), Decimal(0))


def test_two_refund_requests_for_the_same_ticket_at_once_refund_it_once():
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=ROUNDS, starts_at=now + timedelta(days=9))
    catalog.set_policy(
        event=sale.session.event, actor=None, now=now, is_refundable=True, tiers=[(0, 10)]
    )
    for seat in range(1, ROUNDS + 1):
        fan = make_buyer()
        order = bought(sale, fan, [seat], now)
        line = order.lines.get()

        # the fan double-clicks: two requests of the same ticket, one with a key, at once
        results = race(
            lambda o=order, f=fan, n=line.pk: services.request_refund(
                order=o, user=f, line_ids=[n], now=now
            ),
            lambda o=order, f=fan, n=line.pk: services.request_refund(
                order=o, user=f, line_ids=[n], idempotency_key="k", now=now
            ),
        )

        errors = [e for _r, e in results if e is not None]
        assert len(errors) == 1, results
        assert isinstance(errors[0], AlreadyRequested | LinesUnknown | OrderNotRefundable), errors
        assert RefundRequest.objects.filter(order=order).count() == 1
        assert RefundRequest.objects.get(order=order).status == RequestStatus.APPROVED
        assert Refund.objects.filter(payment__order=order).count() == 1
        line.refresh_from_db()
        assert line.status == LineStatus.REFUNDED
        assert ledger_sum(order) == Decimal("38.00")  # the 10 % fee kept, the rest given back
    assert InventoryUnit.objects.filter(session=sale.session, status=UnitStatus.SOLD).count() == 0


def test_a_refund_racing_a_scan_either_admits_or_refunds_never_both():
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=ROUNDS, starts_at=now + timedelta(days=9))
    catalog.set_policy(event=sale.session.event, actor=None, now=now, is_refundable=True)
    device, _token = checkin.register_device(
        organization=sale.session.event.organization, name="gate", now=now
    )
    at_gate = sale.session.starts_at - timedelta(hours=3)
    outcomes = []
    for seat in range(1, ROUNDS + 1):
        fan = make_buyer()
        order = bought(sale, fan, [seat], now)
        ticket = Ticket.objects.get(order_line__order=order)
        code = credential_for(ticket=ticket, now=now)

        (refund, refund_error), (scan, scan_error) = race(
            lambda o=order, f=fan: services.request_refund(order=o, user=f, line_ids=None, now=now),
            lambda c=code: checkin.scan_online(
                device=device,
                session=sale.session,
                gate_id=None,
                direction="entry",
                text=c,
                scan_uuid=uuid.uuid4(),
                now=at_gate,
            ),
        )

        assert scan_error is None, scan_error
        if refund is not None and connection.vendor == "sqlite":
            # SQLite's shared test database answers "table is locked" instead of waiting, so
            # the refund's task, run when the request commits, can lose to the scan's write
            # and be marked failed. The housekeeping sends such a lost first attempt again
            # (as after a crashed worker); PostgreSQL waits for the lock and never needs it.
            retry_due_refunds(now=now + REFUND_FIRST_ATTEMPT_GRACE)
            refund = RefundRequest.objects.get(pk=refund.pk)
        admitted = scan.reason == "valid"
        ticket.refresh_from_db()
        presence = Presence.objects.filter(ticket_id=ticket.pk).first()
        if admitted:
            # the scan won: the refund is refused and nothing moved
            assert isinstance(refund_error, TicketUsed), refund_error
            assert ticket.status == TicketStatus.VALID and presence.entries == 1
            assert ledger_sum(order) == Decimal("380.00")
            assert not RefundRequest.objects.filter(order=order).exists()
        else:
            # the refund won: the gate refused the revoked ticket and counted nobody
            assert refund_error is None and refund.stage == "refunded", refund_error
            assert scan.reason == "revoked", scan.reason
            assert ticket.status == TicketStatus.REVOKED
            assert presence is None or presence.entries == 0
            assert ledger_sum(order) == Decimal("0.00")
        outcomes.append(admitted)
    # both orders of events happen across the rounds often enough to be worth checking
    assert len(outcomes) == ROUNDS
