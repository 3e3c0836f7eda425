"""An order awaiting payment, made through the real inventory and orders services."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from tessera.inventory.services import hold_units
from tessera.inventory.tests.factories import SaleSetup, make_buyer, make_sale
from tessera.orders.models import Order
from tessera.orders.services import place_order

# 20:00 in Shanghai; the session's hold time is the default ten minutes.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass
class Purchase:
    sale: SaleSetup
    buyer: object
    order: Order
    unit_ids: list[int]


def make_purchase(
    *, seats=(1, 2), sale: SaleSetup | None = None, buyer=None, now: datetime = NOW
) -> Purchase:
    """Seats ``seats`` of row A of block S1 (zone A, ¥380 each) held and ordered by a buyer."""
    sale = sale or make_sale(sections=1, rows=1, seats_per_row=4, now=now)
    buyer = buyer or make_buyer(preferred_language="en")
    units = sale.seat_units("S1", "A", seats)
    hold = hold_units(session=sale.session, user=buyer, unit_ids=[u.pk for u in units], now=now)
    order = place_order(hold=hold, user=buyer, now=now)
    return Purchase(sale=sale, buyer=buyer, order=order, unit_ids=[u.pk for u in units])


@pytest.fixture
def purchase(db) -> Purchase:
    return make_purchase()
