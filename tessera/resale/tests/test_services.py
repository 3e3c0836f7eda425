"""The official resale through its services: the cap, the sale's hand-over (QR of the seller
refused at the gate, the buyer's accepted), the ledgers, the guards, automatic withdrawal
and bad input."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import TestCase
from django.utils import timezone

from tessera.aftersales import services as aftersales
from tessera.aftersales.services import refund_order_in_full
from tessera.catalog import services as catalog
from tessera.checkin import services as checkin
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer
from tessera.notifications.models import Message
from tessera.orders.models import LedgerEntry, LedgerKind, LineStatus, Order, OrderStatus
from tessera.payments.models import Payment, PaymentStatus, Refund
from tessera.payments.services import check_ledgers
from tessera.payments.testing import pay_locally
from tessera.resale import errors, services
from tessera.resale.models import Listing, ListingStatus, WithdrawReason
from tessera.resale.tests.factories import assert_ledgers_balance, buy, make_resale
from tessera.tickets.models import Revocation, Ticket, TicketStatus
from tessera.tickets.services import credential_for
from tessera.transfers import services as transfers

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def scan(session, ticket, now, *, credential=None):
    device, _token = checkin.register_device(
        organization=session.event.organization, name=f"gate {uuid.uuid4().hex[:6]}", now=now
    )
    return checkin.scan_online(
        device=device,
        session=session,
        gate_id=None,
        direction="entry",
        text=credential or credential_for(ticket=ticket, now=now),
        scan_uuid=uuid.uuid4(),
        now=session.starts_at - timedelta(hours=1),
    )


def test_price_above_the_cap_is_refused_and_nothing_is_listed(now):
    r = make_resale(now, cap="10")
    ticket = r.tickets[0]
    # 380 × 1.10 = 418.00 at most
    with pytest.raises(errors.PriceAboveCap) as refused:
        services.list_ticket(
            ticket_public_id=ticket.public_id, user=r.seller, price="418.01", now=now
        )
    assert refused.value.details == {"max_price": "418.00"}
    assert Listing.objects.count() == 0
    listing = services.list_ticket(
        ticket_public_id=ticket.public_id, user=r.seller, price="418.00", now=now
    )
    # fee 5 % of 418 = 20.90; payout 397.10 is more than the face value: 380 at most
    assert (listing.price, listing.fee, listing.payout, listing.face_value) == (
        D("418.00"),
        D("20.90"),
        D("380.00"),
        D("380.00"),
    )


def test_default_cap_is_face_value(now):
    r = make_resale(now, cap="0")
    with pytest.raises(errors.PriceAboveCap):
        services.list_ticket(
            ticket_public_id=r.tickets[0].public_id, user=r.seller, price="380.01", now=now
        )
    assert Listing.objects.count() == 0


@pytest.mark.parametrize(
    "price",
    ["", "abc", "1e400", "NaN", "-5", "0", "12.345", "9" * 30, "1\x00", None, 1.5, True, [1], {}],
)
def test_bad_prices_are_refused_clearly(now, price):
    r = make_resale(now)
    with pytest.raises(errors.PriceInvalid):
        services.list_ticket(
            ticket_public_id=r.tickets[0].public_id, user=r.seller, price=price, now=now
        )
    assert Listing.objects.count() == 0


def test_someone_elses_ticket_cannot_be_listed(now):
    r = make_resale(now)
    other = make_buyer()
    with pytest.raises(errors.TicketNotFound):
        services.list_ticket(
            ticket_public_id=r.tickets[0].public_id, user=other, price="100", now=now
        )
    with pytest.raises(errors.TicketNotFound):
        services.list_ticket(ticket_public_id=uuid.uuid4(), user=r.seller, price="100", now=now)
    assert Listing.objects.count() == 0


def test_resale_not_allowed_by_default(now):
    r = make_resale(now)
    services.set_resale_policy(event=r.sale.session.event, actor=None, now=now, is_allowed=False)
    with pytest.raises(errors.ResaleNotAllowed):
        services.list_ticket(
            ticket_public_id=r.tickets[0].public_id, user=r.seller, price="100", now=now
        )


def test_a_sale_hands_the_place_over_and_the_ledgers_balance(now):
    r = make_resale(now, cap="10", fee="5")
    seller_ticket = r.tickets[0]
    seller_credential = credential_for(ticket=seller_ticket, now=now)
    listing = services.list_ticket(
        ticket_public_id=seller_ticket.public_id, user=r.seller, price="400.00", now=now
    )
    buyer = make_buyer(preferred_language="en")
    # when the buyer buys it through the sandbox cashier
    order = buy(listing, buyer, now)
    # then the buyer's order is fulfilled with one ticket for the same place
    assert (order.status, order.total, order.hold_id) == (OrderStatus.FULFILLED, D("400.00"), None)
    new_ticket = Ticket.objects.get(order_line__order=order)
    assert new_ticket.unit_id == seller_ticket.unit_id
    unit = InventoryUnit.objects.get(pk=seller_ticket.unit_id)
    assert (unit.status, unit.order_line_id, unit.hold.user_id) == (
        UnitStatus.SOLD,
        new_ticket.order_line_id,
        buyer.pk,
    )
    # the seller's ticket is revoked, their line refunded, the payout 380 (400 − 20, at most
    # the face value) refunded to their payment
    seller_ticket.refresh_from_db()
    assert seller_ticket.status == TicketStatus.REVOKED
    assert Revocation.objects.filter(ticket_id=seller_ticket.pk).exists()
    seller_line = seller_ticket.order_line
    seller_line.refresh_from_db()
    assert seller_line.status == LineStatus.REFUNDED
    refund = Refund.objects.get(payment__order=r.order)
    assert refund.amount == D("380.00")
    listing.refresh_from_db()
    assert (listing.status, listing.buyer_id, listing.fee) == (
        ListingStatus.SOLD,
        buyer.pk,
        D("20.00"),
    )
    assert Order.objects.get(pk=r.order.pk).status == OrderStatus.PARTIALLY_REFUNDED
    # the seller is told of the payout
    told = Message.objects.filter(user=r.seller, key__startswith=f"resale_sold:{listing.pk}")
    assert told.exists()
    assert {m.kind for m in told} == {"refund_approved"}
    # the gate refuses the seller's QR and admits the buyer's
    assert scan(r.sale.session, seller_ticket, now, credential=seller_credential).reason != "valid"
    assert scan(r.sale.session, new_ticket, now).reason == "valid"
    # every ledger sums to what its provider holds
    assert_ledgers_balance(r.order, order)
    check = check_ledgers(now=now)
    assert (check.orders_checked, check.differences) == (2, 0)


def test_fee_taken_from_a_price_below_face_value(now):
    r = make_resale(now, cap="0", fee="10")
    listing = services.list_ticket(
        ticket_public_id=r.tickets[0].public_id, user=r.seller, price="300", now=now
    )
    order = buy(listing, make_buyer(), now)
    assert Refund.objects.get(payment__order=r.order).amount == D("270.00")
    fee = LedgerEntry.objects.get(order=r.order, kind=LedgerKind.FEE)
    assert fee.amount == D("110.00")  # 380 face − 270 paid out
    assert_ledgers_balance(r.order, order)


def test_one_buyer_at_a_time_and_own_listing_refused(now):
    r = make_resale(now)
    listing = services.list_ticket(
        ticket_public_id=r.tickets[0].public_id, user=r.seller, price="380", now=now
    )
    first, second = make_buyer(), make_buyer()
    payment = services.reserve_listing(listing_id=listing.pk, user=first, now=now)
    # asking again answers the same payment
    assert services.reserve_listing(listing_id=listing.pk, user=first, now=now).pk == payment.pk
    with pytest.raises(errors.ListingUnavailable):
        services.reserve_listing(listing_id=listing.pk, user=second, now=now)
    with pytest.raises(errors.OwnListing):
        services.reserve_listing(listing_id=listing.pk, user=r.seller, now=now)
    # the seller cannot withdraw while a buyer pays
    with pytest.raises(errors.ListingNotWithdrawable):
        services.withdraw_listing(listing_id=listing.pk, user=r.seller, now=now)
    # the reservation expires like a hold: the second buyer gets it
    later = now + timedelta(minutes=r.sale.session.hold_minutes, seconds=1)
    second_payment = services.reserve_listing(listing_id=listing.pk, user=second, now=later)
    assert second_payment.order.user_id == second.pk
    # the first buyer's late payment is refunded; the listing is still the second's
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=payment.pk, now=later)
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.CANCELLED
    assert Refund.objects.filter(payment=payment).exists()
    assert Ticket.objects.get(pk=r.tickets[0].pk).status == TicketStatus.VALID
    listing.refresh_from_db()
    assert (listing.status, listing.buyer_order_id) == (
        ListingStatus.LISTED,
        second_payment.order_id,
    )


def test_buyer_account_limit_applies(now):
    r = make_resale(now)
    session = r.sale.session
    session.max_tickets_per_account = 1
    session.save(update_fields=["max_tickets_per_account"])
    buyer = make_buyer()
    listings = [
        services.list_ticket(ticket_public_id=t.public_id, user=r.seller, price="380", now=now)
        for t in r.tickets
    ]
    buy(listings[0], buyer, now)
    from tessera.inventory.errors import LimitExceeded

    with pytest.raises(LimitExceeded):
        services.reserve_listing(listing_id=listings[1].pk, user=buyer, now=now)
    assert Listing.objects.get(pk=listings[1].pk).buyer_id is None


def test_listed_ticket_cannot_be_refunded_exchanged_or_transferred_until_withdrawn(now):
    r = make_resale(now)
    catalog.set_policy(
        event=r.sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        is_transferable=True,
        max_transfers=2,
    )
    ticket = r.tickets[0]
    listing = services.list_ticket(
        ticket_public_id=ticket.public_id, user=r.seller, price="380", now=now
    )
    with pytest.raises(errors.TicketListed):
        aftersales.request_refund(
            order=r.order, user=r.seller, line_ids=[ticket.order_line_id], now=now
        )
    friend = make_buyer(email="friend@example.com")
    with pytest.raises(errors.TicketListed):
        transfers.send_transfer(
            ticket=ticket, sender=r.seller, channel="email", contact=friend.email, now=now
        )
    services.withdraw_listing(listing_id=listing.pk, user=r.seller, now=now)
    with TestCase.captureOnCommitCallbacks(execute=True):
        aftersales.request_refund(
            order=r.order, user=r.seller, line_ids=[ticket.order_line_id], now=now
        )
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.REVOKED


def test_listings_are_withdrawn_when_the_ticket_is_used(now):
    r = make_resale(now)
    listing = services.list_ticket(
        ticket_public_id=r.tickets[0].public_id, user=r.seller, price="380", now=now
    )
    assert scan(r.sale.session, r.tickets[0], now).reason == "valid"
    assert not services.live_listings(now=now).filter(pk=listing.pk).exists()
    assert services.withdraw_stale_listings(now=now) == 1
    listing.refresh_from_db()
    assert (listing.status, listing.withdraw_reason) == (
        ListingStatus.WITHDRAWN,
        WithdrawReason.USED,
    )
    with pytest.raises(errors.ListingUnavailable):
        services.reserve_listing(listing_id=listing.pk, user=make_buyer(), now=now)


def test_listings_are_withdrawn_when_the_order_is_refunded_by_the_organizer(now):
    r = make_resale(now)
    listing = services.list_ticket(
        ticket_public_id=r.tickets[0].public_id, user=r.seller, price="380", now=now
    )
    # the organizer cancels the session (its change runs the refunds)
    session = r.sale.session
    session.status = "cancelled"
    session.save(update_fields=["status"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        refund_order_in_full(order=r.order, actor=None, reason="cancelled", now=now)
    assert services.withdraw_stale_listings(now=now) == 1
    listing.refresh_from_db()
    assert (listing.status, listing.withdraw_reason) == (
        ListingStatus.WITHDRAWN,
        WithdrawReason.RETURNED,
    )


def test_listings_close_before_the_session(now):
    r = make_resale(now, close_minutes=120, starts_in=timedelta(hours=3))
    listing = services.list_ticket(
        ticket_public_id=r.tickets[0].public_id, user=r.seller, price="380", now=now
    )
    later = r.sale.session.starts_at - timedelta(minutes=119)
    assert services.live_listings(now=now).filter(pk=listing.pk).exists()
    assert not services.live_listings(now=later).filter(pk=listing.pk).exists()
    assert services.withdraw_stale_listings(now=later) == 1
    listing.refresh_from_db()
    assert (listing.status, listing.withdraw_reason) == (
        ListingStatus.WITHDRAWN,
        WithdrawReason.CLOSED,
    )
    with pytest.raises(errors.ResaleClosed):
        services.list_ticket(
            ticket_public_id=r.tickets[1].public_id, user=r.seller, price="380", now=later
        )


def test_the_seller_ticket_used_before_payment_refunds_the_buyer(now):
    r = make_resale(now)
    listing = services.list_ticket(
        ticket_public_id=r.tickets[0].public_id, user=r.seller, price="380", now=now
    )
    buyer = make_buyer()
    payment = services.reserve_listing(listing_id=listing.pk, user=buyer, now=now)
    assert scan(r.sale.session, r.tickets[0], now).reason == "valid"
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=payment.pk, now=now)
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.CANCELLED
    assert Payment.objects.get(pk=payment.pk).status in (
        PaymentStatus.SUCCEEDED,
        PaymentStatus.REFUNDED,
    )
    assert Refund.objects.get(payment=payment).amount == D("380.00")
    assert Ticket.objects.get(pk=r.tickets[0].pk).status == TicketStatus.VALID
    assert not Ticket.objects.filter(order_line__order_id=payment.order_id).exists()
    assert_ledgers_balance(r.order, Order.objects.get(pk=payment.order_id))


def test_an_order_without_hold_that_no_listing_claims_cannot_be_paid(now):
    """Nothing outside the resale can sell a place that is already sold."""
    from tessera.orders import services as orders

    r = make_resale(now)
    with pytest.raises(orders.OrderNotPayable):
        from django.db import transaction

        with transaction.atomic():
            order = orders.place_resale_order(
                user=make_buyer(),
                source_line=r.tickets[0].order_line,
                price=D("1.00"),
                expires_at=now + timedelta(minutes=5),
                now=now,
            )
            orders.mark_order_paid(
                order=order, payment_id=None, amount=D("1.00"), currency="CNY", now=now
            )
    assert Ticket.objects.get(pk=r.tickets[0].pk).status == TicketStatus.VALID
