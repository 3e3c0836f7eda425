"""The pure best-available search on hand-built rows (no database)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.inventory.best_available import Snapshot, find_blocks, find_split


def rows(
    *patterns: str,
    spacing: float = 10.0,
    row_gap: float = 10.0,
    x0: float = 0.0,
    positions: dict[int, list[int]] | None = None,
    first_row: int = 1,
):
    """Seats from patterns, one row per pattern ("." free, "x" taken), row r at
    y = r * row_gap, seat at position p at x = x0 + p * spacing. Unit id = row * 100 + p."""
    seats = []
    for r, pattern in enumerate(patterns, start=first_row):
        places = (positions or {}).get(r) or list(range(1, len(pattern) + 1))
        for p, char in zip(places, pattern, strict=True):
            seats.append((r * 100 + p, r, (r,), p, x0 + p * spacing, r * row_gap, char == "."))
    return seats


def snap(*patterns: str, **kwargs) -> Snapshot:
    return Snapshot.from_seats(rows(*patterns, **kwargs))


def ids(blocks):
    return [list(b.unit_ids) for b in blocks]


# -- adjacency and single-seat gaps -----------------------------------------------------------


def test_block_is_adjacent_and_centred_on_the_focal_point():
    # Given one empty row of 8 seats and the focal point in front of seats 4-5
    snapshot = snap("........")
    # When 2 seats are wanted
    blocks = find_blocks(snapshot, quantity=2, focal=(45.0, 0.0), limit=3)
    # Then the best block is 4-5, then 3-4 and 5-6 (equal distance: lower position first)
    assert ids(blocks) == [[104, 105], [103, 104], [105, 106]]
    assert blocks[0].row_id == 1
    assert blocks[0].first_position == 4
    assert blocks[0].distance == pytest.approx(10.0)


def test_block_never_strands_one_free_seat():
    # Given four free seats between taken ones
    snapshot = snap("x....x")
    # When 3 are wanted: every placement leaves one free seat alone
    assert find_blocks(snapshot, quantity=3, focal=(35.0, 0.0)) == []
    # When 2 are wanted: the middle placement (3-4) would strand seats 2 and 5
    assert ids(find_blocks(snapshot, quantity=2, focal=(35.0, 0.0))) == [[102, 103], [104, 105]]


def test_row_end_counts_like_a_taken_seat():
    # Given a row of three free seats
    snapshot = snap("...")
    # Then a pair would strand the third seat, and all three fit exactly
    assert find_blocks(snapshot, quantity=2, focal=(20.0, 0.0)) == []
    assert ids(find_blocks(snapshot, quantity=3, focal=(20.0, 0.0))) == [[101, 102, 103]]


def test_a_gap_in_positions_breaks_adjacency():
    # Given seats 1, 2, 4, 5 (no seat 3: an aisle), all free
    snapshot = snap("....", positions={1: [1, 2, 4, 5]})
    # Then no 3 seats are adjacent, and each pair is a block of its own
    assert find_blocks(snapshot, quantity=3, focal=(30.0, 0.0)) == []
    assert ids(find_blocks(snapshot, quantity=2, focal=(30.0, 0.0))) == [[101, 102], [104, 105]]


def test_block_may_fill_a_run_exactly_or_leave_two():
    # Given a run of five free seats, 2 wanted, focal point at seat 3
    snapshot = snap(".....")
    blocks = find_blocks(snapshot, quantity=2, focal=(30.0, 0.0), limit=5)
    # Then only the placements leaving 0 or >= 2 seats on each side qualify
    assert sorted(ids(blocks)) == [[101, 102], [104, 105]]


# -- focal point, ties and limit -------------------------------------------------------------------


def test_nearer_row_wins():
    # Given two empty rows, row 1 nearer the focal point (y = 0)
    snapshot = snap("......", "......")
    blocks = find_blocks(snapshot, quantity=2, focal=(35.0, 0.0), limit=5)
    # Then the centre of row 1 is best, the centre of row 2 (20 away) beats the ends of
    # row 1 (22.4 away), and 2-3 / 4-5 never qualify (they would strand seat 1 or 6)
    assert ids(blocks) == [[103, 104], [203, 204], [101, 102], [105, 106], [201, 202]]
    assert [round(b.distance, 3) for b in blocks] == [10.0, 20.0, 22.361, 22.361, 28.284]


def test_front_row_full_means_the_next_row():
    # Given the front row sold out but one seat
    snapshot = snap("xxx.xx", "......")
    # Then the block comes from row 2, centred
    assert ids(find_blocks(snapshot, quantity=2, focal=(35.0, 0.0), limit=1)) == [[203, 204]]


def test_equal_distance_ties_go_to_the_earlier_row():
    # Given two rows mirrored around the focal point (y = 15 between rows at 10 and 20)
    snapshot = snap("..", "..")
    # Then the earlier row comes first
    blocks = find_blocks(snapshot, quantity=2, focal=(15.0, 15.0), limit=2)
    assert ids(blocks) == [[101, 102], [201, 202]]
    assert blocks[0].distance == blocks[1].distance


def test_row_order_not_row_id_decides_ties():
    # Given row 2 ordered before row 1 (e.g. its section comes first), mirrored
    seats = [
        (u, r, (1 if r == 2 else 2,), p, x, y, free) for u, r, _, p, x, y, free in rows("..", "..")
    ]
    blocks = find_blocks(Snapshot.from_seats(seats), quantity=2, focal=(15.0, 15.0), limit=2)
    assert ids(blocks) == [[201, 202], [101, 102]]


def test_limit_caps_the_candidates_best_first():
    snapshot = snap("." * 10)
    blocks = find_blocks(snapshot, quantity=1, focal=(0.0, 0.0), limit=3)
    # seat 2 alone would strand seat 1
    assert ids(blocks) == [[101], [103], [104]]
    assert [round(b.distance, 3) for b in blocks] == [14.142, 31.623, 41.231]


def test_nothing_free_nothing_found():
    assert find_blocks(snap("xxxx"), quantity=1, focal=(0.0, 0.0)) == []
    assert find_split(snap("xxxx"), quantity=1, focal=(0.0, 0.0)) is None


def test_bad_quantity_is_refused():
    with pytest.raises(ValueError):
        find_blocks(snap("...."), quantity=0, focal=(0.0, 0.0))
    with pytest.raises(ValueError):
        find_split(snap("...."), quantity=0, focal=(0.0, 0.0))


def test_refreshed_snapshot_takes_new_availability():
    # Given a snapshot built all free, then seats 2 and 3 taken
    snapshot = snap("....").refreshed({101, 104})
    # Then only single seats are free and no pair exists
    assert snapshot.masks == ("1001",)
    assert snapshot.free_count == 2
    assert find_blocks(snapshot, quantity=2, focal=(0.0, 0.0)) == []


# -- split ---------------------------------------------------------------------------------


def test_split_uses_as_few_rows_as_possible():
    # Given no 4 adjacent seats: row 1 has two pairs (".." "x" ".." = 4 free), row 2 three
    # singles nearer the focal point, row 3 two pairs
    snapshot = snap("..x..x", ".x.x.x", "..x..x", first_row=1)
    focal = (30.0, 20.0)  # row 2 is nearest
    assert find_blocks(snapshot, quantity=4, focal=focal) == []
    # When the split is asked for
    split = find_split(snapshot, quantity=4, focal=focal)
    # Then all four seats come from one row (row 1 and row 3 tie on distance; row 1 first)
    assert sorted(split) == [101, 102, 104, 105]


def test_split_prefers_adjacent_pairs_within_a_row():
    # Given one row with a pair (3-4) and singles (1 and 6), 3 wanted
    snapshot = snap(".x..x.")
    # When split
    split = find_split(snapshot, quantity=3, focal=(60.0, 0.0))
    # Then the pair is kept together and the nearer single added
    assert sorted(split) == [103, 104, 106]


def test_split_takes_the_fullest_rows_first_then_the_best_remaining_row():
    # Given rows with 3, 1 and 2 free singles; 5 wanted
    snapshot = snap(".x.x.x", "xx.xxx", ".x.xxx")
    split = find_split(snapshot, quantity=5, focal=(30.0, 0.0))
    # Then row 1 (3 seats) and row 3 (2 seats): two rows, not three
    assert sorted(split) == [101, 103, 105, 301, 303]


def test_split_is_none_when_too_few_seats_are_free():
    assert find_split(snap(".x.x", "xx.x"), quantity=4, focal=(0.0, 0.0)) is None


def test_split_may_leave_a_single_seat_when_the_buyer_accepts():
    # Given one run of 3: a pair would strand a seat, so no block
    snapshot = snap("x...x")
    assert find_blocks(snapshot, quantity=2, focal=(30.0, 0.0)) == []
    # Then the split offers two adjacent seats in that row anyway
    assert sorted(find_split(snapshot, quantity=2, focal=(30.0, 0.0))) in ([102, 103], [103, 104])


# -- properties against a brute force ----------------------------------------------------------


def brute_force(patterns: list[str], k: int, focal):
    """Every block of k free seats leaving no single free seat on either side, ranked."""
    fx, fy = focal
    found = []
    for r, pattern in enumerate(patterns, start=1):
        for s in range(len(pattern) - k + 1):
            if "x" in pattern[s : s + k]:
                continue
            left = len(pattern[:s]) - len(pattern[:s].rstrip("."))
            right = len(pattern[s + k :]) - len(pattern[s + k :].lstrip("."))
            if left == 1 or right == 1:
                continue
            cx = sum((p + 1) * 10.0 for p in range(s, s + k)) / k
            cy = r * 10.0
            d2 = round((cx - fx) ** 2 + (cy - fy) ** 2, 4)
            found.append((d2, r, s, [r * 100 + p + 1 for p in range(s, s + k)]))
    return [ids for *_, ids in sorted(found)]


@settings(max_examples=200, deadline=None)
@given(
    patterns=st.lists(st.text(alphabet=".x", min_size=1, max_size=14), min_size=1, max_size=6),
    k=st.integers(min_value=1, max_value=5),
    fx=st.integers(min_value=-20, max_value=160),
    fy=st.integers(min_value=-20, max_value=80),
)
def test_search_matches_a_brute_force(patterns, k, fx, fy):
    expected = brute_force(patterns, k, (fx, fy))
    blocks = find_blocks(snap(*patterns), quantity=k, focal=(float(fx), float(fy)), limit=4)
    assert ids(blocks) == expected[:4]


@settings(max_examples=200, deadline=None)
@given(
    patterns=st.lists(st.text(alphabet=".x", min_size=1, max_size=12), min_size=1, max_size=5),
    k=st.integers(min_value=1, max_value=6),
)
def test_split_takes_free_seats_in_the_fewest_rows(patterns, k):
    snapshot = snap(*patterns)
    split = find_split(snapshot, quantity=k, focal=(50.0, 0.0))
    free = {
        r * 100 + p + 1
        for r, pattern in enumerate(patterns, start=1)
        for p, c in enumerate(pattern)
        if c == "."
    }
    if len(free) < k:
        assert split is None
        return
    assert len(split) == k
    assert len(set(split)) == k
    assert set(split) <= free
    # fewest rows: no smaller number of rows holds k free seats
    per_row = sorted((p.count(".") for p in patterns), reverse=True)
    fewest = next(n for n in range(1, len(per_row) + 1) if sum(per_row[:n]) >= k)
    assert len({u // 100 for u in split}) == fewest
