"""Nearest alternatives after a buyer lost seats to someone else (pure, no database)."""

import pytest

from tessera.inventory.best_available import Snapshot, find_alternatives


def snap(*patterns: str) -> Snapshot:
    """Row r (1-based) at y = 10 r, seat p at x = 10 p; "." free, "x" taken; id 100 r + p."""
    return Snapshot.from_seats(
        (r * 100 + p, r, (r,), p, p * 10.0, r * 10.0, char == ".")
        for r, pattern in enumerate(patterns, start=1)
        for p, char in enumerate(pattern, start=1)
    )


def ids(blocks):
    return [list(b.unit_ids) for b in blocks]


def test_nearest_block_of_the_same_size_around_the_lost_seats():
    # Given row 2 where seats 5 and 6 were just taken (the buyer wanted them)
    snapshot = snap("xxxxxxxxxx", "....xx....", "..........")
    # When two seats are wanted near the lost ones (centre x=55, y=20)
    blocks = find_alternatives(snapshot, quantity=2, lost=[(50.0, 20.0), (60.0, 20.0)], limit=3)
    # Then the seats right behind them come first, then the pairs beside them
    assert ids(blocks) == [[305, 306], [304, 305], [306, 307]]
    assert blocks[0].distance == pytest.approx(10.0)


def test_no_block_left_is_an_empty_list():
    snapshot = snap("x.x.x.", "xxxxxx")
    assert find_alternatives(snapshot, quantity=2, lost=[(30.0, 10.0)]) == []


def test_stranding_rule_applies_to_alternatives_too():
    # Given three free seats beside the lost seat 1: 2-3 would strand 4, 3-4 would strand 2
    snapshot = snap("x...x", ".....")
    blocks = find_alternatives(snapshot, quantity=2, lost=[(10.0, 10.0)], limit=2)
    # Then the pairs come from the row behind, which holds two (2-3 or 3-4 would strand one)
    assert ids(blocks) == [[201, 202], [204, 205]]


def test_lost_seats_are_required():
    with pytest.raises(ValueError):
        find_alternatives(snap("...."), quantity=2, lost=[])
