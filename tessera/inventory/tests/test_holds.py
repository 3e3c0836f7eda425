"""Holds: taking places, limits, expiry, extension, release, sale and tidying."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.catalog.models import EventStatus, SessionStatus
from tessera.core.errors import InvalidInput
from tessera.core.models import AuditEntry
from tessera.inventory import selectors, tasks
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.inventory.services import (
    ChannelNotActive,
    ExtensionUsed,
    HoldExpired,
    HoldLost,
    HoldNotFound,
    HoldNotReleasable,
    LimitExceeded,
    NotOnSale,
    PlacesUnavailable,
    PlacesUnknown,
    ScopeInvalid,
    extend_hold,
    hold_quantity,
    hold_units,
    mark_hold_ordered,
    release_hold,
    sell_hold,
    tidy_expired_holds,
)
from tessera.inventory.tests.factories import make_buyer, make_channel, make_sale

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
MINUTE = timedelta(minutes=1)


def unit_rows(sale):
    """(id, status, hold id, hold expiry, order line) of every unit: the whole state."""
    return list(
        InventoryUnit.objects.filter(session=sale.session)
        .order_by("id")
        .values_list("id", "status", "hold_id", "hold_expires_at", "order_line_id")
    )


def ids(units):
    return [u.pk for u in units]


# -- hold_units ---------------------------------------------------------------------------------


def test_hold_units_takes_exactly_the_chosen_places_for_the_hold_time():
    # Given a session with a 10-minute hold time
    sale = make_sale()
    buyer = make_buyer()
    places = sale.seat_units("S1", "A", [4, 5])
    # When the buyer holds A4-A5
    hold = hold_units(session=sale.session, user=buyer, unit_ids=ids(places), now=NOW)
    # Then both are held by the hold until now + 10 minutes
    hold.refresh_from_db()
    assert (
        hold.user,
        hold.status,
        hold.quantity,
        hold.created_at,
        hold.expires_at,
        hold.extensions,
    ) == (buyer, HoldStatus.ACTIVE, 2, NOW, NOW + 10 * MINUTE, 0)
    held = InventoryUnit.objects.filter(status=UnitStatus.HELD)
    assert sorted(held.values_list("id", "hold_id", "hold_expires_at")) == [
        (u.pk, hold.pk, NOW + 10 * MINUTE) for u in places
    ]
    assert list(selectors.list_hold_units(hold)) == places
    entry = AuditEntry.objects.get(action="hold.created")
    assert (entry.actor, entry.object_id, entry.organization_id, entry.data) == (
        buyer,
        str(hold.pk),
        sale.session.event.organization_id,
        {"how": "units", "units": ids(places), "channel": None},
    )


def test_hold_units_is_all_or_nothing():
    # Given A2 held by somebody else
    sale = make_sale()
    a1, a2, a3 = sale.seat_units("S1", "A", [1, 2, 3])
    first = hold_units(session=sale.session, user=make_buyer(), unit_ids=[a2.pk], now=NOW)
    before = unit_rows(sale)
    # When another buyer wants A1-A3
    with pytest.raises(PlacesUnavailable) as exc:
        hold_units(session=sale.session, user=make_buyer(), unit_ids=[a1.pk, a2.pk, a3.pk], now=NOW)
    # Then the error names A2 and nothing changed: no hold row, A1 and A3 still free
    assert exc.value.code == "places_unavailable"
    assert exc.value.details == {"unit_ids": [a2.pk]}
    assert str(exc.value.message) == "Some of these places are no longer available."
    assert unit_rows(sale) == before
    assert list(Hold.objects.values_list("id", flat=True)) == [first.pk]


def test_hold_units_refuses_places_of_another_session():
    sale, other = make_sale(), make_sale()
    foreign = other.seat_unit("S1", "A", 1)
    with pytest.raises(PlacesUnknown) as exc:
        hold_units(session=sale.session, user=make_buyer(), unit_ids=[foreign.pk], now=NOW)
    assert exc.value.details == {"unit_ids": [foreign.pk]}
    assert Hold.objects.count() == 0


def test_hold_units_rejects_empty_and_garbage_ids():
    sale = make_sale()
    with pytest.raises(InvalidInput):
        hold_units(session=sale.session, user=make_buyer(), unit_ids=[], now=NOW)
    with pytest.raises(InvalidInput):
        hold_units(session=sale.session, user=make_buyer(), unit_ids=["x"], now=NOW)
    assert Hold.objects.count() == 0


@pytest.mark.parametrize(
    "change",
    [
        {"on_sale_from": NOW + MINUTE},
        {"on_sale_until": NOW},
        {"status": SessionStatus.CANCELLED},
        {"event_status": EventStatus.DRAFT},
    ],
)
def test_holding_needs_the_session_on_sale(change):
    sale = make_sale()
    if "event_status" in change:
        sale.session.event.status = change.pop("event_status")
        sale.session.event.save()
    for field, value in change.items():
        setattr(sale.session, field, value)
    sale.session.save()
    before = unit_rows(sale)
    with pytest.raises(NotOnSale):
        hold_units(
            session=sale.session,
            user=make_buyer(),
            unit_ids=[sale.seat_unit("S1", "A", 1).pk],
            now=NOW,
        )
    assert unit_rows(sale) == before
    assert Hold.objects.count() == 0


def test_an_inactive_channel_cannot_hold():
    sale = make_sale()
    channel = make_channel(is_active=False)
    with pytest.raises(ChannelNotActive):
        hold_units(
            session=sale.session,
            user=make_buyer(),
            unit_ids=[sale.seat_unit("S1", "A", 1).pk],
            now=NOW,
            channel=channel,
        )
    assert Hold.objects.count() == 0


# -- hold_quantity ----------------------------------------------------------------------------


def test_hold_quantity_takes_standing_places_in_order():
    sale = make_sale(standing_capacity=10)
    standing = list(sale.units("GA"))
    hold = hold_quantity(
        session=sale.session, user=make_buyer(), zone=sale.zones["GA"], quantity=3, now=NOW
    )
    assert sorted(hold.units.values_list("id", flat=True)) == ids(standing[:3])
    second = hold_quantity(
        session=sale.session, user=make_buyer(), zone=sale.zones["GA"], quantity=3, now=NOW
    )
    assert sorted(second.units.values_list("id", flat=True)) == ids(standing[3:6])


def test_hold_quantity_refuses_more_than_is_left_and_changes_nothing():
    sale = make_sale(standing_capacity=4)
    hold_quantity(
        session=sale.session, user=make_buyer(), zone=sale.zones["GA"], quantity=2, now=NOW
    )
    before = unit_rows(sale)
    with pytest.raises(PlacesUnavailable) as exc:
        hold_quantity(
            session=sale.session, user=make_buyer(), zone=sale.zones["GA"], quantity=3, now=NOW
        )
    assert exc.value.details == {"requested": 3, "zone": sale.zones["GA"].pk}
    assert str(exc.value.message) == "Fewer than 3 places are left here."
    assert unit_rows(sale) == before
    assert Hold.objects.count() == 1


def test_hold_quantity_skips_channel_places_in_the_open_pool():
    # Given 2 of 4 standing places allocated to a channel
    sale = make_sale(standing_capacity=4)
    channel = make_channel()
    standing = list(sale.units("GA"))
    InventoryUnit.objects.filter(pk__in=ids(standing[:2])).update(channel=channel)
    # Then the open pool has only 2 places and the channel all 4
    with pytest.raises(PlacesUnavailable):
        hold_quantity(
            session=sale.session, user=make_buyer(), zone=sale.zones["GA"], quantity=3, now=NOW
        )
    hold = hold_quantity(
        session=sale.session, user=make_buyer(), zone=sale.zones["GA"], quantity=2, now=NOW
    )
    assert sorted(hold.units.values_list("id", flat=True)) == ids(standing[2:])
    by_channel = hold_quantity(
        session=sale.session,
        user=make_buyer(),
        zone=sale.zones["GA"],
        quantity=2,
        now=NOW,
        channel=channel,
    )
    assert sorted(by_channel.units.values_list("id", flat=True)) == ids(standing[:2])


def test_hold_quantity_within_a_section_and_zone_of_the_session_only():
    sale, other = make_sale(), make_sale()
    hold = hold_quantity(
        session=sale.session,
        user=make_buyer(),
        zone=sale.zones["B"],
        section=sale.sections["S2"],
        quantity=2,
        now=NOW,
    )
    assert set(hold.units.values_list("section", flat=True)) == {sale.sections["S2"].pk}
    with pytest.raises(ScopeInvalid):
        hold_quantity(
            session=sale.session, user=make_buyer(), zone=other.zones["A"], quantity=1, now=NOW
        )
    with pytest.raises(ScopeInvalid):
        hold_quantity(
            session=sale.session,
            user=make_buyer(),
            zone=sale.zones["A"],
            section=other.sections["S1"],
            quantity=1,
            now=NOW,
        )


# -- limits -----------------------------------------------------------------------------------


def test_more_than_the_order_limit_is_refused():
    sale = make_sale(max_tickets_per_order=4, max_tickets_per_account=10)
    before = unit_rows(sale)
    with pytest.raises(LimitExceeded) as exc:
        hold_units(
            session=sale.session,
            user=make_buyer(),
            unit_ids=ids(sale.seat_units("S1", "A", range(1, 6))),
            now=NOW,
        )
    assert exc.value.details == {"max_tickets_per_order": 4, "requested": 5}
    assert str(exc.value.message) == "At most 4 tickets per order."
    assert unit_rows(sale) == before


def test_account_limit_counts_live_holds_and_sales_but_not_expired_holds():
    # Given an account limit of 4 and a buyer holding 3 places
    sale = make_sale(max_tickets_per_order=4, max_tickets_per_account=4)
    buyer = make_buyer()
    first = hold_units(
        session=sale.session,
        user=buyer,
        unit_ids=ids(sale.seat_units("S1", "A", [1, 2, 3])),
        now=NOW,
    )
    # When the buyer wants 2 more
    with pytest.raises(LimitExceeded) as exc:
        hold_units(
            session=sale.session,
            user=buyer,
            unit_ids=ids(sale.seat_units("S1", "B", [1, 2])),
            now=NOW,
        )
    # Then it is refused, naming what they have
    assert exc.value.details == {"max_tickets_per_account": 4, "already": 3, "requested": 2}
    assert Hold.objects.filter(user=buyer).count() == 1
    # Once the first hold has expired, the places no longer count
    later = NOW + 11 * MINUTE
    second = hold_units(
        session=sale.session,
        user=buyer,
        unit_ids=ids(sale.seat_units("S1", "B", [1, 2])),
        now=later,
    )
    # Sold places count: sell the second hold, then 2 + 3 > 4
    units = list(second.units.order_by("id"))
    sell_hold(hold=second, line_ids_by_unit={units[0].pk: 1, units[1].pk: 2}, now=later)
    with pytest.raises(LimitExceeded):
        hold_units(
            session=sale.session,
            user=buyer,
            unit_ids=ids(sale.seat_units("S1", "C", [1, 2, 3])),
            now=later,
        )
    hold_units(
        session=sale.session,
        user=buyer,
        unit_ids=ids(sale.seat_units("S1", "C", [1, 2])),
        now=later,
    )
    assert selectors.count_account_units(session=sale.session, user=buyer, now=later) == 4
    assert first.pk != second.pk


# -- lazy expiry and sale ------------------------------------------------------------------------


def test_expired_places_are_free_to_others_without_a_sweeper_and_the_late_sale_is_lost():
    # Given buyer 1's hold expired (no tidy task ran)
    sale = make_sale()
    places = sale.seat_units("S1", "A", [1, 2])
    first = hold_units(session=sale.session, user=make_buyer(), unit_ids=ids(places), now=NOW)
    later = NOW + 10 * MINUTE + timedelta(seconds=1)
    # When buyer 2 holds the same places
    second = hold_units(session=sale.session, user=make_buyer(), unit_ids=ids(places), now=later)
    # Then they are buyer 2's
    assert set(
        InventoryUnit.objects.filter(pk__in=ids(places)).values_list("hold_id", flat=True)
    ) == {second.pk}
    # and buyer 1's late sale fails as a whole, changing nothing
    before = unit_rows(sale)
    with pytest.raises(HoldLost) as exc:
        sell_hold(
            hold=first, line_ids_by_unit={places[0].pk: 11, places[1].pk: 12}, now=later + MINUTE
        )
    assert exc.value.code == "hold_lost"
    assert exc.value.details == {"hold": str(first.pk), "places": 2, "still_held": 0}
    assert unit_rows(sale) == before
    first.refresh_from_db()
    assert first.status == HoldStatus.ACTIVE


def test_a_place_is_not_free_at_the_very_moment_its_hold_expires():
    sale = make_sale()
    a1 = sale.seat_unit("S1", "A", 1)
    hold_units(session=sale.session, user=make_buyer(), unit_ids=[a1.pk], now=NOW)
    with pytest.raises(PlacesUnavailable):
        hold_units(session=sale.session, user=make_buyer(), unit_ids=[a1.pk], now=NOW + 10 * MINUTE)


def test_sale_after_expiry_succeeds_when_nobody_took_the_places():
    sale = make_sale()
    places = sale.seat_units("S2", "C", [9, 10])
    hold = hold_units(session=sale.session, user=make_buyer(), unit_ids=ids(places), now=NOW)
    mark_hold_ordered(hold=hold, now=NOW + MINUTE)
    sell_hold(
        hold=hold, line_ids_by_unit={places[0].pk: 21, places[1].pk: 22}, now=NOW + 30 * MINUTE
    )
    rows = (
        InventoryUnit.objects.filter(pk__in=ids(places))
        .order_by("id")
        .values_list("status", "order_line_id", "hold_id", "hold_expires_at")
    )
    assert list(rows) == [
        (UnitStatus.SOLD, 21, hold.pk, None),
        (UnitStatus.SOLD, 22, hold.pk, None),
    ]
    hold.refresh_from_db()
    assert hold.status == HoldStatus.SOLD
    assert AuditEntry.objects.get(action="hold.sold").data == {"units": ids(places)}
    # selling again with the same lines changes nothing; other lines are refused
    sell_hold(
        hold=hold, line_ids_by_unit={places[0].pk: 21, places[1].pk: 22}, now=NOW + 31 * MINUTE
    )
    with pytest.raises(HoldLost):
        sell_hold(
            hold=hold, line_ids_by_unit={places[0].pk: 99, places[1].pk: 22}, now=NOW + 31 * MINUTE
        )
    assert list(
        InventoryUnit.objects.filter(pk__in=ids(places))
        .order_by("id")
        .values_list("order_line_id", flat=True)
    ) == [21, 22]


def test_sale_must_cover_exactly_the_places_of_the_hold():
    sale = make_sale()
    places = sale.seat_units("S1", "A", [1, 2])
    hold = hold_units(session=sale.session, user=make_buyer(), unit_ids=ids(places), now=NOW)
    before = unit_rows(sale)
    with pytest.raises(HoldLost):
        sell_hold(hold=hold, line_ids_by_unit={places[0].pk: 1}, now=NOW)
    other = sale.seat_unit("S1", "A", 3)
    with pytest.raises(HoldLost):
        sell_hold(hold=hold, line_ids_by_unit={places[0].pk: 1, other.pk: 2}, now=NOW)
    assert unit_rows(sale) == before


def test_mark_hold_ordered_needs_a_live_hold():
    sale = make_sale()
    hold = hold_units(
        session=sale.session, user=make_buyer(), unit_ids=[sale.seat_unit("S1", "A", 1).pk], now=NOW
    )
    with pytest.raises(HoldExpired):
        mark_hold_ordered(hold=hold, now=NOW + 10 * MINUTE)
    assert mark_hold_ordered(hold=hold, now=NOW).status == HoldStatus.ORDERED
    assert mark_hold_ordered(hold=hold, now=NOW).status == HoldStatus.ORDERED


# -- extension ----------------------------------------------------------------------------------


def test_extend_hold_once_adds_the_hold_time_to_hold_and_places():
    sale = make_sale()
    buyer = make_buyer()
    places = sale.seat_units("S1", "A", [1, 2])
    hold = hold_units(session=sale.session, user=buyer, unit_ids=ids(places), now=NOW)
    extended = extend_hold(hold=hold, user=buyer, now=NOW + 9 * MINUTE)
    assert (extended.expires_at, extended.extensions) == (NOW + 20 * MINUTE, 1)
    assert set(
        InventoryUnit.objects.filter(pk__in=ids(places)).values_list("hold_expires_at", flat=True)
    ) == {NOW + 20 * MINUTE}
    # the places are safe at minute 15 now
    with pytest.raises(PlacesUnavailable):
        hold_units(
            session=sale.session, user=make_buyer(), unit_ids=ids(places), now=NOW + 15 * MINUTE
        )
    # and a second extension is refused
    with pytest.raises(ExtensionUsed):
        extend_hold(hold=hold, user=buyer, now=NOW + 16 * MINUTE)
    hold.refresh_from_db()
    assert (hold.expires_at, hold.extensions) == (NOW + 20 * MINUTE, 1)


def test_extend_hold_is_refused_after_expiry_and_for_strangers():
    sale = make_sale()
    buyer = make_buyer()
    hold = hold_units(
        session=sale.session, user=buyer, unit_ids=[sale.seat_unit("S1", "A", 1).pk], now=NOW
    )
    with pytest.raises(HoldNotFound):
        extend_hold(hold=hold, user=make_buyer(), now=NOW)
    with pytest.raises(HoldExpired):
        extend_hold(hold=hold, user=buyer, now=NOW + 10 * MINUTE)
    hold.refresh_from_db()
    assert (hold.expires_at, hold.extensions) == (NOW + 10 * MINUTE, 0)


# -- release ------------------------------------------------------------------------------------


def test_release_frees_the_places_and_twice_is_fine():
    sale = make_sale()
    buyer = make_buyer()
    places = sale.seat_units("S1", "A", [1, 2])
    hold = hold_units(session=sale.session, user=buyer, unit_ids=ids(places), now=NOW)
    release_hold(hold=hold, user=buyer, now=NOW + MINUTE)
    hold.refresh_from_db()
    assert (hold.status, hold.released_at) == (HoldStatus.RELEASED, NOW + MINUTE)
    assert (
        list(
            InventoryUnit.objects.filter(pk__in=ids(places)).values_list(
                "status", "hold_id", "hold_expires_at"
            )
        )
        == [(UnitStatus.AVAILABLE, None, None)] * 2
    )
    release_hold(hold=hold, user=buyer, now=NOW + 2 * MINUTE)
    hold.refresh_from_db()
    assert hold.released_at == NOW + MINUTE
    assert AuditEntry.objects.filter(action="hold.released").count() == 1


def test_release_after_expiry_frees_only_places_still_held_by_that_hold():
    # Given buyer 1's expired hold on A1-A2, and buyer 2 holding A2 since
    sale = make_sale()
    buyer = make_buyer()
    a1, a2 = sale.seat_units("S1", "A", [1, 2])
    first = hold_units(session=sale.session, user=buyer, unit_ids=[a1.pk, a2.pk], now=NOW)
    later = NOW + 11 * MINUTE
    second = hold_units(session=sale.session, user=make_buyer(), unit_ids=[a2.pk], now=later)
    # When buyer 1 releases
    release_hold(hold=first, user=buyer, now=later)
    # Then A1 is free and A2 still buyer 2's
    assert InventoryUnit.objects.get(pk=a1.pk).status == UnitStatus.AVAILABLE
    a2.refresh_from_db()
    assert (a2.status, a2.hold_id) == (UnitStatus.HELD, second.pk)
    assert AuditEntry.objects.get(action="hold.released").data == {"freed": 1}


def test_release_is_refused_for_strangers_and_sold_holds():
    sale = make_sale()
    buyer = make_buyer()
    a1 = sale.seat_unit("S1", "A", 1)
    hold = hold_units(session=sale.session, user=buyer, unit_ids=[a1.pk], now=NOW)
    with pytest.raises(HoldNotFound):
        release_hold(hold=hold, user=make_buyer(), now=NOW)
    sell_hold(hold=hold, line_ids_by_unit={a1.pk: 5}, now=NOW)
    with pytest.raises(HoldNotReleasable):
        release_hold(hold=hold, user=buyer, now=NOW)
    a1.refresh_from_db()
    assert (a1.status, a1.order_line_id) == (UnitStatus.SOLD, 5)


def test_the_system_may_release_any_hold():
    sale = make_sale()
    hold = hold_units(
        session=sale.session, user=make_buyer(), unit_ids=[sale.seat_unit("S1", "A", 1).pk], now=NOW
    )
    release_hold(hold=hold, user=None, now=NOW)
    hold.refresh_from_db()
    assert hold.status == HoldStatus.RELEASED


# -- selectors -----------------------------------------------------------------------------------


def test_get_live_hold_and_availability():
    sale = make_sale(standing_capacity=5)
    buyer = make_buyer()
    hold = hold_units(
        session=sale.session, user=buyer, unit_ids=ids(sale.seat_units("S1", "A", [1, 2])), now=NOW
    )
    InventoryUnit.objects.filter(pk=sale.seat_unit("S2", "A", 1).pk).update(
        status=UnitStatus.BLOCKED
    )
    assert selectors.get_live_hold(hold_id=hold.pk, user=buyer, now=NOW) == hold
    with pytest.raises(HoldNotFound):
        selectors.get_live_hold(hold_id=hold.pk, user=make_buyer(), now=NOW)
    with pytest.raises(HoldNotFound):
        selectors.get_live_hold(hold_id="not-a-uuid", user=buyer, now=NOW)
    with pytest.raises(HoldExpired):
        selectors.get_live_hold(hold_id=hold.pk, user=buyer, now=NOW + 10 * MINUTE)
    zones = sale.zones
    assert selectors.availability_by_zone(session=sale.session, now=NOW) == {
        zones["A"].pk: 28,
        zones["B"].pk: 29,
        zones["GA"].pk: 5,
    }
    # lazily: once the hold expired its places count as free again
    assert selectors.availability_by_zone(session=sale.session, now=NOW + 11 * MINUTE) == {
        zones["A"].pk: 30,
        zones["B"].pk: 29,
        zones["GA"].pk: 5,
    }
    assert selectors.availability_by_section(session=sale.session, now=NOW) == {
        sale.sections["S1"].pk: 28,
        sale.sections["S2"].pk: 29,
        sale.sections["GA"].pk: 5,
    }


# -- tidying ---------------------------------------------------------------------------------


def test_tidy_resets_expired_holds_only():
    # Given an expired active hold, a live hold, an expired ordered hold within its grace,
    # and an expired hold one of whose places another buyer took since
    sale = make_sale()
    expired = hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=ids(sale.seat_units("S1", "A", [1, 2])),
        now=NOW,
    )
    ordered = hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=ids(sale.seat_units("S1", "B", [1])),
        now=NOW,
    )
    mark_hold_ordered(hold=ordered, now=NOW)
    retaken = hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=ids(sale.seat_units("S1", "C", [1, 2])),
        now=NOW,
    )
    later = NOW + 20 * MINUTE
    taker = hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=[sale.seat_unit("S1", "C", 2).pk],
        now=later - 5 * MINUTE,
    )
    live = hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=ids(sale.seat_units("S2", "A", [1])),
        now=later,
    )
    # When the tidy runs
    freed = tidy_expired_holds(now=later)
    # Then the expired places are available, the others untouched
    assert freed == 3  # A1, A2 and C1
    statuses = {h.pk: h.status for h in Hold.objects.all()}
    assert statuses == {
        expired.pk: HoldStatus.RELEASED,
        ordered.pk: HoldStatus.ORDERED,
        retaken.pk: HoldStatus.RELEASED,
        taker.pk: HoldStatus.ACTIVE,
        live.pk: HoldStatus.ACTIVE,
    }
    assert sale.seat_unit("S1", "C", 2).hold_id == taker.pk
    assert sale.seat_unit("S1", "B", 1).hold_id == ordered.pk
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 3
    # After the grace the ordered hold is tidied too
    assert tidy_expired_holds(now=NOW + 2 * timedelta(hours=1)) == 3
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 0


def test_tidy_task_runs_on_the_clock():
    sale = make_sale()
    past = timezone.now() - timedelta(hours=1)
    hold = hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=[sale.seat_unit("S1", "A", 1).pk],
        now=past,
    )
    result = tasks.tidy_expired_holds.enqueue()
    assert result.return_value == 1
    hold.refresh_from_db()
    assert hold.status == HoldStatus.RELEASED
