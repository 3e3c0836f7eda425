"""Giving places to a channel and taking them back: each kind, all or nothing, counts."""

from datetime import timedelta

import pytest

from tessera.allocations import selectors, services
from tessera.allocations.models import Allocation, AllocationKind, AllocationStatus
from tessera.allocations.tests.factories import make_distributor, member
from tessera.core.errors import DomainError
from tessera.inventory import services as inventory
from tessera.inventory.models import InventoryUnit, SalesChannel, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_channel
from tessera.partners import signals
from tessera.sale import channels
from tessera.sale.choices import PlaceChoice

pytestmark = pytest.mark.django_db


def unit_rows(session):
    return list(
        InventoryUnit.objects.filter(session=session)
        .order_by("id")
        .values_list("id", "status", "channel_id", "allocation_id", "hold_id")
    )


def counts(allocation, now):
    [row] = selectors.with_counts([Allocation.objects.get(pk=allocation.pk)], now=now)
    a = row.allocation
    # every place ever given is accounted for
    assert a.allocated == a.returned + row.free + row.held + row.sold + row.blocked
    return {
        "allocated": a.allocated,
        "returned": a.returned,
        "free": row.free,
        "held": row.held,
        "sold": row.sold,
    }


def set_open_pool(channel, value: bool) -> None:
    SalesChannel.objects.filter(pk=channel.pk).update(sells_open_pool=value)
    channel.refresh_from_db()


def give(world, now, **fields):
    fields.setdefault("kind", AllocationKind.AREA)
    return services.allocate(
        session=world.session, channel=world.channel, actor=None, now=now, **fields
    )


def sell(world, now, choice, key="k1"):
    principal = channels.principal_for_channel(world.channel)
    return channels.channel_order(
        principal=principal,
        session_id=world.session.pk,
        choice=choice,
        idempotency_key=key,
        digest=channels.request_digest({"choice": repr(choice)}),
        now=now,
    )


def test_a_whole_zone_goes_to_the_channel(world, now):
    a = give(world, now, zone_ids=[world.sale.zones["A"].pk])
    units = InventoryUnit.objects.filter(session=world.session, zone=world.sale.zones["A"])
    assert a.allocated == 30
    assert set(units.values_list("channel_id", "allocation_id", "status")) == {
        (world.channel.pk, a.pk, UnitStatus.AVAILABLE)
    }
    assert InventoryUnit.objects.filter(session=world.session, channel__isnull=False).count() == 30
    assert counts(a, now) == {"allocated": 30, "returned": 0, "free": 30, "held": 0, "sold": 0}


def test_n_places_of_a_section_in_seating_order(world, now):
    s2 = world.sale.sections["S2"]
    a = give(world, now, section_ids=[s2.pk], quantity=5)
    first_five = list(world.sale.units("S2").values_list("id", flat=True)[:5])
    assert sorted(
        InventoryUnit.objects.filter(allocation_id=a.pk).values_list("id", flat=True)
    ) == (first_five)
    assert a.requested == 5 and a.allocated == 5


def test_asking_for_more_than_is_free_fails_whole(world, now):
    fan = make_buyer()
    zone = world.sale.zones["A"]
    inventory.hold_quantity(session=world.session, user=fan, zone=zone, quantity=5, now=now)
    before = unit_rows(world.session)
    with pytest.raises(DomainError) as refused:
        give(world, now, zone_ids=[zone.pk], quantity=26)
    assert refused.value.code == "allocation_short"
    assert refused.value.details == {"requested": 26, "free": 25}
    assert "26" in str(refused.value.message) and "25" in str(refused.value.message)
    assert unit_rows(world.session) == before
    assert Allocation.objects.count() == 0
    # 25 are exactly what is free: never the held ones
    a = give(world, now, zone_ids=[zone.pk], quantity=25)
    assert not InventoryUnit.objects.filter(allocation_id=a.pk, status=UnitStatus.HELD).exists()


def test_chosen_seats_all_or_nothing(world, now):
    a = give(world, now, kind=AllocationKind.SEATS, seats="S1-A-1~3, S1-B-5\nS1-C-10")
    got = set(InventoryUnit.objects.filter(allocation_id=a.pk).values_list("id", flat=True))
    wanted = {u.pk for u in world.sale.seat_units("S1", "A", [1, 2, 3])}
    wanted |= {world.sale.seat_unit("S1", "B", 5).pk, world.sale.seat_unit("S1", "C", 10).pk}
    assert got == wanted and a.allocated == 5
    assert a.seat_labels == ["S1-A-1", "S1-A-2", "S1-A-3", "S1-B-5", "S1-C-10"]
    # a seat held by a fan (or another channel's) spoils the whole request
    fan = make_buyer()
    held = world.sale.seat_unit("S2", "A", 2)
    inventory.hold_units(session=world.session, user=fan, unit_ids=[held.pk], now=now)
    before = unit_rows(world.session)
    for seats, code in (
        ("S2-A-1~3", "places_unavailable"),
        ("S1-A-3, S2-A-4", "places_unavailable"),
        ("S2-Z-1", "places_unknown"),
        ("S2-A", "allocation_invalid"),
        ("S2-A-9~1", "allocation_invalid"),
        ("S2-A-1\x00", "allocation_invalid"),
        ("", "allocation_invalid"),
    ):
        with pytest.raises(DomainError) as refused:
            give(world, now, kind=AllocationKind.SEATS, seats=seats)
        assert refused.value.code == code, seats
    assert unit_rows(world.session) == before
    assert Allocation.objects.count() == 1


def test_a_quantity_from_the_open_pool_never_takes_others_places(world, now):
    _other_org, other = make_distributor("票务通", code="other")
    first_ids = list(world.sale.units().values_list("id", flat=True)[:4])
    services.allocate(
        session=world.session,
        channel=other,
        kind=AllocationKind.SEATS,
        seats="S1-A-1~4",
        actor=None,
        now=now,
    )
    fan = make_buyer()
    inventory.hold_units(
        session=world.session, user=fan, unit_ids=[world.sale.seat_unit("S1", "A", 5).pk], now=now
    )
    a = give(world, now, kind=AllocationKind.POOL, quantity=10)
    mine = list(InventoryUnit.objects.filter(allocation_id=a.pk).order_by("id"))
    assert len(mine) == 10 and a.allocated == 10
    assert not {u.pk for u in mine} & set(first_ids)
    assert {u.status for u in mine} == {UnitStatus.AVAILABLE}
    assert InventoryUnit.objects.filter(channel=other).count() == 4
    with pytest.raises(DomainError) as refused:
        give(world, now, kind=AllocationKind.POOL)
    assert refused.value.code == "allocation_invalid"


def test_places_of_an_expired_hold_are_given_and_the_late_payment_finds_them_gone(world, now):
    fan = make_buyer()
    unit = world.sale.seat_unit("S1", "A", 1)
    hold = inventory.hold_units(session=world.session, user=fan, unit_ids=[unit.pk], now=now)
    later = now + timedelta(minutes=world.session.hold_minutes + 1)
    a = give(world, later, kind=AllocationKind.SEATS, seats="S1-A-1")
    unit.refresh_from_db()
    assert (unit.status, unit.hold_id, unit.allocation_id) == (UnitStatus.AVAILABLE, None, a.pk)
    with pytest.raises(DomainError) as lost:
        inventory.sell_hold(hold=hold, line_ids_by_unit={unit.pk: 1}, now=later)
    assert lost.value.code == "hold_lost"


def test_bad_requests_change_nothing(world, now):
    from tessera.inventory.tests.factories import make_sale

    foreign = make_sale(now=now)
    organizer_channel = make_channel(organization=world.organizer)
    before = unit_rows(world.session)
    cases = [
        ({"kind": "whatever", "zone_ids": [world.sale.zones["A"].pk]}, "allocation_invalid"),
        ({"zone_ids": [foreign.zones["A"].pk]}, "allocation_invalid"),
        ({"section_ids": [foreign.sections["S1"].pk]}, "allocation_invalid"),
        ({"zone_ids": []}, "allocation_invalid"),
        ({"zone_ids": ["1"]}, "allocation_invalid"),
        ({"zone_ids": [2**70]}, "allocation_invalid"),
        ({"zone_ids": [world.sale.zones["A"].pk], "quantity": 0}, "allocation_invalid"),
        ({"zone_ids": [world.sale.zones["A"].pk], "quantity": 10**12}, "allocation_invalid"),
        ({"zone_ids": [world.sale.zones["A"].pk], "quantity": True}, "allocation_invalid"),
        ({"zone_ids": [world.sale.zones["A"].pk], "release_at": now}, "allocation_invalid"),
        ({"zone_ids": [world.sale.zones["A"].pk], "note": "x" * 201}, "allocation_invalid"),
    ]
    for fields, code in cases:
        with pytest.raises(DomainError) as refused:
            give(world, now, **fields)
        assert refused.value.code == code, fields
    with pytest.raises(DomainError) as refused:
        services.allocate(
            session=world.session,
            channel=organizer_channel,
            kind=AllocationKind.AREA,
            zone_ids=[world.sale.zones["A"].pk],
            actor=None,
            now=now,
        )
    assert refused.value.code == "channel_not_allocatable"
    SalesChannel.objects.filter(pk=world.channel.pk).update(is_active=False)
    world.channel.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        give(world, now, zone_ids=[world.sale.zones["A"].pk])
    assert refused.value.code == "channel_not_allocatable"
    assert unit_rows(world.session) == before
    assert Allocation.objects.count() == 0


def test_manual_return_of_n_and_of_all(world, now, partner_events):
    zone = world.sale.zones["B"]
    a = give(world, now, zone_ids=[zone.pk], quantity=10)
    sell(world, now, PlaceChoice(zone_id=zone.pk, quantity=3))
    assert counts(a, now) == {"allocated": 10, "returned": 0, "free": 7, "held": 0, "sold": 3}
    before = unit_rows(world.session)
    with pytest.raises(DomainError) as refused:
        services.return_places(allocation=a, actor=None, now=now, quantity=8)
    assert refused.value.code == "allocation_short"
    assert refused.value.details == {"requested": 8, "free": 7}
    assert unit_rows(world.session) == before and partner_events == []

    assert services.return_places(allocation=a, actor=None, now=now, quantity=2) == 2
    assert counts(a, now) == {"allocated": 10, "returned": 2, "free": 5, "held": 0, "sold": 3}
    [(kind, orgs, payload, key)] = partner_events
    assert kind == signals.ALLOCATION_RETURNED
    assert orgs == sorted([world.distributor.pk, world.organizer.pk])
    assert (payload["allocation"], payload["places"], payload["reason"]) == (a.pk, 2, "manual")
    assert key == f"allocation.returned:{a.pk}:2"
    # returned places are the open pool's again
    assert (
        InventoryUnit.objects.filter(pk__in=payload["unit_ids"], channel__isnull=True).count() == 2
    )

    assert services.return_places(allocation=a, actor=None, now=now) == 5
    a.refresh_from_db()
    assert (a.status, a.ended_at) == (AllocationStatus.RETURNED, now)
    assert counts(a, now) == {"allocated": 10, "returned": 7, "free": 0, "held": 0, "sold": 3}
    with pytest.raises(DomainError) as refused:
        services.return_places(allocation=a, actor=None, now=now)
    assert refused.value.code == "nothing_to_return"
    with pytest.raises(DomainError) as refused:
        services.return_places(allocation=a, actor=None, now=now, quantity=1)
    assert refused.value.code == "allocation_ended"
    # the sold places stay sold, with the channel
    assert InventoryUnit.objects.filter(allocation_id=a.pk, status=UnitStatus.SOLD).count() == 3


def test_the_release_date_returns_unsold_places_by_the_periodic_task(world, now, partner_events):
    from tessera.allocations.tasks import release_due_allocations

    zone = world.sale.zones["A"]
    a = give(world, now, zone_ids=[zone.pk], quantity=8, release_at=now + timedelta(minutes=5))
    keep = give(world, now, zone_ids=[zone.pk], quantity=2, release_at=now + timedelta(days=1))
    sell(
        world,
        now,
        PlaceChoice(
            unit_ids=tuple(
                InventoryUnit.objects.filter(allocation_id=a.pk)
                .order_by("id")
                .values_list("id", flat=True)[:2]
            )
        ),
    )
    hold = inventory.hold_units(
        session=world.session,
        user=make_buyer(),
        unit_ids=[InventoryUnit.objects.filter(allocation_id=a.pk, status="available").first().pk],
        now=now,
        channel=world.channel,
    )
    # before the date nothing moves
    assert services.release_due_allocations(now=now + timedelta(minutes=4)) == 0
    assert counts(a, now) == {"allocated": 8, "returned": 0, "free": 5, "held": 1, "sold": 2}

    at = now + timedelta(minutes=5)
    assert services.release_due_allocations(now=at) == 5
    a.refresh_from_db()
    assert (a.status, a.ended_at) == (AllocationStatus.RELEASED, at)
    assert counts(a, at) == {"allocated": 8, "returned": 5, "free": 0, "held": 1, "sold": 2}
    assert Allocation.objects.get(pk=keep.pk).status == AllocationStatus.ACTIVE
    assert [(p["reason"], p["places"]) for _k, _o, p, _key in partner_events] == [("release", 5)]

    # the channel's hold lapses: the next run gives that place back too (the task as the
    # workers run it)
    lapsed = hold.expires_at + timedelta(seconds=1)
    from unittest import mock

    with mock.patch("tessera.allocations.tasks.clock_now", return_value=lapsed):
        assert release_due_allocations.enqueue().return_value == 1
    assert counts(a, lapsed) == {"allocated": 8, "returned": 6, "free": 0, "held": 0, "sold": 2}
    assert services.release_due_allocations(now=lapsed) == 0


def test_a_channel_without_the_open_pool_sells_only_its_allocation(world, now):
    set_open_pool(world.channel, False)
    zone = world.sale.zones["A"]
    with pytest.raises(DomainError) as refused:
        sell(world, now, PlaceChoice(zone_id=zone.pk, quantity=1), key="none")
    assert refused.value.code == "places_unavailable"
    a = give(world, now, zone_ids=[zone.pk], quantity=4)
    sold = sell(world, now, PlaceChoice(zone_id=zone.pk, quantity=3), key="a")
    assert {ln.unit_id for ln in sold.lines} <= set(
        InventoryUnit.objects.filter(allocation_id=a.pk).values_list("id", flat=True)
    )
    before = unit_rows(world.session)
    with pytest.raises(DomainError) as refused:
        sell(world, now, PlaceChoice(zone_id=zone.pk, quantity=2), key="b")
    assert refused.value.code == "places_unavailable"
    pool_seat = world.sale.seat_unit("S1", "C", 10)
    assert pool_seat.channel_id is None
    with pytest.raises(DomainError) as refused:
        sell(world, now, PlaceChoice(unit_ids=(pool_seat.pk,)), key="c")
    assert refused.value.code == "places_unavailable"
    assert unit_rows(world.session) == before
    sell(world, now, PlaceChoice(zone_id=zone.pk, quantity=1), key="d")
    assert counts(a, now)["sold"] == 4
    # and a channel that may sell the open pool does, besides its own
    set_open_pool(world.channel, True)
    sell(world, now, PlaceChoice(zone_id=zone.pk, quantity=2), key="e")


def test_tenancy_of_the_selectors(world, now):
    other_org, other = make_distributor("票务通", code="other")
    mine = give(world, now, zone_ids=[world.sale.zones["A"].pk], quantity=2)
    theirs = services.allocate(
        session=world.session,
        channel=other,
        kind=AllocationKind.POOL,
        quantity=2,
        actor=None,
        now=now,
    )
    assert list(selectors.allocations_of_distributor(world.distributor.pk)) == [mine]
    assert list(selectors.allocations_of_distributor(other_org.pk)) == [theirs]
    assert list(selectors.sessions_of_organizer(world.distributor.pk)) == []
    assert list(selectors.sessions_of_organizer(world.organizer.pk)) == [world.session]
    assert member(world.organizer, "boss")
