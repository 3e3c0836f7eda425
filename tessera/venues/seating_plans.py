"""Seating plans as JSON: Tessera's own format and the open pretix plan format.

``parse_plan`` validates a plan (either format) completely before anything is written and
returns a ``PlannedLayout``; ``export_native`` / ``export_pretix`` read a stored layout back
into a plan. docs/seating-format.md describes both formats and how they map.

Validation collects up to ``MAX_ERRORS`` errors, each naming the exact place in the file
(``sections[3].rows[2].seats[7].x``), and raises ``SeatingPlanInvalid`` with all of them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from tessera.core.errors import InvalidInput
from tessera.venues.bulk import PlannedLayout, PlannedRow, PlannedSeat, PlannedSection
from tessera.venues.models import Layout, Row, Seat, Section, SectionKind

NATIVE_FORMAT = "tessera.seating/1"
FORMATS = ("tessera", "pretix")
MAX_ERRORS = 20
MAX_SEATS = 200_000
MAX_PLAN_SIZE = 100_000  # plan width and height, in plan units
MAX_COORDINATE = 1_000_000.0
MAX_OUTLINE_POINTS = 10_000
DECIMALS = 3  # pretix positions nest; sums are rounded to this many decimals

CATEGORY_COLORS = (
    "#d1495b",
    "#edae49",
    "#00798c",
    "#30638e",
    "#66a182",
    "#8d6a9f",
    "#e07a5f",
    "#3d405b",
    "#81b29a",
    "#f2cc8f",
)


class SeatingPlanInvalid(InvalidInput):
    code = "seating_plan_invalid"
    default_message = _("The seating plan is not valid.")


class _TooManyErrors(Exception):
    pass


class _Checker:
    """Collects errors as (path, message) and offers typed reads that report them."""

    def __init__(self):
        self.errors: list[tuple[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))
        if len(self.errors) >= MAX_ERRORS:
            raise _TooManyErrors

    def raise_if_any(self) -> None:
        if self.errors:
            raise _invalid(self.errors)

    # -- typed reads: return the value, or None after recording an error -------------------
    def obj(self, value, path: str, *, required: bool = True) -> dict | None:
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            self.error(path, _g("must be an object") if value is not None else _g("is required"))
            return None
        return value

    def array(self, value, path: str, *, required: bool = True) -> list | None:
        if value is None and not required:
            return []
        if not isinstance(value, list):
            self.error(path, _g("must be a list") if value is not None else _g("is required"))
            return None
        return value

    def text(
        self, value, path: str, *, max_length: int, required: bool = True, allow_int: bool = False
    ) -> str | None:
        if value is None:
            if required:
                self.error(path, _g("is required"))
                return None
            return ""
        if allow_int and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.error(path, _g("must be a string"))
            return None
        value = value.strip()
        if required and not value:
            self.error(path, _g("must not be empty"))
            return None
        if len(value) > max_length:
            self.error(path, _g("must be at most %(n)d characters long") % {"n": max_length})
            return None
        return value

    def number(
        self, value, path: str, *, required: bool = True, default: float = 0.0
    ) -> float | None:
        if value is None and not required:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(path, _g("must be a number") if value is not None else _g("is required"))
            return None
        if not math.isfinite(value) or abs(value) > MAX_COORDINATE:
            self.error(
                path,
                _g("must be a finite number between -%(max)d and %(max)d")
                % {"max": int(MAX_COORDINATE)},
            )
            return None
        return value

    def integer(
        self, value, path: str, *, low: int, high: int, required: bool = True, default: int = 0
    ) -> int | None:
        if value is None and not required:
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(
                path, _g("must be a whole number") if value is not None else _g("is required")
            )
            return None
        if not low <= value <= high:
            self.error(
                path, _g("must be between %(low)d and %(high)d") % {"low": low, "high": high}
            )
            return None
        return value

    def boolean(self, value, path: str) -> bool | None:
        if value is None:
            return False
        if not isinstance(value, bool):
            self.error(path, _g("must be true or false"))
            return None
        return value

    def point(self, value, path: str) -> tuple[float, float] | None:
        """A point written [x, y]."""
        if not isinstance(value, list | tuple) or len(value) != 2:
            self.error(path, _g("must be a point [x, y]"))
            return None
        x = self.number(value[0], f"{path}[0]")
        y = self.number(value[1], f"{path}[1]")
        return None if x is None or y is None else (x, y)

    def xy(self, value, path: str, *, required: bool = True) -> tuple[float, float] | None:
        """A point written {"x": .., "y": ..}."""
        if value is None and not required:
            return (0.0, 0.0)
        value = self.obj(value, path)
        if value is None:
            return None
        x = self.number(value.get("x"), f"{path}.x")
        y = self.number(value.get("y"), f"{path}.y")
        return None if x is None or y is None else (x, y)


def _invalid(errors: list[tuple[str, str]]) -> SeatingPlanInvalid:
    first = f"{errors[0][0]}: {errors[0][1]}"
    if len(errors) == 1:
        message = _g("The seating plan is not valid: %(error)s") % {"error": first}
    else:
        message = _g("The seating plan is not valid: %(error)s (and %(more)d more errors)") % {
            "error": first,
            "more": len(errors) - 1,
        }
    return SeatingPlanInvalid(
        message, details={"errors": [{"path": path, "message": msg} for path, msg in errors]}
    )


def load_json(raw: str | bytes) -> Any:
    """Parse JSON text; bad JSON raises SeatingPlanInvalid naming line and column."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise _invalid([("$", _g("the file is not UTF-8 text"))]) from None
    except json.JSONDecodeError as exc:
        raise _invalid(
            [
                (
                    "$",
                    _g("not valid JSON (line %(line)d, column %(col)d): %(msg)s")
                    % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg},
                )
            ]
        ) from None


def detect_format(data: Any) -> str:
    if isinstance(data, dict):
        if data.get("format") == NATIVE_FORMAT:
            return "tessera"
        if "format" in data:
            raise _invalid(
                [
                    (
                        "format",
                        _g('unknown format; expected "%(format)s"') % {"format": NATIVE_FORMAT},
                    )
                ]
            )
        if "zones" in data:
            return "pretix"
    raise _invalid([("$", _g('neither a Tessera plan ("format") nor a pretix plan ("zones")'))])


def parse_plan(data: Any) -> tuple[str, PlannedLayout]:
    """Validate a plan (parsed JSON) of either format. Returns (format, planned layout).

    Raises SeatingPlanInvalid listing up to MAX_ERRORS problems.
    """
    fmt = detect_format(data)
    checker = _Checker()
    try:
        plan = _parse_native(data, checker) if fmt == "tessera" else _parse_pretix(data, checker)
    except _TooManyErrors:
        plan = None
    checker.raise_if_any()
    return fmt, plan


def _count_seats(rows_of_sections) -> int:
    total = 0
    for rows in rows_of_sections:
        if isinstance(rows, list):
            for row in rows:
                if isinstance(row, dict) and isinstance(row.get("seats"), list):
                    total += len(row["seats"])
    return total


# --- the Tessera format ---------------------------------------------------------------


def _parse_native(data: dict, c: _Checker) -> PlannedLayout | None:
    name = c.text(data.get("name"), "name", max_length=120)
    name_en = c.text(data.get("name_en"), "name_en", max_length=120, required=False)
    size = c.obj(data.get("size"), "size")
    width = height = None
    if size is not None:
        width = c.integer(size.get("width"), "size.width", low=1, high=MAX_PLAN_SIZE)
        height = c.integer(size.get("height"), "size.height", low=1, high=MAX_PLAN_SIZE)
    focal = c.obj(data.get("focal_point"), "focal_point", required=False)
    focal_x = focal_y = None
    focal_label = ""
    if focal is not None:
        focal_x = c.number(focal.get("x"), "focal_point.x")
        focal_y = c.number(focal.get("y"), "focal_point.y")
        focal_label = c.text(focal.get("label"), "focal_point.label", max_length=40, required=False)
    shapes = _native_shapes(data.get("shapes"), c)
    raw_sections = c.array(data.get("sections"), "sections")
    if raw_sections is None:
        return None
    if not raw_sections:
        c.error("sections", _g("must contain at least one section"))
        return None
    seat_total = _count_seats(s.get("rows") for s in raw_sections if isinstance(s, dict))
    if seat_total > MAX_SEATS:
        c.error(
            "sections",
            _g("%(n)d seats; a plan may have at most %(max)d")
            % {"n": seat_total, "max": MAX_SEATS},
        )
        return None

    sections: list[PlannedSection] = []
    codes: dict[str, int] = {}
    guids: dict[str, str] = {}
    places = 0
    for i, raw in enumerate(raw_sections):
        path = f"sections[{i}]"
        raw = c.obj(raw, path)
        if raw is None:
            continue
        code = c.text(raw.get("code"), f"{path}.code", max_length=20)
        if code is not None:
            if code in codes:
                c.error(
                    f"{path}.code",
                    _g('duplicate section code "%(code)s" (also in sections[%(other)d])')
                    % {"code": code, "other": codes[code]},
                )
            codes.setdefault(code, i)
        sec_name = c.text(raw.get("name"), f"{path}.name", max_length=80)
        sec_name_en = c.text(raw.get("name_en"), f"{path}.name_en", max_length=80, required=False)
        kind = raw.get("kind", SectionKind.SEATED)
        if kind not in SectionKind.values:
            c.error(f"{path}.kind", _g('must be "seated" or "standing"'))
            kind = None
        tier = c.integer(raw.get("tier"), f"{path}.tier", low=1, high=99, required=False, default=1)
        capacity = c.integer(
            raw.get("capacity"), f"{path}.capacity", low=0, high=MAX_SEATS, required=False
        )
        outline = _outline(raw.get("outline"), f"{path}.outline", c)
        label = c.xy(raw.get("label"), f"{path}.label", required=False)
        rows = c.array(raw.get("rows"), f"{path}.rows", required=False)
        if kind == SectionKind.STANDING:
            if capacity is not None and capacity < 1:
                c.error(f"{path}.capacity", _g("a standing section needs a capacity of at least 1"))
            if rows:
                c.error(f"{path}.rows", _g("a standing section has no rows"))
            places += capacity or 0
        elif kind == SectionKind.SEATED:
            if capacity:
                c.error(
                    f"{path}.capacity",
                    _g("must be 0 for a seated section (its seats are its capacity)"),
                )
            if rows is not None and not rows:
                c.error(f"{path}.rows", _g("a seated section needs at least one row"))
        planned_rows = _native_rows(rows or [], path, c, guids) if kind == "seated" else []
        if None in (code, sec_name, kind, tier, capacity, outline, label, rows):
            continue
        sections.append(
            PlannedSection(
                code=code,
                name=sec_name,
                name_en=sec_name_en,
                kind=kind,
                tier=tier,
                outline=outline,
                label_x=label[0],
                label_y=label[1],
                capacity=capacity,
                rows=planned_rows or [],
            )
        )
    if places > MAX_SEATS:
        c.error(
            "sections",
            _g("%(n)d standing places; a plan may have at most %(max)d")
            % {"n": places, "max": MAX_SEATS},
        )
    if c.errors or None in (name, name_en, width, height, focal_label, shapes):
        return None
    return PlannedLayout(
        name=name,
        name_en=name_en,
        width=width,
        height=height,
        focal_x=focal_x if focal_x is not None else width / 2,
        focal_y=focal_y if focal_y is not None else height / 2,
        focal_label=focal_label,
        shapes=shapes,
        sections=sections,
    )


def _outline(value, path: str, c: _Checker) -> list[list[float]] | None:
    points = c.array(value, path, required=False)
    if points is None:
        return None
    if len(points) > MAX_OUTLINE_POINTS:
        c.error(path, _g("at most %(n)d points") % {"n": MAX_OUTLINE_POINTS})
        return None
    result = []
    for k, p in enumerate(points):
        point = c.point(p, f"{path}[{k}]")
        if point is None:
            return None
        result.append([point[0], point[1]])
    return result


def _native_shapes(value, c: _Checker) -> list[dict] | None:
    shapes = c.array(value, "shapes", required=False)
    if shapes is None:
        return None
    ok = True
    for i, shape in enumerate(shapes):
        path = f"shapes[{i}]"
        shape = c.obj(shape, path)
        if shape is None:
            ok = False
            continue
        ok &= c.text(shape.get("kind"), f"{path}.kind", max_length=20) is not None
        ok &= c.text(shape.get("label"), f"{path}.label", max_length=80, required=False) is not None
        points = _outline(shape.get("points"), f"{path}.points", c)
        if points is not None and len(points) < 2:
            c.error(f"{path}.points", _g("needs at least 2 points"))
        ok &= points is not None
    return shapes if ok else None


def _native_rows(
    rows: list, path: str, c: _Checker, guids: dict[str, str]
) -> list[PlannedRow] | None:
    planned = []
    labels: set[str] = set()
    for j, raw in enumerate(rows):
        rpath = f"{path}.rows[{j}]"
        raw = c.obj(raw, rpath)
        if raw is None:
            continue
        label = c.text(raw.get("label"), f"{rpath}.label", max_length=20, allow_int=True)
        if label is not None:
            if label in labels:
                c.error(f"{rpath}.label", _g('duplicate row label "%(row)s"') % {"row": label})
            labels.add(label)
        seats = c.array(raw.get("seats"), f"{rpath}.seats")
        if seats is not None and not seats:
            c.error(f"{rpath}.seats", _g("a row needs at least one seat"))
        numbers: set[str] = set()
        row = PlannedRow(label=label or "")
        for k, seat in enumerate(seats or []):
            spath = f"{rpath}.seats[{k}]"
            seat = c.obj(seat, spath)
            if seat is None:
                continue
            number = c.text(seat.get("number"), f"{spath}.number", max_length=20, allow_int=True)
            if number is not None:
                if number in numbers:
                    c.error(
                        spath,
                        _g('duplicate seat number "%(seat)s" in row "%(row)s"')
                        % {"seat": number, "row": label},
                    )
                numbers.add(number)
            x = c.number(seat.get("x"), f"{spath}.x")
            y = c.number(seat.get("y"), f"{spath}.y")
            guid = c.text(seat.get("guid"), f"{spath}.guid", max_length=64, required=False)
            if guid:
                if guid in guids:
                    c.error(
                        f"{spath}.guid",
                        _g('duplicate guid "%(guid)s" (also %(other)s)')
                        % {"guid": guid, "other": guids[guid]},
                    )
                guids.setdefault(guid, spath)
            category = c.text(
                seat.get("category"), f"{spath}.category", max_length=60, required=False
            )
            flags = [
                c.boolean(seat.get(f), f"{spath}.{f}")
                for f in ("accessible", "restricted_view", "aisle")
            ]
            if None in (number, x, y, guid, category) or None in flags:
                continue
            row.seats.append(PlannedSeat(number, k + 1, x, y, *flags, guid, category))
        planned.append(row)
    return planned


def _load_layout(layout: Layout, *seat_fields: str):
    """The layout's sections in order, its rows per section id as (row id, label), and the
    requested seat fields per row id, in seat order: three queries for any size."""
    sections = list(Section.objects.filter(layout=layout).order_by("sort_order", "code"))
    rows_by_section: dict[int, list] = {}
    for row_id, section_id, label in (
        Row.objects.filter(section__layout=layout)
        .order_by("section_id", "sort_order", "id")
        .values_list("id", "section_id", "label")
    ):
        rows_by_section.setdefault(section_id, []).append((row_id, label))
    seats_by_row: dict[int, list] = {}
    for row_id, *seat in (
        Seat.objects.filter(section__layout=layout)
        .order_by("row_id", "position", "id")
        .values_list("row_id", *seat_fields)
    ):
        seats_by_row.setdefault(row_id, []).append(seat)
    return sections, rows_by_section, seats_by_row


def export_native(layout: Layout) -> dict:
    """The layout as a Tessera plan; importing it gives back the same layout."""
    sections, rows_by_section, seats_by_row = _load_layout(
        layout,
        "label",
        "x",
        "y",
        "guid",
        "category",
        "is_accessible",
        "is_restricted_view",
        "is_aisle",
    )

    def seat_dict(seat) -> dict:
        number, x, y, guid, category, accessible, restricted, aisle = seat
        return {
            "number": number,
            "x": x,
            "y": y,
            "guid": guid,
            "category": category,
            "accessible": accessible,
            "restricted_view": restricted,
            "aisle": aisle,
        }

    return {
        "format": NATIVE_FORMAT,
        "name": layout.name,
        "name_en": layout.name_en,
        "size": {"width": layout.width, "height": layout.height},
        "focal_point": {"x": layout.focal_x, "y": layout.focal_y, "label": layout.focal_label},
        "shapes": layout.shapes,
        "sections": [
            {
                "code": s.code,
                "name": s.name,
                "name_en": s.name_en,
                "kind": s.kind,
                "tier": s.tier,
                "capacity": s.capacity,
                "outline": s.outline,
                "label": {"x": s.label_x, "y": s.label_y},
                "rows": [
                    {"label": label, "seats": [seat_dict(x) for x in seats_by_row.get(rid, [])]}
                    for rid, label in rows_by_section.get(s.pk, [])
                ],
            }
            for s in sections
        ],
    }


# --- the pretix format ----------------------------------------------------------------


def _shape_kind(label: str) -> str:
    text = label.lower()
    if any(w in text for w in ("stage", "舞台", "bühne")):
        return "stage"
    if any(w in text for w in ("pitch", "球场", "field")):
        return "pitch"
    return "area"


def _rotate(points, origin, degrees: float):
    if not degrees:
        return points
    a = math.radians(degrees)
    cos, sin = math.cos(a), math.sin(a)
    ox, oy = origin
    return [
        (ox + (x - ox) * cos - (y - oy) * sin, oy + (x - ox) * sin + (y - oy) * cos)
        for x, y in points
    ]


def _pretix_area(area: dict, path: str, origin, c: _Checker) -> dict | None:
    """One drawn area as a shape {"kind", "points", "label"}; None when it has no outline
    (text-only areas, unknown shapes)."""
    pos = c.xy(area.get("position"), f"{path}.position", required=False)
    rotation = c.number(area.get("rotation"), f"{path}.rotation", required=False)
    if pos is None or rotation is None:
        return None
    x0, y0 = origin[0] + pos[0], origin[1] + pos[1]
    text = area.get("text")
    label = text.get("text") if isinstance(text, dict) else text
    label = label.strip()[:80] if isinstance(label, str) else ""
    shape = area.get("shape", "rectangle")
    points = None
    if shape == "rectangle":
        rect = area.get("rectangle") if isinstance(area.get("rectangle"), dict) else area
        where = f"{path}.rectangle" if rect is not area else path
        if rect.get("width") is None and rect.get("height") is None:
            return None
        w = c.number(rect.get("width"), f"{where}.width")
        h = c.number(rect.get("height"), f"{where}.height")
        if w is None or h is None:
            return None
        points = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)]
    elif shape in ("circle", "ellipse"):
        spec = c.obj(area.get(shape), f"{path}.{shape}")
        if spec is None:
            return None
        radius = spec.get("radius")
        if isinstance(radius, dict):
            rx = c.number(radius.get("x"), f"{path}.{shape}.radius.x")
            ry = c.number(radius.get("y"), f"{path}.{shape}.radius.y")
        else:
            rx = ry = c.number(radius, f"{path}.{shape}.radius")
        if rx is None or ry is None:
            return None
        points = [
            (x0 + rx * math.cos(2 * math.pi * k / 24), y0 + ry * math.sin(2 * math.pi * k / 24))
            for k in range(24)
        ]
    elif shape == "polygon":
        spec = c.obj(area.get("polygon"), f"{path}.polygon")
        raw_points = c.array(spec.get("points"), f"{path}.polygon.points") if spec else None
        if raw_points is None:
            return None
        points = []
        for k, p in enumerate(raw_points):
            xy = c.xy(p, f"{path}.polygon.points[{k}]")
            if xy is None:
                return None
            points.append((x0 + xy[0], y0 + xy[1]))
        if len(points) < 2:
            return None
    else:
        return None
    points = _rotate(points, (x0, y0), rotation)
    return {
        "kind": _shape_kind(label),
        "label": label,
        "points": [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in points],
    }


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Convex hull (Andrew's monotone chain), counter-clockwise."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _outline_around(points: list[tuple[float, float]], pad: float) -> list[list[float]]:
    """A polygon around the seats: their convex hull pushed out by ``pad``."""
    hull = _hull(points)
    if len(hull) < 3:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        hull = [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]
    cx = sum(p[0] for p in hull) / len(hull)
    cy = sum(p[1] for p in hull) / len(hull)
    result = []
    for x, y in hull:
        d = math.hypot(x - cx, y - cy) or 1.0
        result.append([round(x + (x - cx) / d * pad, 1), round(y + (y - cy) / d * pad, 1)])
    return result


def _seat_spacing(rows: list[PlannedRow]) -> float:
    gaps = sorted(
        math.hypot(a.x - b.x, a.y - b.y)
        for row in rows
        for a, b in zip(row.seats, row.seats[1:], strict=False)
    )
    gaps = [g for g in gaps if g > 0]
    return gaps[len(gaps) // 2] if gaps else 10.0


def _parse_pretix(data: dict, c: _Checker) -> PlannedLayout | None:
    name = c.text(data.get("name"), "name", max_length=120, required=False)
    categories: dict[str, str] = {}
    for i, cat in enumerate(c.array(data.get("categories"), "categories", required=False) or []):
        cat = c.obj(cat, f"categories[{i}]")
        if cat is None:
            continue
        cat_name = c.text(cat.get("name"), f"categories[{i}].name", max_length=60)
        if cat_name is not None:
            if cat_name in categories:
                c.error(
                    f"categories[{i}].name",
                    _g('duplicate category "%(name)s"') % {"name": cat_name},
                )
            categories[cat_name] = cat.get("color") if isinstance(cat.get("color"), str) else ""
    width = height = None
    size = c.obj(data.get("size"), "size", required=False)
    if size is not None:
        width = c.integer(size.get("width"), "size.width", low=1, high=MAX_PLAN_SIZE)
        height = c.integer(size.get("height"), "size.height", low=1, high=MAX_PLAN_SIZE)
    zones = c.array(data.get("zones"), "zones")
    if zones is None:
        return None
    seat_total = _count_seats(z.get("rows") for z in zones if isinstance(z, dict))
    if seat_total > MAX_SEATS:
        c.error(
            "zones",
            _g("%(n)d seats; a plan may have at most %(max)d")
            % {"n": seat_total, "max": MAX_SEATS},
        )
        return None

    shapes: list[dict] = []
    seated: list[tuple[int, str, list[PlannedRow]]] = []  # (zone index, zone name, rows)
    guids: dict[str, str] = {}
    for i, zone in enumerate(zones):
        zpath = f"zones[{i}]"
        zone = c.obj(zone, zpath)
        if zone is None:
            continue
        zone_name = c.text(zone.get("name"), f"{zpath}.name", max_length=200, required=False)
        origin = c.xy(zone.get("position"), f"{zpath}.position", required=False)
        rows = c.array(zone.get("rows"), f"{zpath}.rows", required=False)
        areas = c.array(zone.get("areas"), f"{zpath}.areas", required=False)
        if origin is None:
            continue
        for k, area in enumerate(areas or []):
            area = c.obj(area, f"{zpath}.areas[{k}]")
            if area is not None:
                shape = _pretix_area(area, f"{zpath}.areas[{k}]", origin, c)
                if shape is not None:
                    shapes.append(shape)
        planned_rows = _pretix_rows(rows or [], zpath, origin, categories, guids, c)
        if any(r.seats for r in planned_rows):
            seated.append((i, zone_name or "", [r for r in planned_rows if r.seats]))
    if not seated and not c.errors:
        c.error("zones", _g("the plan has no seats"))
    if c.errors or name is None:
        return None

    names = [zone_name for _zone, zone_name, _rows in seated]
    use_names = all(0 < len(n) <= 20 for n in names) and len(set(names)) == len(names)
    all_points = [(s.x, s.y) for *_zone, rows in seated for r in rows for s in r.seats]
    sections = []
    for n, (_zone, zone_name, rows) in enumerate(seated, start=1):
        code = zone_name if use_names else f"Z{n}"
        points = [(s.x, s.y) for r in rows for s in r.seats]
        sections.append(
            PlannedSection(
                code=code,
                name=(zone_name or code)[:80],
                name_en="",
                kind=SectionKind.SEATED,
                tier=1,
                outline=_outline_around(points, _seat_spacing(rows) * 0.75),
                label_x=round(sum(p[0] for p in points) / len(points), 1),
                label_y=round(sum(p[1] for p in points) / len(points), 1),
                rows=rows,
            )
        )
    if width is None or height is None:
        margin = 20
        width = math.ceil(max(p[0] for p in all_points)) + margin
        height = math.ceil(max(p[1] for p in all_points)) + margin
    focal = next((s for s in shapes if s["kind"] in ("stage", "pitch")), None)
    if focal is not None:
        xs = [p[0] for p in focal["points"]]
        ys = [p[1] for p in focal["points"]]
        focal_x, focal_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        focal_label = focal["label"][:40]
    else:
        focal_x, focal_y, focal_label = width / 2, height / 2, ""
    return PlannedLayout(
        name=name,
        name_en="",
        width=width,
        height=height,
        focal_x=round(focal_x, 1),
        focal_y=round(focal_y, 1),
        focal_label=focal_label,
        shapes=shapes,
        sections=sections,
    )


def _pretix_rows(
    rows: list, zpath: str, origin, categories: dict[str, str], guids: dict[str, str], c: _Checker
) -> list[PlannedRow]:
    planned = []
    labels: dict[str, int] = {}
    for j, raw in enumerate(rows):
        rpath = f"{zpath}.rows[{j}]"
        raw = c.obj(raw, rpath)
        if raw is None:
            continue
        label = c.text(raw.get("row_number"), f"{rpath}.row_number", max_length=20, allow_int=True)
        if label is not None:
            if label in labels:
                c.error(
                    f"{rpath}.row_number",
                    _g('duplicate row number "%(row)s" in this zone (also rows[%(other)d])')
                    % {"row": label, "other": labels[label]},
                )
            labels.setdefault(label, j)
        offset = c.xy(raw.get("position"), f"{rpath}.position", required=False)
        seats = c.array(raw.get("seats"), f"{rpath}.seats")
        if offset is None or seats is None:
            continue
        rx, ry = origin[0] + offset[0], origin[1] + offset[1]
        numbers: set[str] = set()
        row = PlannedRow(label=label or "")
        for k, seat in enumerate(seats):
            spath = f"{rpath}.seats[{k}]"
            seat = c.obj(seat, spath)
            if seat is None:
                continue
            number = c.text(
                seat.get("seat_number"), f"{spath}.seat_number", max_length=20, allow_int=True
            )
            if number is not None:
                if number in numbers:
                    c.error(
                        spath,
                        _g('duplicate seat number "%(seat)s" in row "%(row)s"')
                        % {"seat": number, "row": label},
                    )
                numbers.add(number)
            guid = c.text(
                seat.get("seat_guid"), f"{spath}.seat_guid", max_length=64, allow_int=True
            )
            if guid is not None:
                if guid in guids:
                    c.error(
                        f"{spath}.seat_guid",
                        _g('duplicate guid "%(guid)s" (also %(other)s)')
                        % {"guid": guid, "other": guids[guid]},
                    )
                guids.setdefault(guid, spath)
            pos = c.xy(seat.get("position"), f"{spath}.position")
            category = c.text(
                seat.get("category"), f"{spath}.category", max_length=60, required=False
            )
            if category and category not in categories:
                c.error(
                    f"{spath}.category",
                    _g('unknown category "%(name)s"; the plan defines: %(known)s')
                    % {"name": category, "known": ", ".join(categories) or "-"},
                )
            if None in (number, guid, pos, category):
                continue
            row.seats.append(
                PlannedSeat(
                    number,
                    k + 1,
                    round(rx + pos[0], DECIMALS),
                    round(ry + pos[1], DECIMALS),
                    guid=guid,
                    category=category,
                )
            )
        if row.seats:  # the ends of a row are its aisle seats
            row.seats[0] = row.seats[0]._replace(is_aisle=True)
            row.seats[-1] = row.seats[-1]._replace(is_aisle=True)
        planned.append(row)
    return planned


def _num(value: float) -> int | float:
    """Whole numbers as JSON integers, others rounded to DECIMALS."""
    value = round(value, DECIMALS)
    return int(value) if float(value).is_integer() else value


def export_pretix(layout: Layout) -> dict:
    """The layout as a plan of the open pretix format.

    Each seated section becomes a zone named by its code, positioned at the top-left of its
    seats; each row is positioned relative to its zone and each seat relative to its row.
    Standing sections and decorative shapes become rectangular areas (their bounding
    boxes); the format has no standing capacity.
    """
    sections, rows_by_section, seats_by_row = _load_layout(
        layout, "id", "label", "x", "y", "guid", "category"
    )

    category_names: list[str] = []
    for section in sections:
        for row_id, _label in rows_by_section.get(section.pk, []):
            for seat in seats_by_row.get(row_id, []):
                if seat[5] and seat[5] not in category_names:
                    category_names.append(seat[5])
    used_guids = Counter(seat[4] for seats in seats_by_row.values() for seat in seats if seat[4])

    def area(points, label: str, color: str) -> dict:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x0, y0 = math.floor(min(xs)), math.floor(min(ys))
        return {
            "position": {"x": x0, "y": y0},
            "width": math.ceil(max(xs)) - x0,
            "height": math.ceil(max(ys)) - y0,
            "rotation": 0,
            "color": color,
            "border_color": "#666666",
            "text": label,
        }

    zones = []
    if layout.shapes:
        zones.append(
            {
                "name": "Background",
                "position": {"x": 0, "y": 0},
                "rows": [],
                "areas": [
                    area(s["points"], s.get("label", ""), "#e8f5e9")
                    for s in layout.shapes
                    if len(s.get("points", [])) >= 2
                ],
            }
        )
    for section in sections:
        rows = [
            (label, seats_by_row.get(rid, [])) for rid, label in rows_by_section.get(section.pk, [])
        ]
        seats = [s for _, row_seats in rows for s in row_seats]
        if section.kind == SectionKind.STANDING or not seats:
            if section.outline:
                zones.append(
                    {
                        "name": section.code,
                        "position": {"x": 0, "y": 0},
                        "rows": [],
                        "areas": [area(section.outline, section.name, "#fde2c8")],
                    }
                )
            continue
        zx = math.floor(min(s[2] for s in seats))
        zy = math.floor(min(s[3] for s in seats))
        zone_rows = []
        for label, row_seats in rows:
            if not row_seats:
                continue
            rx = math.floor(min(s[2] for s in row_seats)) - zx
            ry = math.floor(min(s[3] for s in row_seats)) - zy
            out_seats = []
            for _seat_id, number, x, y, guid, category in row_seats:
                if not guid or used_guids[guid] > 1:
                    guid = f"{section.code}-{label}-{number}"
                    if guid in used_guids:
                        guid = f"tessera-{_seat_id}"
                    used_guids[guid] += 1
                out_seats.append(
                    {
                        "seat_guid": guid,
                        "seat_number": number,
                        "category": category,
                        "position": {"x": _num(x - zx - rx), "y": _num(y - zy - ry)},
                    }
                )
            zone_rows.append(
                {"row_number": label, "position": {"x": rx, "y": ry}, "seats": out_seats}
            )
        zones.append(
            {"name": section.code, "position": {"x": zx, "y": zy}, "rows": zone_rows, "areas": []}
        )
    return {
        "name": layout.name,
        "categories": [
            {"name": n, "color": CATEGORY_COLORS[i % len(CATEGORY_COLORS)]}
            for i, n in enumerate(category_names)
        ],
        "zones": zones,
        "size": {"width": layout.width, "height": layout.height},
    }
