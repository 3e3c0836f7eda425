"""Venues API: cities, venues, layouts, sections with their seats, seating-plan export.

Names come in both languages (``name``, ``name_en``) plus ``display_name`` in the request's
language. Everything here is public: seat maps are shown to every fan.
"""

from typing import Annotated, Any, Literal

from ninja import Path, Query, Router, Schema
from ninja.pagination import paginate

from tessera.core.i18n import localized
from tessera.core.pagination import BoundedPagination
from tessera.core.schemas import MAX_ID
from tessera.venues import selectors
from tessera.venues.models import City, Layout, Section, SectionKind, Venue
from tessera.venues.services import export_plan

router = Router(tags=["venues"])

# A layout id a bigint column can hold: a larger one is invalid input, not a database error.
LayoutId = Annotated[int, Path(..., ge=1, le=MAX_ID)]


# --- schemas ------------------------------------------------------------------------------


class CityOut(Schema):
    slug: str
    name: str
    name_en: str
    display_name: str
    country: str
    time_zone: str


class VenueOut(Schema):
    slug: str
    name: str
    name_en: str
    display_name: str
    city: CityOut
    address: str
    address_en: str
    display_address: str
    latitude: float | None
    longitude: float | None
    time_zone: str

    @staticmethod
    def resolve_display_address(obj: Venue) -> str:
        return localized(obj, "address")

    @staticmethod
    def resolve_latitude(obj: Venue) -> float | None:
        return float(obj.latitude) if obj.latitude is not None else None

    @staticmethod
    def resolve_longitude(obj: Venue) -> float | None:
        return float(obj.longitude) if obj.longitude is not None else None


class LayoutBriefOut(Schema):
    id: int
    name: str
    name_en: str
    display_name: str
    seat_count: int
    standing_capacity: int


class VenueDetailOut(VenueOut):
    layouts: list[LayoutBriefOut]

    @staticmethod
    def resolve_layouts(obj: Venue) -> list[Layout]:
        return list(obj.layouts.all())


class PointOut(Schema):
    x: float
    y: float


class FocalPointOut(PointOut):
    label: str


class SectionSummaryOut(Schema):
    code: str
    name: str
    name_en: str
    display_name: str
    kind: str
    tier: int
    seat_count: int
    standing_capacity: int
    places: int
    outline: list[list[float]]
    label: PointOut


class LayoutOut(Schema):
    id: int
    venue: str
    name: str
    name_en: str
    display_name: str
    width: int
    height: int
    focal_point: FocalPointOut
    shapes: list[dict[str, Any]]
    seat_count: int
    standing_capacity: int
    sections: list[SectionSummaryOut]


class SeatOut(Schema):
    id: int
    number: str
    position: int
    x: float
    y: float
    category: str
    accessible: bool
    restricted_view: bool
    aisle: bool


class RowOut(Schema):
    label: str
    seats: list[SeatOut]


class SectionOut(SectionSummaryOut):
    rows: list[RowOut]


class VenueFiltersIn(Schema):
    city: str = ""


# --- payload builders ---------------------------------------------------------------------


def _city(city: City) -> dict:
    return {
        "slug": city.slug,
        "name": city.name,
        "name_en": city.name_en,
        "display_name": city.display_name,
        "country": city.country,
        "time_zone": city.time_zone,
    }


def _section_summary(section: Section) -> dict:
    standing = section.capacity if section.kind == SectionKind.STANDING else 0
    return {
        "code": section.code,
        "name": section.name,
        "name_en": section.name_en,
        "display_name": section.display_name,
        "kind": section.kind,
        "tier": section.tier,
        "seat_count": section.seat_count,
        "standing_capacity": standing,
        "places": selectors.section_places(section),
        "outline": section.outline,
        "label": {"x": section.label_x, "y": section.label_y},
    }


def _layout(layout: Layout) -> dict:
    seats, standing = selectors.layout_totals(layout)
    return {
        "id": layout.pk,
        "venue": layout.venue.slug,
        "name": layout.name,
        "name_en": layout.name_en,
        "display_name": layout.display_name,
        "width": layout.width,
        "height": layout.height,
        "focal_point": {"x": layout.focal_x, "y": layout.focal_y, "label": layout.focal_label},
        "shapes": layout.shapes,
        "seat_count": seats,
        "standing_capacity": standing,
        "sections": [_section_summary(s) for s in layout.section_list],
    }


# --- endpoints ----------------------------------------------------------------------------


@router.get("/cities", response=list[CityOut], summary="Cities with venues")
def list_cities(request):
    return [_city(c) for c in selectors.list_cities()]


@router.get("/venues", response=list[VenueOut], summary="Venues, optionally of one city")
@paginate(BoundedPagination)
def list_venues(request, filters: Query[VenueFiltersIn]):
    return selectors.list_venues(city=filters.city)


@router.get("/venues/{slug}", response=VenueDetailOut, summary="A venue and its layouts")
def get_venue(request, slug: str):
    return selectors.get_venue(slug=slug)


@router.get(
    "/layouts/{layout_id}",
    response=LayoutOut,
    summary="A layout with its sections (outlines, places)",
)
def get_layout(request, layout_id: LayoutId):
    return _layout(selectors.get_layout(layout_id=layout_id))


@router.get(
    "/layouts/{layout_id}/sections/{code}",
    response=SectionOut,
    summary="One section with its rows and seats",
)
def get_section(request, layout_id: LayoutId, code: str):
    section = selectors.get_section(layout_id=layout_id, code=code)
    return {
        **_section_summary(section),
        "rows": [
            {
                "label": row.label,
                "seats": [
                    {
                        "id": s.pk,
                        "number": s.label,
                        "position": s.position,
                        "x": s.x,
                        "y": s.y,
                        "category": s.category,
                        "accessible": s.is_accessible,
                        "restricted_view": s.is_restricted_view,
                        "aisle": s.is_aisle,
                    }
                    for s in row.seats.all()
                ],
            }
            for row in section.rows.all()
        ],
    }


@router.get(
    "/layouts/{layout_id}/plan",
    response=dict[str, Any],
    summary="The layout as a seating plan (Tessera or pretix JSON format)",
)
def get_plan(request, layout_id: LayoutId, format: Literal["tessera", "pretix"] = "tessera"):
    layout = selectors.get_layout(layout_id=layout_id)
    return export_plan(layout=layout, format=format)
