"""A settlement world: an organizer's event on sale, a distributor selling it through its
channel under a contract, sales and refunds at chosen moments through the real services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction

from tessera.accounts.models import Organization, OrganizationKind
from tessera.accounts.tests.factories import make_organization
from tessera.aftersales.tests.factories import bought
from tessera.catalog.tests.factories import make_event
from tessera.core import locks
from tessera.inventory.models import SalesChannel
from tessera.inventory.tests.factories import SaleSetup, make_buyer, make_channel, make_sale
from tessera.orders import services as orders
from tessera.orders.models import LineStatus, Order
from tessera.partners.models import CommissionRule, Contract
from tessera.sale import channels
from tessera.sale.choices import PlaceChoice
from tessera.settlement.periods import SETTLEMENT_ZONE


def monday_weeks_ago(weeks: int, today: date | None = None) -> date:
    today = today or datetime.now(SETTLEMENT_ZONE).date()
    return today - timedelta(days=today.weekday()) - timedelta(weeks=weeks)


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A moment of a Beijing day."""
    return datetime.combine(day, time(hour, minute), SETTLEMENT_ZONE)


def contract(organization: Organization, *, cycle="weekly", fee="0", starts_on=None, rules=()):
    """A contract with commission ``rules``: (basis, value, min_tickets, event or None)."""
    c = Contract.objects.create(
        organization=organization,
        settlement_cycle=cycle,
        platform_fee_percent=Decimal(fee),
        starts_on=starts_on or date(2020, 1, 1),
    )
    for basis, value, min_tickets, event in rules:
        CommissionRule.objects.create(
            contract=c, basis=basis, value=Decimal(value), min_tickets=min_tickets, event=event
        )
    return c


@dataclass
class World:
    organizer: Organization
    distributor: Organization
    venue_operator: Organization
    sale: SaleSetup
    channel: SalesChannel
    principal: channels.ChannelPrincipal
    _keys: int = 0

    def sell(self, when: datetime, quantity: int = 1, zone: str = "A") -> Order:
        """The distributor's channel sells ``quantity`` places of ``zone`` at ``when``."""
        self._keys += 1
        choice = PlaceChoice.parse({"zone": self.sale.zones[zone].pk, "quantity": quantity})
        key = f"k-{uuid.uuid4().hex}"
        sold = channels.channel_order(
            principal=self.principal,
            session_id=self.sale.session.pk,
            choice=choice,
            idempotency_key=key,
            digest=channels.request_digest({"k": key}),
            now=when,
        )
        return Order.objects.get(pk=sold.order.pk)

    def sell_public(self, when: datetime, seats: list[int], section: str = "S1") -> Order:
        """A fan buys seats of row A at the sandbox cashier (no channel)."""
        return bought(self.sale, make_buyer(), seats, when, section=section)

    def refund(self, order: Order, when: datetime, fees: dict[int, Decimal]) -> None:
        """The order's lines ``fees`` names are refunded with those fees kept, as an
        approved refund books them (``orders.refund_lines``)."""
        with transaction.atomic():
            locked = locks.lock_rows(Order.objects).get(pk=order.pk)
            orders.refund_lines(
                order=locked,
                fees=fees,
                reference=f"refund-request:{uuid.uuid4().hex}",
                reason="test refund",
                now=when,
            )

    def active_lines(self, order: Order):
        return list(order.lines.filter(status=LineStatus.ACTIVE).order_by("pk"))


def make_world(*, distributor_rules=(), distributor_cycle="weekly", organizer_fee="5") -> World:
    organizer = make_organization(kind=OrganizationKind.ORGANIZER)
    distributor = make_organization(kind=OrganizationKind.DISTRIBUTOR)
    event = make_event(organization=organizer)
    sale = make_sale(sections=3, rows=2, seats_per_row=12, event=event)
    venue_operator = sale.layout.venue.organization
    contract(organizer, cycle="monthly", fee=organizer_fee)
    contract(distributor, cycle=distributor_cycle, rules=distributor_rules)
    contract(venue_operator, cycle="monthly")
    channel = make_channel(organization=distributor)
    _row, key = channels.issue_key(
        channel=channel, name="ERP", actor=None, now=at(date(2020, 1, 1))
    )
    principal = channels.authenticate(key, now=at(date(2020, 1, 2)))
    return World(organizer, distributor, venue_operator, sale, channel, principal)
