"""The resale racing itself and the gate, from real threads (meant for PostgreSQL:
TESSERA_DATABASE_URL=postgres://...; on SQLite the file lock serialises them and the loser
retries): buyers racing for one listing, the buyer's payment against a scan of the seller's
ticket. Exactly one wins and every ledger balances."""

import uuid
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from tessera.checkin import services as checkin
from tessera.core.testing import race
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import Order, OrderStatus
from tessera.payments.models import Payment
from tessera.payments.services import check_ledgers
from tessera.payments.testing import decide, deliver_callback_locally, pay_locally
from tessera.resale import services
from tessera.resale.models import Listing, ListingStatus
from tessera.resale.tests.factories import assert_ledgers_balance, make_resale
from tessera.sandbox.models import SandboxTrade
from tessera.tickets.models import Ticket, TicketStatus
from tessera.tickets.services import credential_for

pytestmark = pytest.mark.django_db(transaction=True)
BUYERS = 8


def test_buyers_racing_for_one_listing_one_wins_and_the_ledgers_balance():
    now = timezone.now().replace(microsecond=0)
    r = make_resale(now, cap="10", fee="5")
    listing = services.list_ticket(
        ticket_public_id=r.tickets[0].public_id, user=r.seller, price="400.00", now=now
    )
    buyers = [make_buyer() for _ in range(BUYERS)]
    results = race(
        *[
            (lambda b=b: services.reserve_listing(listing_id=listing.pk, user=b, now=now))
            for b in buyers
        ]
    )
    won = [payment for payment, error in results if error is None]
    lost = [error for _payment, error in results if error is not None]
    assert len(won) == 1
    assert {e.code for e in lost} == {"resale_listing_unavailable"}
    assert Order.objects.filter(resale_listing__isnull=False).count() == 1
    assert Payment.objects.filter(order__resale_listing=listing).count() == 1
    # the winner pays: the place is theirs, the seller is paid out, every ledger balances
    payment = won[0]
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=payment.pk, now=now)
    order = Order.objects.get(pk=payment.order_id)
    assert order.status == OrderStatus.FULFILLED
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.SOLD
    assert Ticket.objects.get(pk=r.tickets[0].pk).status == TicketStatus.REVOKED
    assert_ledgers_balance(r.order, order)
    check = check_ledgers(now=now)
    assert check.differences == 0
    assert check.orders_checked == 2


def test_the_buyers_payment_against_a_gate_scan_of_the_sellers_ticket_one_wins():
    now = timezone.now().replace(microsecond=0)
    outcomes = []
    for _round in range(4):
        r = make_resale(now, starts_in=timedelta(hours=5), close_minutes=60)
        ticket = r.tickets[0]
        credential = credential_for(ticket=ticket, now=now)
        listing = services.list_ticket(
            ticket_public_id=ticket.public_id, user=r.seller, price="380", now=now
        )
        payment = services.reserve_listing(listing_id=listing.pk, user=make_buyer(), now=now)
        device, _token = checkin.register_device(
            organization=r.sale.session.event.organization, name="gate", now=now
        )

        def pay(payment=payment):
            # The buyer presses "pay" once; the callback may be retried (SQLite's file lock).
            if not SandboxTrade.objects.filter(payment_id=payment.pk).exists():
                decide(payment=payment, choice="pay", now=now)
            with TestCase.captureOnCommitCallbacks(execute=True):
                deliver_callback_locally(payment_id=payment.pk, now=now)

        def scan(device=device, session=r.sale.session, credential=credential):
            return checkin.scan_online(
                device=device,
                session=session,
                gate_id=None,
                direction="entry",
                text=credential,
                scan_uuid=uuid.uuid4(),
                now=session.starts_at - timedelta(hours=1),
            )

        (_paid, pay_error), (verdict, scan_error) = race(pay, scan)
        assert pay_error is None and scan_error is None
        order = Order.objects.get(pk=payment.order_id)
        sold = Listing.objects.get(pk=listing.pk).status == ListingStatus.SOLD
        entered = verdict.reason == "valid"
        # exactly one: the seller entered and the buyer is refunded, or the buyer has it
        assert sold != entered
        if sold:
            assert order.status == OrderStatus.FULFILLED
            assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.REVOKED
        else:
            assert order.status == OrderStatus.CANCELLED
            assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.VALID
        assert_ledgers_balance(r.order, order)
        outcomes.append((sold, verdict.reason))
    # a refused scan is refused for the revoked credential, nothing else
    assert {reason for _sold, reason in outcomes} <= {"valid", "revoked"}
