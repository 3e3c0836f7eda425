"""A session on resale: a fan's paid tickets bought through the real sale, a resale policy."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.test import TestCase

from tessera.aftersales.tests.factories import bought
from tessera.inventory.tests.factories import SaleSetup, make_buyer, make_sale
from tessera.orders.models import LedgerEntry, Order
from tessera.payments.services import provider_holds_by_order
from tessera.payments.testing import pay_locally
from tessera.resale import services
from tessera.tickets.models import Ticket


@dataclass
class Resale:
    sale: SaleSetup
    seller: object
    order: Order
    tickets: list[Ticket]


def make_resale(
    now: datetime,
    *,
    cap: str = "10",
    fee: str = "5",
    seats=(1, 2),
    close_minutes: int = 120,
    starts_in=timedelta(days=10),
) -> Resale:
    """Seats of row A in S1 (¥380) bought and paid by the seller; resale allowed up to
    ``cap`` % above face value with a ``fee`` % fee."""
    sale = make_sale(sections=2, rows=1, seats_per_row=6, starts_at=now + starts_in)
    services.set_resale_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_allowed=True,
        price_cap_percent=Decimal(cap),
        fee_percent=Decimal(fee),
        close_minutes_before=close_minutes,
    )
    seller = make_buyer(preferred_language="en")
    order = bought(sale, seller, list(seats), now)
    found = list(Ticket.objects.filter(order_line__order=order).order_by("pk"))
    return Resale(sale=sale, seller=seller, order=order, tickets=found)


def buy(listing, buyer, now: datetime) -> Order:
    """``buyer`` reserves the listing and pays at the sandbox cashier."""
    payment = services.reserve_listing(listing_id=listing.pk, user=buyer, now=now)
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=payment.pk, now=now)
    return Order.objects.get(pk=payment.order_id)


def assert_ledgers_balance(*orders: Order) -> None:
    holds = provider_holds_by_order([o.pk for o in orders])
    for order in orders:
        ledger = LedgerEntry.objects.filter(order=order).aggregate(s=Sum("amount"))["s"]
        assert (ledger or Decimal(0)) == holds.get(order.pk, Decimal(0)), order.number
