"""Best available: which free seats to offer a buyer who asks for "k good seats together".

Pure functions over an in-memory snapshot, no database, so the search can be unit-tested on
hand-built rows and benchmarked on a 60,000-seat venue. ``inventory.services`` builds the
snapshot, tries to hold the best candidate and falls back to the next on conflict.

A snapshot is a list of row *segments*: the seats of one row with consecutive ``position``
values, left to right. A row whose positions jump (an aisle, a seat that is not sold) is two
segments, and the jump counts as a row end. Each segment has a mask, one character per seat:
``"1"`` free, ``"0"`` not (sold, held, blocked or of another channel).

A *block* is ``k`` adjacent free seats of one segment that strands no single free seat: the
free seats between the block and the next unavailable seat or row end, on either side, are not
exactly one. Blocks are ranked by the distance from their centre (the mean of their seats'
coordinates) to the layout's focal point, then by row order, then by position.

The search visits segments in order of a lower bound of that distance (the distance from the
focal point to the segment's bounding box, which contains every block centre) and stops as
soon as the bound exceeds the worst of the ``limit`` candidates kept, so a sold-out front does
not cost a scan of the whole venue and an empty venue stops after its best rows.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

_FREE_RUN = re.compile("1+")


@lru_cache(maxsize=64)
def _runs_of_at_least(k: int) -> re.Pattern:
    return re.compile("1{" + str(k) + ",}")


# A seat as given to ``Snapshot.from_seats``:
# (unit_id, row_id, row_order, position, x, y, is_free); row_order sorts rows for ties.
SeatTuple = tuple[int, int, tuple, int, float, float, bool]


@dataclass(frozen=True, slots=True)
class Segment:
    """Seats of one row with consecutive positions, left to right (static geometry)."""

    row_id: int
    order: tuple  # row order (section order, section id, row order, row id), for ties
    unit_ids: tuple[int, ...]
    first_position: int
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    cum_x: tuple[float, ...]  # cum_x[i] = sum(xs[:i]); len(xs) + 1 values
    cum_y: tuple[float, ...]
    min_x: float
    max_x: float
    min_y: float
    max_y: float
    contiguous_ids: bool  # unit ids run lo, lo+1, … (bulk-created units): masks by slicing

    @classmethod
    def build(
        cls,
        *,
        row_id: int,
        order: tuple,
        unit_ids: Sequence[int],
        first_position: int,
        xs: Sequence[float],
        ys: Sequence[float],
    ) -> Segment:
        cum_x, cum_y = [0.0], [0.0]
        for x, y in zip(xs, ys, strict=True):
            cum_x.append(cum_x[-1] + x)
            cum_y.append(cum_y[-1] + y)
        return cls(
            row_id=row_id,
            order=tuple(order),
            unit_ids=tuple(unit_ids),
            first_position=first_position,
            xs=tuple(xs),
            ys=tuple(ys),
            cum_x=tuple(cum_x),
            cum_y=tuple(cum_y),
            min_x=min(xs),
            max_x=max(xs),
            min_y=min(ys),
            max_y=max(ys),
            contiguous_ids=list(unit_ids) == list(range(unit_ids[0], unit_ids[0] + len(unit_ids))),
        )

    def __len__(self) -> int:
        return len(self.unit_ids)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Row segments and, for each, its availability mask (``"1"`` free, ``"0"`` not).

    Snapshots made by ``refreshed`` share their geometry and its per-focal-point visiting
    order, so only the masks are rebuilt per request.
    """

    segments: tuple[Segment, ...]
    masks: tuple[str, ...]
    _shared: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_seats(cls, seats: Iterable[SeatTuple]) -> Snapshot:
        """Group seats into row segments (ordered by row order, then position)."""
        by_row: dict[int, list] = {}
        orders: dict[int, tuple] = {}
        for unit_id, row_id, order, position, x, y, free in seats:
            by_row.setdefault(row_id, []).append((position, unit_id, float(x), float(y), free))
            orders[row_id] = tuple(order)
        segments: list[Segment] = []
        masks: list[str] = []
        for row_id in sorted(by_row, key=lambda r: orders[r]):
            seats_of_row = sorted(by_row[row_id])
            start = 0
            for i in range(1, len(seats_of_row) + 1):
                if i == len(seats_of_row) or seats_of_row[i][0] != seats_of_row[i - 1][0] + 1:
                    part = seats_of_row[start:i]
                    segments.append(
                        Segment.build(
                            row_id=row_id,
                            order=orders[row_id],
                            unit_ids=[s[1] for s in part],
                            first_position=part[0][0],
                            xs=[s[2] for s in part],
                            ys=[s[3] for s in part],
                        )
                    )
                    masks.append("".join("1" if s[4] else "0" for s in part))
                    start = i
        return cls(segments=tuple(segments), masks=tuple(masks))

    def refreshed(self, free_unit_ids: Collection[int]) -> Snapshot:
        """The same seats with availability taken from ``free_unit_ids``."""
        segments = self.segments
        if not segments:
            return self
        if "id_range" not in self._shared:
            ids = [u for seg in segments for u in seg.unit_ids]
            self._shared["id_range"] = (min(ids), max(ids), len(ids))
        lo, hi, count = self._shared["id_range"]
        if hi - lo >= 4 * count:  # ids too sparse for a flag array
            masks = tuple(
                "".join(["1" if u in free_unit_ids else "0" for u in seg.unit_ids])
                for seg in segments
            )
            return Snapshot(segments=segments, masks=masks, _shared=self._shared)
        flags = bytearray(b"0" * (hi - lo + 1))
        for u in free_unit_ids:
            if lo <= u <= hi:
                flags[u - lo] = 49  # "1"
        masks = []
        for seg in segments:
            first = seg.unit_ids[0] - lo
            if seg.contiguous_ids:
                masks.append(flags[first : first + len(seg.unit_ids)].decode())
            else:
                masks.append("".join([chr(flags[u - lo]) for u in seg.unit_ids]))
        return Snapshot(segments=segments, masks=tuple(masks), _shared=self._shared)

    def visiting_order(self, focal: tuple[float, float]) -> list[tuple[float, int]]:
        """(lower bound of distance² from ``focal`` to any block centre, segment index),
        nearest first. Depends on geometry only, so it is computed once per focal point."""
        key = ("order", focal)
        order = self._shared.get(key)
        if order is None:
            fx, fy = focal
            order = sorted((_box_distance2(seg, fx, fy), i) for i, seg in enumerate(self.segments))
            self._shared[key] = order
        return order

    @property
    def free_count(self) -> int:
        return sum(mask.count("1") for mask in self.masks)


@dataclass(frozen=True, slots=True)
class Block:
    """A candidate: ``unit_ids`` adjacent along one row, left to right."""

    unit_ids: tuple[int, ...]
    row_id: int
    order: tuple
    first_position: int
    distance: float  # from the block's centre to the focal point, in plan units


def _distance2(x: float, y: float, fx: float, fy: float) -> float:
    # Rounded so that mirror-image blocks tie exactly despite float sums (plan units², 1e-4).
    return round((x - fx) ** 2 + (y - fy) ** 2, 4)


def _box_distance2(seg: Segment, fx: float, fy: float) -> float:
    """No block centre of ``seg`` is nearer ``(fx, fy)`` than its bounding box."""
    dx = max(seg.min_x - fx, 0.0, fx - seg.max_x)
    dy = max(seg.min_y - fy, 0.0, fy - seg.max_y)
    return dx * dx + dy * dy


def find_blocks(
    snapshot: Snapshot, *, quantity: int, focal: tuple[float, float], limit: int = 5
) -> list[Block]:
    """The ``limit`` best blocks of ``quantity`` adjacent free seats, best first.

    A block never leaves exactly one free seat between itself and an unavailable seat or the
    end of its row segment. Ranked by distance of the block's centre to ``focal``, then row
    order, then position. An empty list means no such block exists.
    """
    if quantity < 1 or limit < 1:
        raise ValueError("quantity and limit must be positive")
    k = quantity
    fx, fy = focal
    segments, masks = snapshot.segments, snapshot.masks
    needle = "1" * k
    runs_of_k = _runs_of_at_least(k)

    best: list[tuple] = []  # sorted keys (distance², order, start, segment index)
    worst = cutoff = float("inf")
    for bound, i in snapshot.visiting_order((fx, fy)):
        if bound > cutoff:
            break
        if needle not in masks[i]:
            continue
        seg = segments[i]
        cum_x, cum_y = seg.cum_x, seg.cum_y
        for run in runs_of_k.finditer(masks[i]):
            a, b = run.span()
            last = b - k
            for s in range(a, last + 1):
                if s == a + 1 or s == last - 1:
                    continue  # would strand one free seat
                dx = (cum_x[s + k] - cum_x[s]) / k - fx
                dy = (cum_y[s + k] - cum_y[s]) / k - fy
                d2 = dx * dx + dy * dy
                if d2 > cutoff:  # the common case once ``limit`` candidates are known
                    continue
                key = (round(d2, 4), seg.order, s, i)
                if len(best) < limit:
                    bisect.insort(best, key)
                elif key < best[-1]:
                    bisect.insort(best, key)
                    best.pop()
                else:
                    continue
                if len(best) == limit:
                    worst = best[-1][0]
                    cutoff = worst + 0.001  # raw values round to at most 5e-5 away
    return [
        Block(
            unit_ids=segments[i].unit_ids[s : s + k],
            row_id=segments[i].row_id,
            order=order,
            first_position=segments[i].first_position + s,
            distance=d2**0.5,
        )
        for d2, order, s, i in best
    ]


@dataclass(frozen=True, slots=True, order=True)
class _Run:
    """Free seats ``start``..``end - 1`` of segment ``segment``."""

    segment: int
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


def _sub_block(seg: Segment, run: _Run, count: int, fx: float, fy: float) -> tuple[float, int]:
    """The ``count`` adjacent seats of ``run`` whose centre is nearest the focal point:
    (distance², start)."""
    return min(
        (
            _distance2(
                (seg.cum_x[s + count] - seg.cum_x[s]) / count,
                (seg.cum_y[s + count] - seg.cum_y[s]) / count,
                fx,
                fy,
            ),
            s,
        )
        for s in range(run.start, run.end - count + 1)
    )


def _seats_score(seg: Segment, start: int, end: int, fx: float, fy: float) -> float:
    return sum(_distance2(seg.xs[j], seg.ys[j], fx, fy) for j in range(start, end))


def _pick_in_row(
    segments: Sequence[Segment], runs: list[_Run], count: int, fx: float, fy: float
) -> tuple[float, list[int]]:
    """``count`` free seats of one row in as few adjacent groups as possible, nearest the
    focal point. ``runs`` are the row's free runs, longest first (nearest first among
    equals). Returns (mean distance² of the seats, unit ids)."""
    remaining = count
    pool = list(runs)
    chosen: list[int] = []
    total = 0.0
    while remaining:
        fitting = [r for r in pool if len(r) >= remaining]  # a prefix: pool is longest first
        if fitting:
            _, start, run = min(
                (*_sub_block(segments[r.segment], r, remaining, fx, fy), r) for r in fitting
            )
            end = start + remaining
            remaining = 0
        else:  # nothing fits: take the longest group whole
            run = pool.pop(0)
            start, end = run.start, run.end
            remaining -= len(run)
        seg = segments[run.segment]
        chosen.extend(seg.unit_ids[start:end])
        total += _seats_score(seg, start, end, fx, fy)
    return total / count, chosen


# Rows whose split choice is scored before taking the best; more only refines the choice.
SPLIT_ROWS_SCORED = 16


def find_split(
    snapshot: Snapshot, *, quantity: int, focal: tuple[float, float]
) -> list[int] | None:
    """``quantity`` free seats in as few rows as possible, for a buyer who accepts a split.

    Rows are taken greedily: when one row can seat everybody left, the best of the
    SPLIT_ROWS_SCORED nearest such rows (its chosen seats nearest the focal point on
    average); otherwise the row with the most free seats (nearest first among equals).
    Within a row the seats come in as few adjacent groups as possible (pairs before
    singles). None when fewer than ``quantity`` seats are free.
    """
    if quantity < 1:
        raise ValueError("quantity must be positive")
    if snapshot.free_count < quantity:
        return None
    fx, fy = focal
    segments, masks = snapshot.segments, snapshot.masks
    segments_of_row: dict[int, list[int]] = {}
    bound_of_row: dict[int, float] = {}
    for bound, i in snapshot.visiting_order((fx, fy)):
        row = segments[i].row_id
        segments_of_row.setdefault(row, []).append(i)
        bound_of_row.setdefault(row, bound)  # its nearest segment comes first
    free_of_row = {
        row: sum(masks[i].count("1") for i in seg_ids) for row, seg_ids in segments_of_row.items()
    }
    rows_by_bound = [row for row in segments_of_row if free_of_row[row]]  # nearest first
    runs_cache: dict[int, list[_Run]] = {}

    def runs_of(row: int) -> list[_Run]:
        """The row's free runs, longest first, nearest first among equals."""
        if row not in runs_cache:
            runs = [
                _Run(i, *m.span())
                for i in segments_of_row[row]
                for m in _FREE_RUN.finditer(masks[i])
            ]
            runs.sort(key=lambda r: (-len(r), _sub_block(segments[r.segment], r, len(r), fx, fy)))
            runs_cache[row] = runs
        return runs_cache[row]

    chosen: list[int] = []
    remaining = quantity
    used: set[int] = set()
    while remaining:
        best = None
        scored = 0
        for row in rows_by_bound:
            if row in used or free_of_row[row] < remaining:
                continue
            if best is not None and (
                scored >= SPLIT_ROWS_SCORED or bound_of_row[row] > best[0] + 0.001
            ):
                break  # a mean of seat distances is never below the row's bound
            score, ids = _pick_in_row(segments, runs_of(row), remaining, fx, fy)
            scored += 1
            if best is None or (score, segments[segments_of_row[row][0]].order) < best[:2]:
                best = (score, segments[segments_of_row[row][0]].order, ids)
        if best is not None:
            chosen.extend(best[2])
            break
        position = {row: n for n, row in enumerate(rows_by_bound)}
        row = min(
            (r for r in rows_by_bound if r not in used),
            key=lambda r: (-free_of_row[r], position[r]),
        )
        used.add(row)
        chosen.extend(
            u for r in runs_of(row) for u in segments[r.segment].unit_ids[r.start : r.end]
        )
        remaining -= free_of_row[row]
    return chosen


def find_alternatives(
    snapshot: Snapshot,
    *,
    quantity: int,
    lost: Sequence[tuple[float, float]],
    limit: int = 3,
) -> list[Block]:
    """After a buyer lost seats to someone else: the ``limit`` best blocks of ``quantity``
    adjacent free seats nearest the lost seats (the centre of their coordinates ``lost``),
    best first, with the same no-stranded-seat rule as ``find_blocks``.

    ``snapshot`` is the buyer's scope (the lost seats' zone) as it is now; the lost seats
    are not free in it. An empty list means no block of that size is left.
    """
    if not lost:
        raise ValueError("at least one lost seat is needed")
    cx = sum(x for x, _y in lost) / len(lost)
    cy = sum(y for _x, y in lost) / len(lost)
    return find_blocks(snapshot, quantity=quantity, focal=(cx, cy), limit=limit)
