"""Everything that writes venues data: generated layouts and imported seating plans."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tessera.core import audit
from tessera.core.clock import now as clock_now
from tessera.core.errors import InvalidInput
from tessera.venues.bulk import write_sections
from tessera.venues.generator import generate_layout
from tessera.venues.models import Layout, Venue
from tessera.venues.seating_plans import (
    FORMATS,
    export_native,
    export_pretix,
    load_json,
    parse_plan,
)

__all__ = ["UnknownPlanFormat", "export_plan", "generate_layout", "import_plan"]


class UnknownPlanFormat(InvalidInput):
    code = "unknown_plan_format"
    default_message = _("Unknown seating-plan format; use tessera or pretix.")


def import_plan(
    *, venue: Venue, data: Any, name: str = "", name_en: str = "", actor=None
) -> Layout:
    """Create a layout of ``venue`` from a seating plan (Tessera or pretix format).

    ``data`` is parsed JSON or the JSON text itself. The whole plan is validated before
    anything is written, and written in one transaction. ``name``/``name_en`` override the
    plan's own name. Raises SeatingPlanInvalid listing every problem found (up to 20).
    """
    if isinstance(data, str | bytes | bytearray):
        data = load_json(data)
    fmt, plan = parse_plan(data)
    layout_name = (name or plan.name or "导入的座位图")[:120]
    layout_name_en = (
        name_en or plan.name_en or ("" if plan.name or name else "Imported seating plan")
    )[:120]
    with transaction.atomic():
        layout = Layout.objects.create(
            venue=venue,
            name=layout_name,
            name_en=layout_name_en,
            width=plan.width,
            height=plan.height,
            focal_x=plan.focal_x,
            focal_y=plan.focal_y,
            focal_label=plan.focal_label,
            shapes=plan.shapes,
        )
        write_sections(layout=layout, sections=plan.sections)
        audit.record(
            action="layout.imported",
            obj=layout,
            actor=actor,
            organization_id=venue.organization_id,
            now=clock_now(),
            data={
                "format": fmt,
                "sections": len(plan.sections),
                "seats": plan.seat_count,
                "standing": plan.standing_capacity,
            },
        )
    return layout


def export_plan(*, layout: Layout, format: str = "tessera") -> dict:
    """The layout as a seating plan in ``format`` ("tessera" or "pretix")."""
    if format not in FORMATS:
        raise UnknownPlanFormat(details={"format": format})
    return export_native(layout) if format == "tessera" else export_pretix(layout)
