"""Layout generator: realistic stadiums, arenas and theatres for demos, tests and benchmarks.

``plan_layout`` computes a layout in memory (pure Python, no database); ``generate_layout``
writes one with three bulk inserts (sections, rows, seats).

Geometry, all in plan units with y pointing down (screen coordinates):

* stadium and arena: rows run along rounded rectangles around the pitch or floor (an oval
  bowl). Each ring is the inner bowl edge offset outwards by the row's distance, so the rows
  of one tier are parallel and get longer further back. Sections split every ring into equal
  arc-length slices, numbered clockwise from the middle of the top stand.
* theatre: the stage sits at the top; rows are gently curved (their ends come a little
  towards the stage), fan out with the distance and are split by aisles into sections. Tiers
  are stalls, circle and balcony, drawn one behind the other.

Seats are numbered 1..n along each row with consecutive ``position`` values, so adjacent
seats have consecutive positions; the first and last seat of every row is an aisle seat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from tessera.core import audit
from tessera.core.clock import now as clock_now
from tessera.core.errors import InvalidInput
from tessera.venues.bulk import (
    PlannedLayout,
    PlannedRow,
    PlannedSeat,
    PlannedSection,
    write_sections,
)
from tessera.venues.models import Layout, SectionKind, Venue

KINDS = ("stadium", "arena", "theatre")
MAX_PLACES = 200_000
MARGIN = 20.0  # plan units kept free along the plan's edges
TERRACE_SLOTS = 3  # a stadium terrace is as wide as three blocks
TERRACE_ROWS = 4  # depth of a theatre standing area, in rows

PerTier = int | tuple[int, ...]


class LayoutSpecInvalid(InvalidInput):
    code = "layout_spec_invalid"
    default_message = _("The layout specification is not valid.")


def _between(low: int, high: int) -> str:
    return _g("must be between %(low)d and %(high)d") % {"low": low, "high": high}


def _per_tier(tiers: int) -> str:
    return _g("needs one value per tier (%(n)d)") % {"n": tiers}


@dataclass(frozen=True)
class LayoutSpec:
    """What to generate. Per-tier parameters take one value for all tiers or a tuple with
    one value per tier (lowest tier first).

    ``seats_growth`` adds seats to rows further back: row r (0-based) of a tier has
    ``seats_per_row + floor(r * seats_growth)`` seats, as in a bowl whose rings get longer.
    ``width``/``height`` of 0 and a focal point of ``None`` take the kind's defaults: the
    plan's centre for a bowl, the front of the stage for a theatre.
    """

    kind: str = "stadium"
    tiers: int = 2
    sections_per_tier: PerTier = 40
    rows: PerTier = 25
    seats_per_row: PerTier = 30
    seats_growth: float | tuple[float, ...] = 0.0
    terraces: int = 0
    terrace_capacity: int = 0
    accessible_every: int = 5  # first row of every n-th block of the lowest tier; 0 = none
    restricted_every: int = 4  # pillar seats in every n-th block of the top tier; 0 = none
    width: int = 0
    height: int = 0
    focal_x: float | None = None
    focal_y: float | None = None

    # -- presets -------------------------------------------------------------------
    @classmethod
    def stadium_60k(cls) -> LayoutSpec:
        """A two-tier football stadium: 84 blocks and a 1,808-place terrace, 60,000 places."""
        return cls(
            kind="stadium",
            tiers=2,
            sections_per_tier=(40, 44),
            rows=(26, 24),
            seats_per_row=(20, 24),
            seats_growth=0.5,
            terraces=1,
            terrace_capacity=1808,
            width=1800,
            height=1400,
        )

    @classmethod
    def compact_stadium(cls) -> LayoutSpec:
        """A smaller two-tier football ground: 56 blocks and a 2,848-place terrace,
        20,000 places."""
        return cls(
            kind="stadium",
            tiers=2,
            sections_per_tier=(24, 32),
            rows=(18, 14),
            seats_per_row=(16, 16),
            seats_growth=0.5,
            terraces=1,
            terrace_capacity=2848,
            width=1500,
            height=1150,
        )

    @classmethod
    def arena_15k(cls) -> LayoutSpec:
        """A two-tier indoor arena around a floor: 52 blocks, 15,088 seats."""
        return cls(
            kind="arena",
            tiers=2,
            sections_per_tier=(24, 28),
            rows=(16, 13),
            seats_per_row=(18, 16),
            seats_growth=0.5,
            width=1400,
            height=1100,
        )

    @classmethod
    def theatre_2k(cls) -> LayoutSpec:
        """A theatre with stalls, circle and balcony: 11 blocks, 2,002 seats."""
        return cls(
            kind="theatre",
            tiers=3,
            sections_per_tier=(4, 4, 3),
            rows=(22, 8, 4),
            seats_per_row=(12, 16, 15),
            seats_growth=(0.25, 0.5, 0.5),
            accessible_every=2,
            restricted_every=2,
            width=1000,
            height=900,
        )

    PRESETS = ("stadium_60k", "compact_stadium", "arena_15k", "theatre_2k")

    @classmethod
    def preset(cls, name: str) -> LayoutSpec:
        if name not in cls.PRESETS:
            raise LayoutSpecInvalid(
                details={"preset": _g("unknown preset: %(name)s") % {"name": name}}
            )
        return getattr(cls, name)()

    # -- per-tier access -------------------------------------------------------------
    def per_tier(self, name: str, tier_index: int):
        value = getattr(self, name)
        return value[tier_index] if isinstance(value, tuple) else value

    def seats_in_row(self, tier_index: int, row_index: int) -> int:
        return self.per_tier("seats_per_row", tier_index) + math.floor(
            row_index * self.per_tier("seats_growth", tier_index)
        )

    @property
    def seat_count(self) -> int:
        total = 0
        for t in range(self.tiers):
            per_section = sum(self.seats_in_row(t, r) for r in range(self.per_tier("rows", t)))
            total += per_section * self.per_tier("sections_per_tier", t)
        return total

    @property
    def standing_capacity(self) -> int:
        return self.terraces * self.terrace_capacity

    @property
    def plan_width(self) -> int:
        return self.width or {"stadium": 1800, "arena": 1400, "theatre": 1000}[self.kind]

    @property
    def plan_height(self) -> int:
        return self.height or {"stadium": 1400, "arena": 1100, "theatre": 900}[self.kind]

    def validate(self) -> None:
        """Raise LayoutSpecInvalid naming every bad field."""
        errors: dict[str, str] = {}
        if self.kind not in KINDS:
            errors["kind"] = _g("must be one of %(kinds)s") % {"kinds": ", ".join(KINDS)}
            raise LayoutSpecInvalid(details=errors)
        if not isinstance(self.tiers, int) or not 1 <= self.tiers <= 9:
            errors["tiers"] = _between(1, 9)
            raise LayoutSpecInvalid(details=errors)
        limits = {"sections_per_tier": (1, 99), "rows": (1, 300), "seats_per_row": (1, 500)}
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if isinstance(value, tuple) and len(value) != self.tiers:
                errors[name] = _per_tier(self.tiers)
                continue
            for v in value if isinstance(value, tuple) else (value,):
                if not isinstance(v, int) or not low <= v <= high:
                    errors[name] = _between(low, high)
        growth = self.seats_growth
        if isinstance(growth, tuple) and len(growth) != self.tiers:
            errors["seats_growth"] = _per_tier(self.tiers)
        elif any(g < 0 or g > 10 for g in (growth if isinstance(growth, tuple) else (growth,))):
            errors["seats_growth"] = _between(0, 10)
        if not 0 <= self.terraces <= 9:
            errors["terraces"] = _between(0, 9)
        if self.terraces and self.terrace_capacity < 1:
            errors["terrace_capacity"] = _g("must be at least 1 when there are terraces")
        if self.accessible_every < 0:
            errors["accessible_every"] = _g("must not be negative")
        if self.restricted_every < 0:
            errors["restricted_every"] = _g("must not be negative")
        for name in ("width", "height"):
            if getattr(self, name) and not 300 <= getattr(self, name) <= 100_000:
                errors[name] = _between(300, 100_000)
        if errors:
            raise LayoutSpecInvalid(details=errors)
        fx, fy = _focal_point(self)
        if not (0 < fx < self.plan_width and 0 < fy < self.plan_height):
            raise LayoutSpecInvalid(details={"focal_point": _g("must lie inside the plan")})
        if self.seat_count + self.standing_capacity > MAX_PLACES:
            raise LayoutSpecInvalid(
                details={"places": _g("more than %(n)d places") % {"n": MAX_PLACES}}
            )


def _r(value: float) -> float:
    """Plan coordinates keep one decimal: enough to draw, short to send."""
    return round(value, 1)


def _focal_point(spec: LayoutSpec) -> tuple[float, float]:
    w, h = spec.plan_width, spec.plan_height
    default_y = h / 2 if spec.kind != "theatre" else MARGIN + 0.12 * h
    return (
        spec.focal_x if spec.focal_x is not None else w / 2,
        spec.focal_y if spec.focal_y is not None else default_y,
    )


def row_label(kind: str, index: int) -> str:
    """Row labels: 1, 2, 3… in bowls; A…Z, AA, AB… in a theatre (index is 0-based)."""
    if kind != "theatre":
        return str(index + 1)
    label = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        label = chr(ord("A") + rem) + label
    return label


def _block(code: str) -> tuple[str, str]:
    return f"{code}区", f"Block {code}"


_TERRACE_NAMES = {
    "stadium": ("站立看台", "Standing terrace"),
    "arena": ("内场站票", "Floor standing"),
    "theatre": ("站票区", "Standing area"),
}


def _terrace(spec: LayoutSpec, index: int, outline, label_x, label_y) -> PlannedSection:
    zh, en = _TERRACE_NAMES[spec.kind]
    suffix = f" {index + 1}" if spec.terraces > 1 else ""
    return PlannedSection(
        code=f"T{index + 1}",
        name=f"{zh}{suffix.strip()}",
        name_en=f"{en}{suffix}",
        kind=SectionKind.STANDING,
        tier=1,
        outline=outline,
        label_x=_r(label_x),
        label_y=_r(label_y),
        capacity=spec.terrace_capacity,
    )


def _flag_rows(spec: LayoutSpec, tier_index: int, block_index: int) -> tuple[bool, bool]:
    """(first row accessible, pillar seats restricted) for one block."""
    accessible = (
        tier_index == 0 and spec.accessible_every > 0 and block_index % spec.accessible_every == 0
    )
    restricted = (
        tier_index == spec.tiers - 1
        and spec.restricted_every > 0
        and block_index % spec.restricted_every == spec.restricted_every // 2
    )
    return accessible, restricted


def _row_seats(
    coords: list[tuple[float, float]], *, accessible: bool, pillar_rows: bool
) -> list[PlannedSeat]:
    n = len(coords)
    # A pillar in front of the middle of the block hides the two seats behind it.
    hidden = {n // 2, n // 2 + 1} if pillar_rows and n >= 2 else set()
    return [
        PlannedSeat(str(i), i, _r(x), _r(y), accessible, i in hidden, i in (1, n))
        for i, (x, y) in enumerate(coords, start=1)
    ]


# --- bowls ----------------------------------------------------------------------------


class _Ring:
    """A rounded rectangle centred on (cx, cy): straight sides plus quarter circles.

    ``point(s)`` walks it clockwise (y down) from the middle of the top side by arc
    length ``s``.
    """

    def __init__(self, cx: float, cy: float, half_w: float, half_h: float, radius: float):
        self.cx, self.cy, self.a, self.b, self.r = cx, cy, half_w, half_h, radius
        sx, sy = half_w - radius, half_h - radius  # half lengths of the straight parts
        q = math.pi * radius / 2
        # (length, kind, data): lines carry a start point and a direction, arcs a centre and
        # a start angle.
        self.segments = [
            (sx, "line", (cx, cy - half_h, 1, 0)),
            (q, "arc", (cx + sx, cy - sy, -math.pi / 2)),
            (2 * sy, "line", (cx + half_w, cy - sy, 0, 1)),
            (q, "arc", (cx + sx, cy + sy, 0.0)),
            (2 * sx, "line", (cx + sx, cy + half_h, -1, 0)),
            (q, "arc", (cx - sx, cy + sy, math.pi / 2)),
            (2 * sy, "line", (cx - half_w, cy + sy, 0, -1)),
            (q, "arc", (cx - sx, cy - sy, math.pi)),
            (sx, "line", (cx - sx, cy - half_h, 1, 0)),
        ]
        self.perimeter = sum(s[0] for s in self.segments)

    def point(self, s: float) -> tuple[float, float]:
        s %= self.perimeter
        for length, kind, data in self.segments:
            if s <= length:
                if kind == "line":
                    x0, y0, dx, dy = data
                    return x0 + dx * s, y0 + dy * s
                ccx, ccy, start = data
                angle = start + (s / self.r if self.r else 0.0)
                return ccx + self.r * math.cos(angle), ccy + self.r * math.sin(angle)
            s -= length
        return self.cx, self.cy - self.b  # s rounded past the end: back at the start


def _bowl(spec: LayoutSpec) -> PlannedLayout:
    w, h = spec.plan_width, spec.plan_height
    cx, cy = _focal_point(spec)
    avail_x = min(cx, w - cx) - MARGIN
    avail_y = min(cy, h - cy) - MARGIN
    is_stadium = spec.kind == "stadium"
    # The stands take this share of the shorter half-extent; the pitch or floor the rest.
    depth = (0.55 if is_stadium else 0.6) * min(avail_x, avail_y)
    inner_a, inner_b = avail_x - depth, avail_y - depth
    corner = (0.12 if is_stadium else 0.55) * min(inner_a, inner_b)

    total_rows = sum(spec.per_tier("rows", t) for t in range(spec.tiers))
    row_depth = depth / (total_rows + 1.5 * (spec.tiers - 1) + 1)

    shapes, sections = [], []
    if is_stadium:
        # A 105 m x 68 m pitch inside the bowl's inner edge, with run-off around it.
        half_w = min(inner_a * 0.88, inner_b * 0.88 * 105 / 68)
        half_h = half_w * 68 / 105
        shape = {"kind": "pitch", "label": "球场", "label_en": "Pitch"}
        focal_label = "球场"
    else:
        half_w, half_h = inner_a * 0.85, inner_b * 0.85
        shape = {"kind": "floor", "label": "内场", "label_en": "Floor"}
        focal_label = "内场"
    shape["points"] = [
        [_r(cx - half_w), _r(cy - half_h)],
        [_r(cx + half_w), _r(cy - half_h)],
        [_r(cx + half_w), _r(cy + half_h)],
        [_r(cx - half_w), _r(cy + half_h)],
    ]
    shapes.append(shape)

    if spec.kind == "arena" and spec.terraces:
        # General admission on the floor, split front to back into equal strips.
        strip = 2 * half_w / spec.terraces
        for i in range(spec.terraces):
            x0, x1 = cx - half_w + i * strip, cx - half_w + (i + 1) * strip
            outline = [
                [_r(x0), _r(cy - half_h)],
                [_r(x1), _r(cy - half_h)],
                [_r(x1), _r(cy + half_h)],
                [_r(x0), _r(cy + half_h)],
            ]
            sections.append(_terrace(spec, i, outline, (x0 + x1) / 2, cy))

    row_offset = row_depth  # distance of the current row's centre line from the inner edge
    for t in range(spec.tiers):
        n_rows = spec.per_tier("rows", t)
        n_blocks = spec.per_tier("sections_per_tier", t)
        offsets = [row_offset + i * row_depth for i in range(n_rows)]
        rings = [_Ring(cx, cy, inner_a + d, inner_b + d, corner + d) for d in offsets]
        # The outline's sides follow the rows' ends, sampled at a few depths: a fixed
        # fraction of the ring moves along the corners as the rings grow, so a block's side
        # edges are gently curved, not straight.
        d_in, d_out = offsets[0] - row_depth / 2, offsets[-1] + row_depth / 2
        side_depths = [
            d_in + (d_out - d_in) * k / max(2, math.ceil(n_rows / 4))
            for k in range(max(2, math.ceil(n_rows / 4)) + 1)
        ]
        side_rings = [_Ring(cx, cy, inner_a + d, inner_b + d, corner + d) for d in side_depths]
        mid_ring = rings[n_rows // 2]

        # Slots around the ring; on the lowest tier of a stadium terraces take a few slots
        # behind the left goal (three quarters of the way round from the top middle).
        terrace_slots = TERRACE_SLOTS * spec.terraces if (is_stadium and t == 0) else 0
        n_slots = n_blocks + terrace_slots
        first_terrace_slot = round(n_slots * 3 / 4 - terrace_slots / 2)
        terrace_range = range(first_terrace_slot, first_terrace_slot + terrace_slots)

        def fraction_outline(
            f0: float, f1: float, inset: float, side_rings=side_rings
        ) -> list[list[float]]:
            steps = max(6, math.ceil((f1 - f0) * 120))  # finer for wide blocks
            inner, outer = side_rings[0], side_rings[-1]
            front = [
                inner.point(
                    (f0 + (f1 - f0) * k / steps) * inner.perimeter
                    + (inset if k == 0 else -inset if k == steps else 0)
                )
                for k in range(steps + 1)
            ]
            right = [ring.point(f1 * ring.perimeter - inset) for ring in side_rings[1:-1]]
            back = [
                outer.point(
                    (f0 + (f1 - f0) * k / steps) * outer.perimeter
                    + (inset if k == 0 else -inset if k == steps else 0)
                )
                for k in range(steps, -1, -1)
            ]
            left = [ring.point(f0 * ring.perimeter + inset) for ring in side_rings[-2:0:-1]]
            return [[_r(x), _r(y)] for x, y in front + right + back + left]

        block = 0
        for slot in range(n_slots):
            f0, f1 = slot / n_slots, (slot + 1) / n_slots
            if slot in terrace_range:
                if (slot - first_terrace_slot) % TERRACE_SLOTS == 0:
                    i = (slot - first_terrace_slot) // TERRACE_SLOTS
                    g1 = (slot + TERRACE_SLOTS) / n_slots
                    lx, ly = mid_ring.point((f0 + g1) / 2 * mid_ring.perimeter)
                    sections.append(
                        _terrace(spec, i, fraction_outline(f0, g1, row_depth * 0.3), lx, ly)
                    )
                continue
            code = f"{t + 1}{block + 1:02d}"
            zh, en = _block(code)
            accessible, restricted = _flag_rows(spec, t, block)
            lx, ly = mid_ring.point((f0 + f1) / 2 * mid_ring.perimeter)
            section = PlannedSection(
                code=code,
                name=zh,
                name_en=en,
                kind=SectionKind.SEATED,
                tier=t + 1,
                outline=fraction_outline(f0, f1, row_depth * 0.3),
                label_x=_r(lx),
                label_y=_r(ly),
            )
            for r, ring in enumerate(rings):
                n = spec.seats_in_row(t, r)
                start, end = f0 * ring.perimeter, f1 * ring.perimeter
                aisle = min(row_depth * 0.5, (end - start) * 0.1)
                step = (end - start - 2 * aisle) / n
                coords = [ring.point(start + aisle + (i + 0.5) * step) for i in range(n)]
                section.rows.append(
                    PlannedRow(
                        label=row_label(spec.kind, r),
                        seats=_row_seats(
                            coords,
                            accessible=accessible and r == 0,
                            pillar_rows=restricted and r >= n_rows - 2,
                        ),
                    )
                )
            sections.append(section)
            block += 1
        row_offset = offsets[-1] + 2.5 * row_depth  # one row plus a 1.5-row concourse

    return PlannedLayout(
        width=w,
        height=h,
        focal_x=_r(cx),
        focal_y=_r(cy),
        focal_label=focal_label,
        shapes=shapes,
        sections=sections,
    )


# --- theatre --------------------------------------------------------------------------


def _theatre(spec: LayoutSpec) -> PlannedLayout:
    w, h = spec.plan_width, spec.plan_height
    fx, fy = _focal_point(spec)
    half_avail = min(fx, w - fx) - MARGIN
    stage_half_w = 0.45 * half_avail
    stage_depth = 0.12 * h
    stage_top, stage_bottom = fy - 0.8 * stage_depth, fy + 0.2 * stage_depth
    shapes = [
        {
            "kind": "stage",
            "label": "舞台",
            "label_en": "Stage",
            "points": [
                [_r(fx - stage_half_w), _r(stage_top)],
                [_r(fx + stage_half_w), _r(stage_top)],
                [_r(fx + stage_half_w), _r(stage_bottom)],
                [_r(fx - stage_half_w), _r(stage_bottom)],
            ],
        }
    ]

    total_rows = sum(spec.per_tier("rows", t) for t in range(spec.tiers))
    units = total_rows + 2.0 * (spec.tiers - 1) + 3  # rows, cross-aisles, orchestra pit
    if spec.terraces:
        units += TERRACE_ROWS + 1
    row_depth = (h - MARGIN - stage_bottom) / units
    sag = 1.2 * row_depth  # how far the ends of a row come towards the stage
    first_y = stage_bottom + 3 * row_depth
    last_y = first_y + (units - 3.5) * row_depth
    front_half, back_half = stage_half_w * 1.15, half_avail - sag

    def half_width(y: float) -> float:
        share = (y - first_y) / max(last_y - first_y, 1.0)
        return front_half + (back_half - front_half) * min(max(share, 0.0), 1.0)

    def curve(x: float, y: float) -> float:
        return y - sag * ((x - fx) / back_half) ** 2

    def band_outline(x_edges, y0: float, y1: float) -> list[list[float]]:
        """A block between depths y0 and y1 whose side edges follow x_edges(y)."""
        steps = 6
        (a0, b0), (a1, b1) = x_edges(y0), x_edges(y1)
        front = [(a0 + (b0 - a0) * k / steps) for k in range(steps + 1)]
        back = [(a1 + (b1 - a1) * k / steps) for k in range(steps, -1, -1)]
        return [[_r(x), _r(curve(x, y0))] for x in front] + [
            [_r(x), _r(curve(x, y1))] for x in back
        ]

    sections = []
    y = first_y
    for t in range(spec.tiers):
        n_rows = spec.per_tier("rows", t)
        n_blocks = spec.per_tier("sections_per_tier", t)
        ys = [y + i * row_depth for i in range(n_rows)]
        aisle = 0.6 * row_depth

        for b in range(n_blocks):

            def edges(yy: float, b=b, n_blocks=n_blocks, aisle=aisle) -> tuple[float, float]:
                hw = half_width(yy)
                slice_w = 2 * hw / n_blocks
                return fx - hw + b * slice_w + aisle, fx - hw + (b + 1) * slice_w - aisle

            code = f"{t + 1}{b + 1:02d}"
            zh, en = _block(code)
            accessible, restricted = _flag_rows(spec, t, b)
            mid = ys[n_rows // 2]
            lx = sum(edges(mid)) / 2
            section = PlannedSection(
                code=code,
                name=zh,
                name_en=en,
                kind=SectionKind.SEATED,
                tier=t + 1,
                outline=band_outline(edges, ys[0] - row_depth / 2, ys[-1] + row_depth / 2),
                label_x=_r(lx),
                label_y=_r(curve(lx, mid)),
            )
            for r, row_y in enumerate(ys):
                n = spec.seats_in_row(t, r)
                x0, x1 = edges(row_y)
                step = (x1 - x0) / n
                coords = []
                for i in range(n):
                    x = x0 + (i + 0.5) * step
                    coords.append((x, curve(x, row_y)))
                section.rows.append(
                    PlannedRow(
                        label=row_label(spec.kind, r),
                        seats=_row_seats(
                            coords,
                            accessible=accessible and r == 0,
                            pillar_rows=restricted and r >= n_rows - 2,
                        ),
                    )
                )
            sections.append(section)
        y = ys[-1] + 3.0 * row_depth  # one row plus a two-row cross-aisle

    if spec.terraces:
        y0, y1 = y - row_depth / 2, y + (TERRACE_ROWS - 0.5) * row_depth
        for i in range(spec.terraces):

            def edges(yy: float, i=i) -> tuple[float, float]:
                hw = half_width(yy)
                slice_w = 2 * hw / spec.terraces
                return fx - hw + i * slice_w + row_depth, fx - hw + (i + 1) * slice_w - row_depth

            lx = sum(edges((y0 + y1) / 2)) / 2
            sections.append(
                _terrace(spec, i, band_outline(edges, y0, y1), lx, curve(lx, (y0 + y1) / 2))
            )

    return PlannedLayout(
        width=w,
        height=h,
        focal_x=_r(fx),
        focal_y=_r(fy),
        focal_label="舞台",
        shapes=shapes,
        sections=sections,
    )


def _assign_categories(plan: PlannedLayout) -> None:
    """Category hints for price zones: the nearest third of the blocks (by their label's
    distance to the focal point) are "A", the next third "B", the rest "C"."""
    seated = [s for s in plan.sections if s.kind == SectionKind.SEATED]
    seated.sort(
        key=lambda s: (math.hypot(s.label_x - plan.focal_x, s.label_y - plan.focal_y), s.code)
    )
    for i, section in enumerate(seated):
        section.category = "ABC"[min(2, 3 * i // max(len(seated), 1))]


def plan_layout(spec: LayoutSpec) -> PlannedLayout:
    """The layout ``spec`` describes, in memory. Raises LayoutSpecInvalid."""
    spec.validate()
    plan = _theatre(spec) if spec.kind == "theatre" else _bowl(spec)
    _assign_categories(plan)
    return plan


_DEFAULT_NAMES = {
    "stadium": ("足球场", "Football"),
    "arena": ("标准场", "Arena"),
    "theatre": ("剧场", "Theatre"),
}


def generate_layout(
    *, venue: Venue, spec: LayoutSpec, name: str = "", name_en: str = "", actor=None
) -> Layout:
    """Create a layout of ``venue`` with the sections, rows and seats ``spec`` describes.

    Everything is written in one transaction with bulk inserts. Raises LayoutSpecInvalid
    (nothing written) when the spec is not valid.
    """
    plan = plan_layout(spec)
    default_zh, default_en = _DEFAULT_NAMES[spec.kind]
    with transaction.atomic():
        layout = Layout.objects.create(
            venue=venue,
            name=name or default_zh,
            name_en=name_en or default_en,
            width=plan.width,
            height=plan.height,
            focal_x=plan.focal_x,
            focal_y=plan.focal_y,
            focal_label=plan.focal_label,
            shapes=plan.shapes,
        )
        write_sections(layout=layout, sections=plan.sections)
        audit.record(
            action="layout.generated",
            obj=layout,
            actor=actor,
            organization_id=venue.organization_id,
            now=clock_now(),
            data={"kind": spec.kind, "seats": plan.seat_count, "standing": spec.standing_capacity},
        )
    return layout
