"""The organizer's seat map of a session coloured by channel, drawn on the server as SVG.

Every seat is a circle at its plan coordinates (``venues.Seat.x/y``) in the colour of who
has it: the open pool, a channel (its allocation, unsold), or, whatever the channel, sold,
held by a live hold, or blocked. Standing areas are their outline with a bar split in the
same colours. The legend counts each colour. Numbers only go into the drawing; names are
escaped.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from tessera.catalog.models import Session
from tessera.inventory.models import InventoryUnit, SalesChannel, UnitStatus
from tessera.venues.models import Section, SectionKind

POOL, SOLD, HELD, BLOCKED = "pool", "sold", "held", "blocked"
COLOURS = {POOL: "#34d399", SOLD: "#475569", HELD: "#f59e0b", BLOCKED: "#d4d4d8"}
CHANNEL_COLOURS = (
    "#2563eb",
    "#db2777",
    "#7c3aed",
    "#0891b2",
    "#b91c1c",
    "#a16207",
    "#4d7c0f",
    "#9333ea",
    "#0f766e",
    "#c2410c",
)


@dataclass
class LegendEntry:
    key: str
    name: str
    colour: str
    count: int = 0


@dataclass
class ChannelMap:
    svg: SafeString
    legend: list[LegendEntry]
    sections: list[dict] = field(default_factory=list)  # per-section counts by legend key


def _key(channel_id, status, hold_expires_at, now: datetime) -> str:
    if status == UnitStatus.SOLD:
        return SOLD
    if status == UnitStatus.BLOCKED:
        return BLOCKED
    if status == UnitStatus.HELD and hold_expires_at is not None and hold_expires_at >= now:
        return HELD
    return POOL if channel_id is None else f"ch{channel_id}"


def _num(value) -> str:
    return f"{float(value):.1f}".rstrip("0").rstrip(".")


def _points(outline) -> str:
    try:
        return " ".join(f"{_num(x)},{_num(y)}" for x, y in outline)
    except (TypeError, ValueError):
        return ""


def _radius(seats: list[tuple]) -> float:
    """Four tenths of the usual distance between neighbours of a row (plan units)."""
    by_row: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    for x, y, row_id, position in seats[:5000]:
        by_row[row_id].append((position, x, y))
    gaps = []
    for row in by_row.values():
        row.sort()
        gaps += [
            ((b[1] - a[1]) ** 2 + (b[2] - a[2]) ** 2) ** 0.5 for a, b in itertools.pairwise(row)
        ]
    gaps = [g for g in gaps if g > 0]
    return max(0.5, 0.4 * statistics.median(gaps)) if gaps else 4.0


def build_channel_map(*, session: Session, now: datetime) -> ChannelMap:
    layout = session.layout
    channels = {
        c.pk: c
        for c in SalesChannel.objects.filter(
            pk__in=InventoryUnit.objects.filter(session=session, channel__isnull=False)
            .order_by()
            .values("channel_id")
            .distinct()
        ).order_by("code")
    }
    legend = {POOL: LegendEntry(POOL, _("Open pool"), COLOURS[POOL])}
    for i, channel in enumerate(channels.values()):
        legend[f"ch{channel.pk}"] = LegendEntry(
            f"ch{channel.pk}", channel.display_name, CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)]
        )
    legend[HELD] = LegendEntry(HELD, _("Held"), COLOURS[HELD])
    legend[SOLD] = LegendEntry(SOLD, _("Sold"), COLOURS[SOLD])
    legend[BLOCKED] = LegendEntry(BLOCKED, _("Blocked"), COLOURS[BLOCKED])

    seats_by_key: dict[str, list[tuple[float, float]]] = defaultdict(list)
    geometry: list[tuple] = []
    per_section: dict[int, Counter] = defaultdict(Counter)
    rows = (
        InventoryUnit.objects.filter(session=session)
        .order_by()
        .values_list(
            "section_id",
            "channel_id",
            "status",
            "hold_expires_at",
            "seat__x",
            "seat__y",
            "seat__row_id",
            "seat__position",
        )
    )
    for section_id, channel_id, status, expires, x, y, row_id, position in rows.iterator(
        chunk_size=5000
    ):
        key = _key(channel_id, status, expires, now)
        legend[key].count += 1
        per_section[section_id][key] += 1
        if x is not None:
            seats_by_key[key].append((x, y))
            geometry.append((x, y, row_id, position))
    radius = _radius(geometry)

    sections = list(Section.objects.filter(layout=layout).order_by("sort_order", "code"))
    width, height = max(layout.width, 1), max(layout.height, 1)
    font = max(8.0, min(width, height) / 45)
    parts = [
        f'<svg class="alloc-map-svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="alloc-map-title" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="alloc-map-title">{escape(_("Seat map coloured by sales channel"))}</title>',
        '<g class="alloc-sections" fill="#f8fafc" stroke="#94a3b8" '
        f'stroke-width="{_num(max(0.5, font / 10))}">',
    ]
    for section in sections:
        points = _points(section.outline or [])
        if points:
            parts.append(
                f'<polygon points="{points}" data-section="{escape(section.code)}">'
                f"<title>{escape(section.display_name)}</title></polygon>"
            )
    parts.append("</g>")
    if layout.focal_label:
        parts.append(
            f'<text class="alloc-focal" x="{_num(layout.focal_x)}" '
            f'y="{_num(min(max(layout.focal_y, font), height - font / 2))}" '
            f'font-size="{_num(font)}" text-anchor="middle" fill="#64748b">'
            f"{escape(layout.focal_label)}</text>"
        )
    for key, entry in legend.items():
        coords = seats_by_key.get(key)
        if not coords:
            continue
        parts.append(f'<g class="alloc-seats" data-key="{key}" fill="{entry.colour}">')
        parts.extend(
            f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(radius)}"/>' for x, y in coords
        )
        parts.append("</g>")
    # standing areas: a bar split by who has the places, and the section codes
    for section in sections:
        counts = per_section.get(section.pk)
        if section.kind == SectionKind.STANDING and counts:
            total = sum(counts.values())
            bar_w, bar_h = min(width / 4, 240.0), max(font, 10.0)
            x0, y0 = section.label_x - bar_w / 2, section.label_y + font * 0.6
            for key, entry in legend.items():
                n = counts.get(key, 0)
                if not n:
                    continue
                w = bar_w * n / total
                parts.append(
                    f'<rect class="alloc-bar" data-key="{key}" x="{_num(x0)}" y="{_num(y0)}" '
                    f'width="{_num(w)}" height="{_num(bar_h)}" fill="{entry.colour}">'
                    f"<title>{escape(entry.name)}: {n}</title></rect>"
                )
                x0 += w
        parts.append(
            f'<text class="alloc-label" x="{_num(section.label_x)}" y="{_num(section.label_y)}" '
            f'font-size="{_num(font)}" text-anchor="middle" fill="#0f172a">'
            f"{escape(section.code)}</text>"
        )
    parts.append("</svg>")
    keys = list(legend)
    table = [
        {
            "section": section,
            "counts": [per_section.get(section.pk, Counter()).get(k, 0) for k in keys],
            "total": sum(per_section.get(section.pk, Counter()).values()),
        }
        for section in sections
        if per_section.get(section.pk)
    ]
    return ChannelMap(svg=mark_safe("".join(parts)), legend=list(legend.values()), sections=table)  # noqa: S308
