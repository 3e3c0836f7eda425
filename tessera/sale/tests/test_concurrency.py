"""Races between real threads, each with its own database connection: the checkout and the
channel order never sell a place twice nor more places than exist.

On PostgreSQL the buyers run in parallel (row locks, SKIP LOCKED, the account lock). SQLite
runs one writer at a time by design (``BEGIN IMMEDIATE``); its in-memory, shared-cache test
database cannot stand in for that under many threads (it refuses and mis-reads tables
locked by other connections), so there the same calls run one after another: the counts
must come out the same.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from tessera.core.errors import DomainError
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_channel, make_sale
from tessera.inventory.tests.test_concurrency import waiting_for_the_lock
from tessera.orders.models import Order, OrderLine
from tessera.sale import channels, services
from tessera.sale.choices import PlaceChoice
from tessera.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 24


def race(call, args: list) -> list:
    """``call(arg)`` for every arg, each in its own thread, all released at once; the result
    or the code of the DomainError raised, per arg."""
    parallel = connection.vendor == "postgresql"
    start = threading.Barrier(len(args) if parallel else 1, timeout=60)

    def one(arg):
        try:
            start.wait()
            return waiting_for_the_lock(lambda: call(arg))
        except DomainError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(args) if parallel else 1) as pool:
        return list(pool.map(one, args))


def test_twenty_four_buyers_checking_out_the_same_seats_one_wins():
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=4, now=now)
    seats = [u.pk for u in sale.seat_units("S1", "A", [2, 3])]
    buyers = [make_buyer() for _ in range(THREADS)]

    def buy(buyer):
        return services.checkout(
            session_id=sale.session.pk,
            user=buyer,
            choice=PlaceChoice(unit_ids=tuple(seats)),
            provider="sandbox",
            now=now,
        )

    results = race(buy, buyers)
    winners = [r for r in results if isinstance(r, services.Checkout)]
    assert len(winners) == 1
    assert sorted(r for r in results if isinstance(r, str)) == ["places_unavailable"] * (
        THREADS - 1
    )
    assert Order.objects.count() == 1
    assert sorted(OrderLine.objects.values_list("unit_id", flat=True)) == sorted(seats)
    held = InventoryUnit.objects.filter(status=UnitStatus.HELD)
    assert sorted(held.values_list("id", flat=True)) == sorted(seats)


def test_a_standing_area_sells_exactly_its_capacity():
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=2, standing_capacity=15, now=now)
    buyers = [make_buyer() for _ in range(THREADS)]

    def buy(buyer):
        return services.checkout(
            session_id=sale.session.pk,
            user=buyer,
            choice=PlaceChoice(zone_id=sale.zones["GA"].pk, quantity=1),
            provider="sandbox",
            now=now,
        )

    results = race(buy, buyers)
    winners = [r for r in results if isinstance(r, services.Checkout)]
    assert len(winners) == 15, [r for r in results if not isinstance(r, services.Checkout)]
    assert [r for r in results if isinstance(r, str)] == ["places_unavailable"] * (THREADS - 15)
    standing = InventoryUnit.objects.filter(session=sale.session, seat__isnull=True)
    assert standing.filter(status=UnitStatus.HELD).count() == 15
    assert len(set(OrderLine.objects.values_list("unit_id", flat=True))) == 15


def test_one_account_racing_itself_stays_within_its_limit():
    now = timezone.now()
    sale = make_sale(sections=1, rows=2, seats_per_row=10, now=now, max_tickets_per_account=6)
    buyer = make_buyer()

    def buy(_n):
        return services.checkout(
            session_id=sale.session.pk,
            user=buyer,
            choice=PlaceChoice(zone_id=sale.zones["A"].pk, quantity=2),
            provider="sandbox",
            now=now,
        )

    results = race(buy, list(range(12)))
    assert sum(isinstance(r, services.Checkout) for r in results) == 3
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 6


def test_channels_racing_for_a_standing_area_get_exactly_its_capacity():
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=2, standing_capacity=10, now=now)
    organization = sale.session.event.organization
    principals = []
    for n in range(3):
        channel = make_channel(organization=organization, code=f"race-{n}")
        _row, key = channels.issue_key(channel=channel, name="ERP", actor=None, now=now)
        principals.append(channels.authenticate(key, now=now))

    def sell(n):
        principal = principals[n % 3]
        return channels.channel_order(
            principal=principal,
            session_id=sale.session.pk,
            choice=PlaceChoice(zone_id=sale.zones["GA"].pk, quantity=1),
            idempotency_key=f"order-{n}",
            digest=f"digest-{n}",
            now=now,
        )

    results = race(sell, list(range(THREADS)))
    sold = [r for r in results if isinstance(r, channels.ChannelSale)]
    assert len(sold) == 10
    assert [r for r in results if isinstance(r, str)] == ["places_unavailable"] * (THREADS - 10)
    assert Ticket.objects.count() == 10
    assert len(set(Ticket.objects.values_list("unit_id", flat=True))) == 10


def test_a_retried_channel_order_sells_once():
    """The same idempotency key sent by eight threads at once: one order, eight answers of
    it."""
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=10, now=now)
    channel = make_channel(organization=sale.session.event.organization)
    _row, key = channels.issue_key(channel=channel, name="ERP", actor=None, now=now)
    principal = channels.authenticate(key, now=now)

    def sell(_n):
        return channels.channel_order(
            principal=principal,
            session_id=sale.session.pk,
            choice=PlaceChoice(zone_id=sale.zones["A"].pk, quantity=2),
            idempotency_key="the-same",
            digest="one-request",
            now=now,
        )

    results = race(sell, list(range(8)))
    assert len({r.order.number for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert Order.objects.count() == 1
    assert Ticket.objects.count() == 2


def test_best_available_buyers_racing_get_disjoint_seats_and_no_error():
    """Proposals of best available overlap when buyers race for the same best seats; a buyer
    whose proposal is taken tries the next (skipping places others are locking, never
    waiting on them while holding others): nobody deadlocks, nobody gets an error."""
    now = timezone.now()
    sale = make_sale(sections=1, rows=4, seats_per_row=16, now=now)  # 64 seats for 48
    buyers = [make_buyer() for _ in range(THREADS)]

    def buy(buyer):
        return services.checkout(
            session_id=sale.session.pk,
            user=buyer,
            choice=PlaceChoice(
                zone_id=sale.zones["A"].pk, quantity=2, best_available=True, accept_split=True
            ),
            provider="sandbox",
            now=now,
        )

    results = race(buy, buyers)
    assert all(isinstance(r, services.Checkout) for r in results), results
    taken = list(OrderLine.objects.values_list("unit_id", flat=True))
    assert len(taken) == len(set(taken)) == 2 * THREADS
