"""Real threads (meant for PostgreSQL; on SQLite the file lock serialises them): a
distributor selling through ``channel_order`` and fans holding places of the same section at
once never oversell, and the distributor never passes its allocation."""

from collections import Counter

import pytest

from tessera.allocations import selectors, services
from tessera.allocations.models import Allocation, AllocationKind
from tessera.allocations.tests.factories import make_world
from tessera.core.testing import race
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, InventoryUnit, SalesChannel, UnitStatus
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import OrderLine
from tessera.sale import channels
from tessera.sale.choices import PlaceChoice

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("sells_open_pool", [False, True])
def test_distributor_and_fans_at_once_never_oversell(sells_open_pool):
    from django.utils import timezone

    now = timezone.now()
    world = make_world(now=now, max_tickets_per_order=4, max_tickets_per_account=4)
    SalesChannel.objects.filter(pk=world.channel.pk).update(sells_open_pool=sells_open_pool)
    world.channel.refresh_from_db()
    zone = world.sale.zones["A"]  # section S1: 30 seats
    allocation = services.allocate(
        session=world.session,
        channel=world.channel,
        kind=AllocationKind.AREA,
        section_ids=[world.sale.sections["S1"].pk],
        quantity=10,
        actor=None,
        now=now,
    )
    principal = channels.principal_for_channel(world.channel)
    fans = [make_buyer() for _ in range(8)]

    def distributor(n):
        def run():
            choice = PlaceChoice(zone_id=zone.pk, quantity=3)
            return channels.channel_order(
                principal=principal,
                session_id=world.session.pk,
                choice=choice,
                idempotency_key=f"d{n}",
                digest=channels.request_digest({"n": n}),
                now=now,
            )

        return run

    def fan(user):
        def run():
            return inventory.hold_quantity(
                session=world.session, user=user, zone=zone, quantity=4, now=now
            )

        return run

    results = race(*[distributor(n) for n in range(6)], *[fan(u) for u in fans])
    for _result, error in results:
        assert error is None or error.code == "places_unavailable", error

    units = list(
        InventoryUnit.objects.filter(session=world.session, zone=zone).values(
            "id", "status", "channel_id", "allocation_id", "hold_id"
        )
    )
    mine = {u["id"] for u in units if u["allocation_id"] == allocation.pk}
    # every place at most once: one line per sold place, one hold per held place
    lines = Counter(
        OrderLine.objects.filter(order__session=world.session).values_list("unit_id", flat=True)
    )
    assert all(n == 1 for n in lines.values())
    sold = {u["id"] for u in units if u["status"] == UnitStatus.SOLD}
    assert set(lines) == sold
    channel_sold = set(
        OrderLine.objects.filter(order__channel_id=world.channel.pk).values_list(
            "unit_id", flat=True
        )
    )
    fan_held = {
        u["id"]
        for u in units
        if u["status"] == UnitStatus.HELD
        and Hold.objects.filter(pk=u["hold_id"], channel__isnull=True).exists()
    }
    assert not channel_sold & fan_held
    # fans never took an allocated place
    assert not fan_held & mine
    # the distributor's successes and its sold places agree
    sales = [r for r, e in results[:6] if e is None]
    assert len(channel_sold) == 3 * len(sales)
    if not sells_open_pool:
        assert channel_sold <= mine and len(channel_sold) <= 10
    held_count = sum(1 for r, e in results[6:] if e is None) * 4
    assert len(fan_held) == held_count
    assert len(channel_sold) + len(fan_held) <= 30
    # the allocation's counts add up
    [row] = selectors.with_counts([Allocation.objects.get(pk=allocation.pk)], now=now)
    assert row.allocation.allocated == 10
    assert row.sold == len(channel_sold & mine)
    assert row.free + row.held + row.sold + row.blocked + row.allocation.returned == 10


def test_two_allocations_and_fans_at_once_share_the_pool_exactly():
    from django.utils import timezone

    from tessera.allocations.tests.factories import make_distributor

    now = timezone.now()
    world = make_world(now=now, max_tickets_per_order=4, max_tickets_per_account=4)
    _org, other = make_distributor("票务通", code="other-race")
    zone = world.sale.zones["B"]

    def give(channel, quantity):
        return lambda: services.allocate(
            session=world.session,
            channel=channel,
            kind=AllocationKind.AREA,
            zone_ids=[zone.pk],
            quantity=quantity,
            actor=None,
            now=now,
        )

    def fan():
        user = make_buyer()
        return lambda: inventory.hold_quantity(
            session=world.session, user=user, zone=zone, quantity=4, now=now
        )

    results = race(give(world.channel, 12), give(other, 12), fan(), fan())
    ok = [r for r, e in results if e is None]
    for _r, e in results:
        assert e is None or e.code in ("allocation_short", "places_unavailable"), e
    allocated = sum(a.allocated for a in Allocation.objects.all())
    held = InventoryUnit.objects.filter(session=world.session, zone=zone, status="held").count()
    # 30 places: what was given and held never overlaps and never exceeds them
    assert allocated + held <= 30
    assert allocated == 12 * Allocation.objects.count()
    assert held == 4 * sum(1 for r in ok if isinstance(r, Hold))
    assert (
        InventoryUnit.objects.filter(
            session=world.session, zone=zone, channel__isnull=False
        ).count()
        == allocated
    )
    assert not InventoryUnit.objects.filter(
        session=world.session, status="held", channel__isnull=False
    ).exists()
