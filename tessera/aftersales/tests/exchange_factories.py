"""A concert with two sessions on one layout, exchangeable, and helpers to check the
exchange's invariants."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum

from tessera.catalog import services as catalog
from tessera.catalog.models import Session, ZoneAssignment
from tessera.catalog.tests.factories import make_session, make_zone
from tessera.inventory import services as inventory
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import SaleSetup, make_sale
from tessera.orders.models import LedgerEntry, Order
from tessera.payments.services import provider_holds_by_order
from tessera.tickets.models import Revocation, Ticket, TicketStatus


@dataclass
class TwoDates:
    first: SaleSetup
    second: Session

    def unit(self, session: Session, section: str, seat: int) -> InventoryUnit:
        return InventoryUnit.objects.get(
            session=session,
            section=self.first.sections[section],
            seat__row__label="A",
            seat__label=str(seat),
        )


def make_two_dates(now: datetime, *, fee: str = "10.00", other_sessions: bool = True) -> TwoDates:
    """Section S1 costs 380 on the first date and 480 on the second; S2 costs 280 on both.
    Exchanges allowed until 24 h before the start, ``fee`` per ticket."""
    first = make_sale(sections=2, rows=1, seats_per_row=6, starts_at=now + timedelta(days=10))
    second = make_session(
        event=first.session.event, layout=first.layout, starts_at=now + timedelta(days=11)
    )
    for code, section, price in (("A", "S1", "480.00"), ("B", "S2", "280.00")):
        zone = make_zone(session=second, code=code, price=price)
        ZoneAssignment.objects.create(session=second, zone=zone, section=first.sections[section])
    inventory.generate_units(session=second, now=now)
    catalog.set_policy(
        event=first.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        refund_cutoff_hours=2,
        is_exchangeable=True,
        exchange_cutoff_hours=24,
        exchange_fee=Decimal(fee),
        exchange_to_other_sessions=other_sessions,
    )
    return TwoDates(first=first, second=second)


def assert_invariants(*orders: Order) -> None:
    """Each order's ledger sums to what its provider holds; every valid ticket's place is
    sold to its line; every revoked ticket's last version is on the revocation list."""
    holds = provider_holds_by_order([o.pk for o in orders])
    for order in orders:
        ledger = LedgerEntry.objects.filter(order=order).aggregate(s=Sum("amount"))["s"]
        assert (ledger or Decimal(0)) == holds.get(order.pk, Decimal(0)), order.number
    for ticket in Ticket.objects.filter(order_line__order__in=orders).select_related("unit"):
        if ticket.status == TicketStatus.VALID:
            assert ticket.unit.status == UnitStatus.SOLD
            assert ticket.unit.order_line_id == ticket.order_line_id
        else:
            assert Revocation.objects.filter(
                ticket_id=ticket.pk, version=ticket.version - 1
            ).exists()
    sold_lines = InventoryUnit.objects.filter(status=UnitStatus.SOLD).values_list(
        "order_line_id", flat=True
    )
    assert len(list(sold_lines)) == len(set(sold_lines))
