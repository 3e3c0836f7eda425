"""Units of a session: generation, blocking and channel allocation."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.catalog.models import ZoneAssignment
from tessera.catalog.tests.factories import make_zone
from tessera.core.errors import InvalidInput
from tessera.core.models import AuditEntry
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.services import (
    PlacesUnavailable,
    allocate_channel,
    block_units,
    generate_units,
    hold_units,
    unblock_units,
)
from tessera.inventory.tests.factories import make_buyer, make_channel, make_sale
from tessera.venues.models import Row, Seat

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def statuses(sale):
    return dict(InventoryUnit.objects.filter(session=sale.session).values_list("id", "status"))


# -- generate_units ------------------------------------------------------------------------------


def test_generate_units_makes_one_unit_per_zoned_seat_and_standing_place():
    # Given two seated sections of 3 x 10 in zones A and B and a standing area of 25 in GA
    sale = make_sale(standing_capacity=25, generate=False)
    # When units are generated
    created = generate_units(session=sale.session, now=NOW)
    # Then 60 seats and 25 standing places, all available in the open pool
    assert created == 85
    units = InventoryUnit.objects.filter(session=sale.session)
    assert units.count() == 85
    assert {s: units.filter(zone=z).count() for s, z in sale.zones.items()} == {
        "A": 30,
        "B": 30,
        "GA": 25,
    }
    assert units.filter(seat__isnull=True, section=sale.sections["GA"]).count() == 25
    assert set(units.values_list("status", flat=True)) == {UnitStatus.AVAILABLE}
    assert units.filter(channel__isnull=False).count() == 0
    entry = AuditEntry.objects.get(action="inventory.units_generated")
    assert entry.data == {"units": 85}
    assert entry.object_id == str(sale.session.pk)


def test_generate_units_uses_the_most_specific_zone_and_skips_unzoned_seats():
    # Given section S1 in zone A, its row B in zone VIP, seat C-1 in zone VIP too, and
    # section S2 without any zone
    sale = make_sale(generate=False)
    ZoneAssignment.objects.filter(session=sale.session, zone=sale.zones["B"]).delete()
    vip = make_zone(session=sale.session, code="VIP", price="880.00")
    row_b = Row.objects.get(section=sale.sections["S1"], label="B")
    seat_c1 = Seat.objects.get(section=sale.sections["S1"], row__label="C", label="1")
    ZoneAssignment.objects.create(session=sale.session, zone=vip, section=row_b.section, row=row_b)
    ZoneAssignment.objects.create(
        session=sale.session, zone=vip, section=row_b.section, row=seat_c1.row, seat=seat_c1
    )
    # When units are generated
    created = generate_units(session=sale.session, now=NOW)
    # Then only S1's 30 seats are sold: 11 in VIP (row B and seat C-1), 19 in A
    assert created == 30
    units = InventoryUnit.objects.filter(session=sale.session)
    assert units.filter(zone=vip).count() == 11
    assert units.filter(zone=sale.zones["A"]).count() == 19
    assert units.filter(section=sale.sections["S2"]).count() == 0
    assert units.get(seat=seat_c1).zone == vip


def test_generate_units_twice_changes_nothing():
    sale = make_sale()
    before = list(InventoryUnit.objects.filter(session=sale.session).values_list("id", flat=True))
    assert generate_units(session=sale.session, now=NOW) == 0
    after = list(InventoryUnit.objects.filter(session=sale.session).values_list("id", flat=True))
    assert after == before
    assert AuditEntry.objects.filter(action="inventory.units_generated").count() == 1


def test_generate_units_command_reports_the_count(capsys):
    sale = make_sale(generate=False, standing_capacity=5)
    call_command("generate_units", str(sale.session.pk))
    out = capsys.readouterr().out
    assert out.startswith(f"Session {sale.session.pk}: 65 units created in ")
    call_command("generate_units", str(sale.session.pk))
    assert capsys.readouterr().out == (
        f"Session {sale.session.pk} already has 65 units; nothing created.\n"
    )


def test_generate_units_command_refuses_an_unknown_session():
    with pytest.raises(CommandError, match="No session with id 999999"):
        call_command("generate_units", "999999")


# -- block / unblock ------------------------------------------------------------------------------


def test_block_takes_free_places_off_sale_and_unblock_puts_them_back():
    # Given a sale with one place held by a buyer
    sale = make_sale()
    organizer = make_user()
    a1, a2, a3 = sale.seat_units("S1", "A", [1, 2, 3])
    hold_units(session=sale.session, user=make_buyer(), unit_ids=[a3.pk], now=NOW)
    # When the organizer blocks A1-A3
    blocked = block_units(
        session=sale.session,
        unit_ids=[a1.pk, a2.pk, a3.pk],
        reason="camera",
        actor=organizer,
        now=NOW,
    )
    # Then the two free places are blocked, the held one stays held
    assert blocked == 2
    assert [
        u.status for u in InventoryUnit.objects.filter(pk__in=[a1.pk, a2.pk, a3.pk]).order_by("pk")
    ] == [UnitStatus.BLOCKED, UnitStatus.BLOCKED, UnitStatus.HELD]
    assert InventoryUnit.objects.get(pk=a1.pk).block_reason == "camera"
    # and nobody can hold a blocked place
    with pytest.raises(PlacesUnavailable) as exc:
        hold_units(session=sale.session, user=make_buyer(), unit_ids=[a1.pk], now=NOW)
    assert exc.value.details == {"unit_ids": [a1.pk]}
    # When they are unblocked
    assert (
        unblock_units(
            session=sale.session, unit_ids=[a1.pk, a2.pk, a3.pk], actor=organizer, now=NOW
        )
        == 2
    )
    # Then they are available again and holdable
    unit = InventoryUnit.objects.get(pk=a1.pk)
    assert (unit.status, unit.block_reason) == (UnitStatus.AVAILABLE, "")
    hold = hold_units(session=sale.session, user=make_buyer(), unit_ids=[a1.pk], now=NOW)
    assert hold.units.count() == 1
    actions = list(
        AuditEntry.objects.filter(action__startswith="inventory.units_b")
        .order_by("id")
        .values_list("action", "data")
    )
    assert actions == [
        ("inventory.units_blocked", {"requested": 3, "blocked": 2, "reason": "camera"})
    ]
    assert AuditEntry.objects.get(action="inventory.units_unblocked").data == {
        "requested": 3,
        "unblocked": 2,
    }


def test_block_takes_places_of_an_expired_hold():
    sale = make_sale()
    a1 = sale.seat_unit("S1", "A", 1)
    hold_units(session=sale.session, user=make_buyer(), unit_ids=[a1.pk], now=NOW)
    later = NOW + timedelta(minutes=11)
    assert (
        block_units(session=sale.session, unit_ids=[a1.pk], reason="sponsor", actor=None, now=later)
        == 1
    )
    unit = InventoryUnit.objects.get(pk=a1.pk)
    assert (unit.status, unit.hold_id, unit.hold_expires_at) == (UnitStatus.BLOCKED, None, None)


def test_block_needs_a_reason_and_ignores_other_sessions():
    sale, other = make_sale(), make_sale()
    a1 = sale.seat_unit("S1", "A", 1)
    before = statuses(sale)
    with pytest.raises(InvalidInput):
        block_units(session=sale.session, unit_ids=[a1.pk], reason="  ", actor=None, now=NOW)
    with pytest.raises(InvalidInput):
        block_units(session=sale.session, unit_ids=[], reason="x", actor=None, now=NOW)
    assert (
        block_units(session=other.session, unit_ids=[a1.pk], reason="x", actor=None, now=NOW) == 0
    )
    assert statuses(sale) == before


# -- channels --------------------------------------------------------------------------------------


def test_channel_places_are_sold_only_through_that_channel():
    # Given A1-A2 allocated to a distributor's channel
    sale = make_sale()
    channel, other_channel = make_channel(), make_channel()
    a1, a2, a3 = sale.seat_units("S1", "A", [1, 2, 3])
    assert (
        allocate_channel(
            session=sale.session, unit_ids=[a1.pk, a2.pk], channel=channel, actor=None, now=NOW
        )
        == 2
    )
    # Then the open pool cannot hold them, nor can another channel
    with pytest.raises(PlacesUnavailable):
        hold_units(session=sale.session, user=make_buyer(), unit_ids=[a1.pk], now=NOW)
    with pytest.raises(PlacesUnavailable):
        hold_units(
            session=sale.session,
            user=make_buyer(),
            unit_ids=[a1.pk],
            now=NOW,
            channel=other_channel,
        )
    assert statuses(sale)[a1.pk] == UnitStatus.AVAILABLE
    # and the channel can, together with an open-pool place
    hold = hold_units(
        session=sale.session, user=make_buyer(), unit_ids=[a1.pk, a3.pk], now=NOW, channel=channel
    )
    assert hold.channel == channel
    assert sorted(hold.units.values_list("id", flat=True)) == [a1.pk, a3.pk]
    assert AuditEntry.objects.get(action="inventory.channel_allocated").data == {
        "requested": 2,
        "allocated": 2,
        "channel": channel.code,
    }


def test_allocation_back_to_the_open_pool_and_sold_places_keep_their_channel():
    sale = make_sale()
    channel = make_channel()
    a1, a2 = sale.seat_units("S1", "A", [1, 2])
    InventoryUnit.objects.filter(pk=a2.pk).update(status=UnitStatus.SOLD, order_line_id=7)
    allocate_channel(
        session=sale.session, unit_ids=[a1.pk, a2.pk], channel=channel, actor=None, now=NOW
    )
    assert InventoryUnit.objects.get(pk=a2.pk).channel_id is None
    assert (
        allocate_channel(session=sale.session, unit_ids=[a1.pk], channel=None, actor=None, now=NOW)
        == 1
    )
    hold = hold_units(session=sale.session, user=make_buyer(), unit_ids=[a1.pk], now=NOW)
    assert hold.channel is None
