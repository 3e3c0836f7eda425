"""Best available through the service: the snapshot from the database, then the hold."""

import pytest
from django.utils import timezone

from tessera.core.models import AuditEntry
from tessera.inventory import selectors, services
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.services import PlacesUnavailable, hold_best_available, hold_units
from tessera.inventory.tests.factories import make_buyer, make_channel, make_sale

pytestmark = pytest.mark.django_db

NOW = timezone.now()

# make_sale's layout: S1 seats at x = 50..230, S2 at x = 290..470 (seat n at x0 + 20(n-1)),
# rows A, B, C at y = 60, 80, 100; the focal point (the stage) is at (500, 0).


def labels(hold):
    return sorted(
        (u.section.code, u.seat.row.label, int(u.seat.label))
        for u in selectors.list_hold_units(hold)
    )


def sell_everything_but(sale, section, keep):
    """Mark every seat of ``section`` sold except the (row, seat) pairs in ``keep``."""
    keep_ids = [sale.seat_unit(section, row, n).pk for row, n in keep]
    InventoryUnit.objects.filter(session=sale.session, section=sale.sections[section]).exclude(
        pk__in=keep_ids
    ).update(status=UnitStatus.SOLD, order_line_id=1)


def test_best_block_is_nearest_the_stage():
    sale = make_sale()
    hold = hold_best_available(
        session=sale.session, user=make_buyer(), quantity=3, now=NOW, zone=sale.zones["A"]
    )
    # S1's seats nearest (500, 0) are row A's right end
    assert labels(hold) == [("S1", "A", 8), ("S1", "A", 9), ("S1", "A", 10)]
    assert AuditEntry.objects.get(action="hold.created").data["how"] == "best_available"


def test_best_block_of_the_whole_session_and_next_buyers_get_the_next_blocks():
    sale = make_sale()
    first = hold_best_available(session=sale.session, user=make_buyer(), quantity=2, now=NOW)
    second = hold_best_available(session=sale.session, user=make_buyer(), quantity=2, now=NOW)
    third = hold_best_available(
        session=sale.session, user=make_buyer(), quantity=2, now=NOW, section=sale.sections["S2"]
    )
    # distances to (500, 0): A9-10 72.1, B9-10 89.4, A7-8 100.0 (A8-9 would strand A10)
    assert labels(first) == [("S2", "A", 9), ("S2", "A", 10)]
    assert labels(second) == [("S2", "B", 9), ("S2", "B", 10)]
    assert labels(third) == [("S2", "A", 7), ("S2", "A", 8)]


def test_no_block_strands_a_single_seat():
    # Given S2 row A with A1-A2 and A8-A10 free, rows B and C sold
    sale = make_sale()
    sell_everything_but(sale, "S2", [("A", n) for n in (1, 2, 8, 9, 10)])
    # When a buyer wants 2 seats
    hold = hold_best_available(
        session=sale.session, user=make_buyer(), quantity=2, now=NOW, section=sale.sections["S2"]
    )
    # Then not A9-A10 (nearer, but A8 would be stranded) nor A8-A9: A1-A2
    assert labels(hold) == [("S2", "A", 1), ("S2", "A", 2)]


def test_an_unsplittable_request_says_a_split_is_possible():
    # Given S2 with only every other seat of each row free (no 2 adjacent seats)
    sale = make_sale()
    sell_everything_but(sale, "S2", [(row, n) for row in "ABC" for n in (1, 3, 5, 7, 9)])
    buyer = make_buyer()
    before = list(InventoryUnit.objects.order_by("id").values_list("id", "status", "hold_id"))
    # When 2 seats are asked for without accepting a split
    with pytest.raises(PlacesUnavailable) as exc:
        hold_best_available(
            session=sale.session, user=buyer, quantity=2, now=NOW, section=sale.sections["S2"]
        )
    # Then the message says so and nothing changed
    assert exc.value.details == {"requested": 2, "split_possible": True}
    assert str(exc.value.message) == (
        "No 2 adjacent seats are left here. Seats split across rows are still available "
        "if you accept them."
    )
    assert (
        list(InventoryUnit.objects.order_by("id").values_list("id", "status", "hold_id")) == before
    )
    assert Hold.objects.count() == 0
    # When the split is accepted: the two nearest free seats of the front row
    hold = hold_best_available(
        session=sale.session,
        user=buyer,
        quantity=2,
        now=NOW,
        section=sale.sections["S2"],
        accept_split=True,
    )
    assert labels(hold) == [("S2", "A", 7), ("S2", "A", 9)]
    assert AuditEntry.objects.get(action="hold.created").data["how"] == "best_available_split"


def test_one_seat_may_come_from_a_pair_without_consent():
    # Given only S2 A5-A6 free: either seat alone would strand the other
    sale = make_sale()
    sell_everything_but(sale, "S2", [("A", 5), ("A", 6)])
    hold = hold_best_available(
        session=sale.session, user=make_buyer(), quantity=1, now=NOW, section=sale.sections["S2"]
    )
    # Then the nearer one is held all the same
    assert labels(hold) == [("S2", "A", 6)]


def test_too_few_seats_means_no_split_either():
    sale = make_sale()
    sell_everything_but(sale, "S2", [("A", 1), ("C", 5)])
    with pytest.raises(PlacesUnavailable) as exc:
        hold_best_available(
            session=sale.session,
            user=make_buyer(),
            quantity=3,
            now=NOW,
            section=sale.sections["S2"],
            accept_split=True,
        )
    assert exc.value.details == {"requested": 3, "split_possible": False}
    assert Hold.objects.count() == 0


def test_a_taken_candidate_falls_through_to_the_next(monkeypatch):
    # Given a buyer whose snapshot is read just before another buyer takes the best block
    sale = make_sale()
    rival = make_buyer()
    real_snapshot = selectors.seat_snapshot
    calls = []

    def stale_snapshot(**kwargs):
        snapshot = real_snapshot(**kwargs)
        if not calls:
            hold_units(
                session=sale.session,
                user=rival,
                now=NOW,
                unit_ids=[u.pk for u in sale.seat_units("S2", "A", [9, 10])],
            )
        calls.append(kwargs)
        return snapshot

    monkeypatch.setattr(selectors, "seat_snapshot", stale_snapshot)
    # When they ask for the best 2
    hold = hold_best_available(
        session=sale.session, user=make_buyer(), quantity=2, now=NOW, section=sale.sections["S2"]
    )
    # Then the stale best block (A9-A10) fails and the next candidate is held
    assert labels(hold) == [("S2", "B", 9), ("S2", "B", 10)]
    assert len(calls) == 1


def test_all_candidates_taken_rebuilds_the_snapshot_once(monkeypatch):
    # Given a snapshot that is stale for every one of its 5 candidates: all of S2 but C1-C4
    # is sold just after it was read
    sale = make_sale()
    real_snapshot = selectors.seat_snapshot
    calls = []

    def stale_snapshot(**kwargs):
        snapshot = real_snapshot(**kwargs)
        if not calls:
            sell_everything_but(sale, "S2", [("C", n) for n in (1, 2, 3, 4)])
        calls.append(kwargs)
        return snapshot

    monkeypatch.setattr(selectors, "seat_snapshot", stale_snapshot)
    hold = hold_best_available(
        session=sale.session, user=make_buyer(), quantity=2, now=NOW, section=sale.sections["S2"]
    )
    # Then the second, fresh snapshot finds C3-C4
    assert labels(hold) == [("S2", "C", 3), ("S2", "C", 4)]
    assert len(calls) == 2


def test_best_available_in_a_standing_area_holds_a_quantity():
    sale = make_sale(standing_capacity=6)
    hold = hold_best_available(
        session=sale.session, user=make_buyer(), quantity=4, now=NOW, section=sale.sections["GA"]
    )
    assert sorted(hold.units.values_list("id", flat=True)) == [u.pk for u in sale.units("GA")[:4]]
    assert AuditEntry.objects.get(action="hold.created").data["how"] == "quantity"


def test_best_available_respects_the_channel():
    # Given S2 row A allocated to a channel
    sale = make_sale()
    channel = make_channel()
    InventoryUnit.objects.filter(
        session=sale.session, section=sale.sections["S2"], seat__row__label="A"
    ).update(channel=channel)
    open_pool = hold_best_available(
        session=sale.session, user=make_buyer(), quantity=2, now=NOW, section=sale.sections["S2"]
    )
    through_channel = hold_best_available(
        session=sale.session,
        user=make_buyer(),
        quantity=2,
        now=NOW,
        section=sale.sections["S2"],
        channel=channel,
    )
    assert labels(open_pool) == [("S2", "B", 9), ("S2", "B", 10)]
    assert labels(through_channel) == [("S2", "A", 9), ("S2", "A", 10)]


def test_best_available_checks_limits_before_holding():
    sale = make_sale(max_tickets_per_order=2)
    with pytest.raises(services.LimitExceeded):
        hold_best_available(session=sale.session, user=make_buyer(), quantity=3, now=NOW)
    assert Hold.objects.count() == 0
