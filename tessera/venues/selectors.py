"""Reads of venues and layouts used by the API, the back office and later apps."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from tessera.core.errors import NotFound
from tessera.venues.models import City, Layout, Row, Seat, Section, SectionKind, Venue


class VenueNotFound(NotFound):
    code = "venue_not_found"
    default_message = _("No such venue.")


class LayoutNotFound(NotFound):
    code = "layout_not_found"
    default_message = _("No such layout.")


class SectionNotFound(NotFound):
    code = "section_not_found"
    default_message = _("No such section in this layout.")


def list_cities() -> QuerySet[City]:
    return City.objects.order_by("slug")


def list_venues(*, city: str = "") -> QuerySet[Venue]:
    """Venues by name, optionally of one city (slug)."""
    qs = Venue.objects.select_related("city").order_by("name", "id")
    if city:
        qs = qs.filter(city__slug=city)
    return qs


def get_venue(*, slug: str) -> Venue:
    """The venue with its city and its layouts (annotated like ``list_layouts``)."""
    venue = (
        Venue.objects.select_related("city")
        .prefetch_related(Prefetch("layouts", queryset=list_layouts()))
        .filter(slug=slug)
        .first()
    )
    if venue is None:
        raise VenueNotFound(details={"slug": slug})
    return venue


def with_layout_counts(queryset: QuerySet[Layout]) -> QuerySet[Layout]:
    """Annotate ``seat_count`` and ``standing_capacity`` (subqueries: no join fan-out)."""
    seats = (
        Seat.objects.filter(section__layout=OuterRef("pk"))
        .order_by()
        .values("section__layout")
        .annotate(n=Count("id"))
        .values("n")
    )
    standing = (
        Section.objects.filter(layout=OuterRef("pk"), kind=SectionKind.STANDING)
        .order_by()
        .values("layout")
        .annotate(n=Sum("capacity"))
        .values("n")
    )
    return queryset.annotate(
        seat_count=Coalesce(Subquery(seats), 0),
        standing_capacity=Coalesce(Subquery(standing), 0),
    )


def list_layouts() -> QuerySet[Layout]:
    """Layouts by name with ``seat_count`` and ``standing_capacity`` annotated."""
    return with_layout_counts(Layout.objects.order_by("name", "id"))


def section_counts(layout: Layout) -> dict[int, tuple[int, int]]:
    """{section id: (rows, seats)} of a layout, in two grouped queries."""
    rows = dict(
        Row.objects.filter(section__layout=layout)
        .order_by()
        .values("section")
        .annotate(n=Count("id"))
        .values_list("section", "n")
    )
    seats = dict(
        Seat.objects.filter(section__layout=layout)
        .order_by()
        .values("section")
        .annotate(n=Count("id"))
        .values_list("section", "n")
    )
    return {
        sid: (rows.get(sid, 0), seats.get(sid, 0))
        for sid in Section.objects.filter(layout=layout).values_list("id", flat=True)
    }


def get_layout(*, layout_id: int) -> Layout:
    """The layout with its venue and its sections, each annotated with ``seat_count``."""
    layout = Layout.objects.select_related("venue__city").filter(pk=layout_id).first()
    if layout is None:
        raise LayoutNotFound(details={"id": layout_id})
    sections = list(Section.objects.filter(layout=layout).order_by("sort_order", "code"))
    # One grouped query on the seat table; annotating the sections would group by every
    # section column (outlines included) over all seats.
    seats = dict(
        Seat.objects.filter(section__layout=layout)
        .order_by()
        .values("section")
        .annotate(n=Count("id"))
        .values_list("section", "n")
    )
    for section in sections:
        section.seat_count = seats.get(section.pk, 0)
    layout.section_list = sections
    return layout


def section_places(section: Section) -> int:
    """Places a section sells: its standing capacity or its seats (``seat_count``)."""
    if section.kind == SectionKind.STANDING:
        return section.capacity
    return section.seat_count


def layout_totals(layout: Layout) -> tuple[int, int]:
    """(seats, standing places) of a layout loaded by ``get_layout``."""
    seats = sum(s.seat_count for s in layout.section_list)
    standing = sum(s.capacity for s in layout.section_list if s.kind == SectionKind.STANDING)
    return seats, standing


def get_section(*, layout_id: int, code: str) -> Section:
    """One section of a layout with its rows and their seats (in position order)."""
    section = (
        Section.objects.filter(layout_id=layout_id, code=code)
        .annotate(seat_count=Count("seats"))
        .prefetch_related(
            Prefetch(
                "rows",
                queryset=Row.objects.order_by("sort_order", "id").prefetch_related(
                    Prefetch("seats", queryset=Seat.objects.order_by("position", "id"))
                ),
            )
        )
        .first()
    )
    if section is None:
        if not Layout.objects.filter(pk=layout_id).exists():
            raise LayoutNotFound(details={"id": layout_id})
        raise SectionNotFound(details={"layout": layout_id, "code": code})
    return section
