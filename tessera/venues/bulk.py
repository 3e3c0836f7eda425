"""Layouts in memory and their bulk writer, shared by the generator and the plan importer.

A ``PlannedLayout`` is plain Python (no database); ``write_sections`` stores its sections,
rows and seats in three bulk statements. Call it inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection

from tessera.venues.models import Layout, Row, Seat, Section

BATCH_SIZE = 5000


class PlannedSeat(NamedTuple):
    label: str
    position: int  # order along the row; adjacent seats have consecutive positions
    x: float
    y: float
    is_accessible: bool = False
    is_restricted_view: bool = False
    is_aisle: bool = False
    guid: str = ""
    category: str = ""  # empty: the section's category


@dataclass
class PlannedRow:
    label: str
    seats: list[PlannedSeat] = field(default_factory=list)


@dataclass
class PlannedSection:
    code: str
    name: str
    name_en: str
    kind: str
    tier: int
    outline: list[list[float]]
    label_x: float
    label_y: float
    capacity: int = 0
    category: str = ""  # default category of the section's seats
    rows: list[PlannedRow] = field(default_factory=list)


@dataclass
class PlannedLayout:
    width: int
    height: int
    focal_x: float
    focal_y: float
    focal_label: str
    shapes: list[dict]
    sections: list[PlannedSection]
    name: str = ""
    name_en: str = ""

    @property
    def seat_count(self) -> int:
        return sum(len(r.seats) for s in self.sections for r in s.rows)

    @property
    def standing_capacity(self) -> int:
        return sum(s.capacity for s in self.sections if s.kind == "standing")


_SEAT_COLUMNS = (
    "section_id",
    "row_id",
    "label",
    "position",
    "x",
    "y",
    "guid",
    "category",
    "is_accessible",
    "is_restricted_view",
    "is_aisle",
)


def write_sections(*, layout: Layout, sections: list[PlannedSection]) -> None:
    """Insert ``sections`` with their rows and seats into ``layout``; call inside a
    transaction.

    Sections and rows go through ``bulk_create`` (ids come back on PostgreSQL and
    SQLite >= 3.35, and are read back otherwise). Seats, the bulk of the work, go through
    one ``executemany``: building 60,000 model instances would cost several seconds.
    """
    section_objs = [
        Section(
            layout=layout,
            code=s.code,
            name=s.name,
            name_en=s.name_en,
            kind=s.kind,
            tier=s.tier,
            capacity=s.capacity,
            outline=s.outline,
            label_x=s.label_x,
            label_y=s.label_y,
            sort_order=i,
        )
        for i, s in enumerate(sections)
    ]
    Section.objects.bulk_create(section_objs, batch_size=BATCH_SIZE)
    if any(o.pk is None for o in section_objs):
        ids = dict(Section.objects.filter(layout=layout).values_list("code", "pk"))
        for o in section_objs:
            o.pk = ids[o.code]

    row_objs = [
        Row(section_id=obj.pk, label=row.label, sort_order=i)
        for obj, planned in zip(section_objs, sections, strict=True)
        for i, row in enumerate(planned.rows)
    ]
    Row.objects.bulk_create(row_objs, batch_size=BATCH_SIZE)
    if any(o.pk is None for o in row_objs):
        ids = {
            (sid, label): pk
            for pk, sid, label in Row.objects.filter(section__layout=layout).values_list(
                "pk", "section_id", "label"
            )
        }
        for o in row_objs:
            o.pk = ids[(o.section_id, o.label)]

    params = []
    row_ids = iter(o.pk for o in row_objs)
    for obj, planned in zip(section_objs, sections, strict=True):
        for row in planned.rows:
            row_id = next(row_ids)
            params.extend(
                (
                    obj.pk,
                    row_id,
                    s.label,
                    s.position,
                    s.x,
                    s.y,
                    s.guid,
                    s.category or planned.category,
                    s.is_accessible,
                    s.is_restricted_view,
                    s.is_aisle,
                )
                for s in row.seats
            )
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from our own model
        quote(Seat._meta.db_table),
        ", ".join(quote(c) for c in _SEAT_COLUMNS),
        ", ".join(["%s"] * len(_SEAT_COLUMNS)),
    )
    with connection.cursor() as cursor:
        for start in range(0, len(params), BATCH_SIZE):
            cursor.executemany(sql, params[start : start + BATCH_SIZE])
