"""The static venue overview: what a session's seating plan looks like, drawn server-side.

Only sections are drawn (from their ``outline`` polygons), never seats, so a 60,000-seat
stadium costs no more than its 80 section outlines. Each section is filled with the colour
of its price zone; sections with nothing on sale are grey. ``layout.shapes`` adds the pitch,
the stage and other areas.

``layout.shapes`` is a list of objects; each is read leniently and skipped when it cannot be
drawn::

    {"kind": "pitch", "x": 300, "y": 200, "width": 400, "height": 250, "label": "球场"}
    {"kind": "stage", "points": [[x, y], ...], "label": "舞台", "label_en": "Stage"}
    {"kind": "court", "cx": 500, "cy": 300, "rx": 120, "ry": 80, "color": "#c98b4f"}
    {"kind": "area", "points": [[0, 10], [200, 10]]}        (two points: a line)

This is the ``shapes`` of docs/seating-format.md (``kind``, ``points``, ``label``), plus a
few spellings other tools use: ``type`` is accepted for ``kind``, ``w``/``h`` for
``width``/``height``, ``outline`` for ``points``, ``r`` for a circle, ``fill`` for ``color``.
A shape labelled like the layout's focal point gives that label its translation.
"""

import math
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from tessera.core.i18n import is_english, localized
from tessera.core.money import format_money
from tessera.storefront.selectors import SessionOverview

UNASSIGNED_FILL = "#cfd4dc"
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_SHAPE_FILLS = {
    "pitch": "#3c8d5a",
    "field": "#3c8d5a",
    "stage": "#2d3142",
    "court": "#c9925a",
    "ice": "#dcebf7",
    "rink": "#dcebf7",
    "track": "#b8553f",
    "floor": "#dcd6cb",
}
_DEFAULT_SHAPE_FILL = "#e3e6eb"


def safe_color(value, default: str = UNASSIGNED_FILL) -> str:
    """``value`` when it is a #rgb or #rrggbb colour, else ``default``."""
    if isinstance(value, str) and _HEX.match(value.strip()):
        return value.strip().lower()
    return default


def text_color_on(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (WCAG relative luminance)."""
    hexa = fill.lstrip("#")
    if len(hexa) == 3:
        hexa = "".join(c * 2 for c in hexa)
    channels = []
    for i in (0, 2, 4):
        c = int(hexa[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
    return "#111827" if luminance > 0.179 else "#ffffff"


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _points(raw) -> list[tuple[float, float]]:
    """A polygon's vertices; malformed entries are dropped."""
    if not isinstance(raw, list):
        return []
    result = []
    for point in raw:
        if isinstance(point, list | tuple) and len(point) >= 2:
            x, y = _number(point[0]), _number(point[1])
            if x is not None and y is not None:
                result.append((x, y))
        elif isinstance(point, dict):
            x, y = _number(point.get("x")), _number(point.get("y"))
            if x is not None and y is not None:
                result.append((x, y))
    return result


def _fmt(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _points_attr(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)


@dataclass
class DrawnSection:
    code: str
    name: str
    points: str
    fill: str
    label_fill: str
    label_x: str
    label_y: str
    zone_code: str
    title: str
    is_standing: bool
    font_size: str = ""


@dataclass
class DrawnShape:
    kind: str
    tag: str  # polygon | rect | ellipse
    attrs: dict
    fill: str
    label: str = ""
    label_x: str = ""
    label_y: str = ""
    lines: list = field(default_factory=list)  # pitch markings: (x1, y1, x2, y2)
    circle: tuple | None = None  # pitch centre circle: (cx, cy, r)


@dataclass
class LegendEntry:
    color: str
    name: str
    price: str
    code: str


@dataclass
class Overview:
    view_box: str
    font_size: str
    stroke_width: str
    sections: list[DrawnSection]
    shapes: list[DrawnShape]
    focal_label: str
    focal_x: str
    focal_y: str
    focal_radius: str
    legend: list[LegendEntry]
    has_unassigned: bool


class _Bounds:
    def __init__(self):
        self.min_x = self.min_y = math.inf
        self.max_x = self.max_y = -math.inf

    def add(self, x: float, y: float) -> None:
        self.min_x, self.max_x = min(self.min_x, x), max(self.max_x, x)
        self.min_y, self.max_y = min(self.min_y, y), max(self.max_y, y)

    @property
    def empty(self) -> bool:
        return self.min_x > self.max_x


def _shape_label(raw: dict) -> str:
    if is_english():
        english = raw.get("label_en") or raw.get("name_en")
        if isinstance(english, str) and english:
            return english
    label = raw.get("label") or raw.get("name") or ""
    return label if isinstance(label, str) else ""


def _draw_shape(raw, bounds: _Bounds) -> DrawnShape | None:
    if not isinstance(raw, dict):
        return None
    kind = str(raw.get("kind") or raw.get("type") or "area").lower()[:20]
    fill = safe_color(
        raw.get("color") or raw.get("fill"), _SHAPE_FILLS.get(kind, _DEFAULT_SHAPE_FILL)
    )
    label = _shape_label(raw)
    points = _points(raw.get("points") or raw.get("outline") or raw.get("polygon"))
    x, y = _number(raw.get("x")), _number(raw.get("y"))
    width = _number(raw.get("width", raw.get("w")))
    height = _number(raw.get("height", raw.get("h")))
    cx, cy = _number(raw.get("cx")), _number(raw.get("cy"))
    rx = _number(raw.get("rx", raw.get("r")))
    ry = _number(raw.get("ry", raw.get("r")))
    if len(points) == 2:
        (x1, y1), (x2, y2) = points
        bounds.add(x1, y1)
        bounds.add(x2, y2)
        return DrawnShape(
            kind=kind,
            tag="line",
            fill=fill,
            attrs={"x1": _fmt(x1), "y1": _fmt(y1), "x2": _fmt(x2), "y2": _fmt(y2)},
        )
    xs, ys = sorted({p[0] for p in points}), sorted({p[1] for p in points})
    if len(points) == 4 and len(xs) == 2 and len(ys) == 2:
        # An axis-aligned rectangle given as a polygon (what the layout generator writes).
        x, y, width, height = xs[0], ys[0], xs[1] - xs[0], ys[1] - ys[0]
        points = []
    if len(points) >= 3:
        for px, py in points:
            bounds.add(px, py)
        center_x = sum(p[0] for p in points) / len(points)
        center_y = sum(p[1] for p in points) / len(points)
        return DrawnShape(
            kind=kind,
            tag="polygon",
            attrs={"points": _points_attr(points)},
            fill=fill,
            label=label,
            label_x=_fmt(center_x),
            label_y=_fmt(center_y),
        )
    if None not in (x, y, width, height) and width > 0 and height > 0:
        bounds.add(x, y)
        bounds.add(x + width, y + height)
        shape = DrawnShape(
            kind=kind,
            tag="rect",
            attrs={"x": _fmt(x), "y": _fmt(y), "width": _fmt(width), "height": _fmt(height)},
            fill=fill,
            label=label,
            label_x=_fmt(x + width / 2),
            label_y=_fmt(y + height / 2),
        )
        if kind in ("pitch", "field"):
            mid_x, mid_y = x + width / 2, y + height / 2
            if width >= height:
                shape.lines = [(_fmt(mid_x), _fmt(y), _fmt(mid_x), _fmt(y + height))]
            else:
                shape.lines = [(_fmt(x), _fmt(mid_y), _fmt(x + width), _fmt(mid_y))]
            shape.circle = (_fmt(mid_x), _fmt(mid_y), _fmt(min(width, height) * 0.15))
            # The label would sit on the markings; the pitch speaks for itself.
            shape.label = ""
        return shape
    if None not in (cx, cy, rx, ry) and rx > 0 and ry > 0:
        bounds.add(cx - rx, cy - ry)
        bounds.add(cx + rx, cy + ry)
        return DrawnShape(
            kind=kind,
            tag="ellipse",
            attrs={"cx": _fmt(cx), "cy": _fmt(cy), "rx": _fmt(rx), "ry": _fmt(ry)},
            fill=fill,
            label=label,
            label_x=_fmt(cx),
            label_y=_fmt(cy),
        )
    return None


def _thickness(points: list[tuple[float, float]]) -> float:
    """About the narrow dimension of a polygon: 2 * area / perimeter (exact for a long
    thin strip, a fair guess for a sector of a bowl)."""
    area = 0.0
    perimeter = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True):
        area += x0 * y1 - x1 * y0
        perimeter += math.hypot(x1 - x0, y1 - y0)
    return abs(area) / perimeter if perimeter else 0.0


def _label_size(points: list[tuple[float, float]], code: str, span: float) -> float:
    """A font size at which ``code`` fits across the section, within sane bounds."""
    # 1.4 x thickness is about the narrow side; a bold digit is about 0.62 em wide.
    fits = 1.4 * _thickness(points) / (0.62 * max(len(code), 1) + 0.5)
    return max(min(fits, span / 45), span / 150)


def _zone_title(zone) -> str:
    return f"{zone.display_name} {format_money(zone.price, zone.currency)}"


def build_overview(data: SessionOverview) -> Overview:
    """Everything the template needs to draw one session's overview (no queries)."""
    session = data.session
    layout = session.layout
    bounds = _Bounds()
    sections: list[DrawnSection] = []
    outlines: list[list[tuple[float, float]]] = []
    has_unassigned = False
    for section in data.sections:
        points = _points(section["outline"])
        if len(points) < 3:
            continue
        for x, y in points:
            bounds.add(x, y)
        zones = data.zones_by_section.get(section["id"])
        name = section["name_en"] if (is_english() and section["name_en"]) else section["name"]
        # the name read out starts with what the map shows (the code), for voice control
        spoken = name if section["code"] in name else f"{section['code']} {name}"
        if zones and zones.primary:
            fill = safe_color(zones.primary.color)
            zone_code = zones.primary.code
            title = f"{spoken} · " + " / ".join(_zone_title(z) for z in zones.zones)
        else:
            has_unassigned = True
            fill, zone_code = UNASSIGNED_FILL, ""
            title = f"{spoken} · {_('not on sale')}"
        label_x, label_y = section["label_x"], section["label_y"]
        if not (label_x or label_y):
            label_x = sum(p[0] for p in points) / len(points)
            label_y = sum(p[1] for p in points) / len(points)
        outlines.append(points)
        sections.append(
            DrawnSection(
                code=section["code"],
                name=name,
                points=_points_attr(points),
                fill=fill,
                label_fill=text_color_on(fill),
                label_x=_fmt(label_x),
                label_y=_fmt(label_y),
                zone_code=zone_code,
                title=title,
                is_standing=section["kind"] == "standing",
            )
        )
    focal_label = localized(layout, "focal_label")
    shapes = []
    for raw in layout.shapes or []:
        drawn = _draw_shape(raw, bounds)
        if drawn is None:
            continue
        if layout.focal_label and raw.get("label") == layout.focal_label:
            # The focal point names this shape (the stage, the pitch): label it once, in
            # the shape's own translation.
            focal_label = _shape_label(raw) or focal_label
            drawn.label = ""
        shapes.append(drawn)
    if focal_label:
        bounds.add(layout.focal_x, layout.focal_y)
    if bounds.empty:
        bounds.add(0, 0)
        bounds.add(layout.width or 1000, layout.height or 1000)
    span = max(bounds.max_x - bounds.min_x, bounds.max_y - bounds.min_y, 1)
    # One size for most labels (the median fit) reads evenly; a section too small for it
    # gets a smaller label.
    fits = [
        _label_size(points, drawn.code, span)
        for drawn, points in zip(sections, outlines, strict=True)
    ]
    common = sorted(fits)[len(fits) // 2] if fits else 0
    for drawn, fit in zip(sections, fits, strict=True):
        drawn.font_size = _fmt(min(common, fit * 1.25))
    pad = span * 0.05
    view_box = " ".join(
        _fmt(v)
        for v in (
            bounds.min_x - pad,
            bounds.min_y - pad,
            bounds.max_x - bounds.min_x + 2 * pad,
            bounds.max_y - bounds.min_y + 2 * pad,
        )
    )
    legend = [
        LegendEntry(
            color=safe_color(z.color),
            name=z.display_name,
            price=format_money(z.price, z.currency),
            code=z.code,
        )
        for z in session.price_zones.all()
    ]
    return Overview(
        view_box=view_box,
        font_size=_fmt(max(span / 50, 1)),
        stroke_width=_fmt(span / 500),
        sections=sections,
        shapes=shapes,
        focal_label=focal_label,
        focal_x=_fmt(layout.focal_x),
        focal_y=_fmt(layout.focal_y),
        focal_radius=_fmt(max(span / 50, 1) * 0.6),
        legend=legend,
        has_unassigned=has_unassigned,
    )
