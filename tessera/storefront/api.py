"""The buy page's interactive seat map over HTTP: one router under
``/api/v1/sessions/{session_id}/seatmap/``, called by ``static/js/seatmap.js``.

* ``availability``: every section's seat states (``inventory.seatmap`` encoding), gzip when
  accepted, ``ETag`` / ``If-None-Match`` → 304; cheap enough to poll every few seconds
  (one light query while the payload is cached).
* ``sections/{id}/seats``: one section's seat geometry (does not change during a sale, so
  the browser keeps it for an hour).
* ``sections/{id}/view``: counts an opening of a section's seat view (heat map).
* ``heat``: demand per section (``inventory.demand``).
* ``propose``: the best block of N seats in a zone, read-only (nothing is held).
* ``hold``: hold chosen seats (or N standing places) for the signed-in fan; when another
  buyer took some seats first, names them and offers the nearest blocks of the same size in
  the same zone.

Errors answer ``{"error": {"code", "message", "details"}}`` in the fan's language through
the API's one handler (``tessera/api.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from decimal import Decimal
from typing import Annotated

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Header, Path, Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import StrictInt, model_validator

from tessera.catalog.models import EventStatus, PriceZone, Session, SessionStatus
from tessera.catalog.selectors import public_sessions
from tessera.core import clock
from tessera.core.i18n import localized
from tessera.core.money import format_money
from tessera.core.schemas import ErrorOut
from tessera.inventory import admission, demand
from tessera.inventory import seatmap as encoding
from tessera.inventory import selectors as inventory_selectors
from tessera.inventory.best_available import find_alternatives, find_blocks
from tessera.inventory.errors import LimitExceeded, PlacesUnavailable, ScopeInvalid
from tessera.inventory.models import InventoryUnit
from tessera.limits import services as limits
from tessera.sale import services as sale
from tessera.sale.choices import PlaceChoice
from tessera.storefront.errors import SectionNotFound, SessionNotFound
from tessera.venues.models import Section

router = Router(tags=["seatmap"])

MAX_SEATS = 100  # places in one request, whatever a session allows per order
ALTERNATIVES = 3
GEOMETRY_MAX_AGE_SECONDS = 3600
_MAX_ID = 2**63 - 1  # the database's largest id: anything above is no id at all

SessionId = Annotated[int, Path(..., ge=1, le=_MAX_ID, description="Session id.")]
SectionId = Annotated[int, Path(..., ge=1, le=_MAX_ID, description="Section id.")]
# JSON bodies take numbers only: no "3", no 3.0, no true.
StrictId = Annotated[StrictInt, Field(ge=1, le=_MAX_ID)]


# -- schemas ---------------------------------------------------------------------------------


class SeatmapSectionStatesOut(Schema):
    free: int = Field(description="Places a buyer could hold now.")
    total: int
    states: str | None = Field(
        None,
        description="Seated sections only: each seat's state in seat order, two bits a seat "
        "(0 free, 1 held, 2 sold, 3 not on sale), four seats a byte, low bits first, base64.",
    )


class SeatmapAvailabilityOut(Schema):
    session_id: int
    version: int = Field(description="Bumped after every hold, release, sale or block.")
    sections: dict[str, SeatmapSectionStatesOut] = Field(description="By section id.")


class SeatmapRowOut(Schema):
    id: int
    label: str
    seats: list[tuple[float, float, str, int, int, int]] = Field(
        description="[x, y, seat label, flags (1 accessible, 2 restricted view, 4 aisle), "
        "unit id, price zone id] in seat order, the order of the availability states."
    )


class SeatmapSectionSeatsOut(Schema):
    section_id: int
    rows: list[SeatmapRowOut]
    pitch: float = Field(description="Typical distance between neighbouring seats.")


class SeatmapSectionHeatOut(Schema):
    taken: int = Field(description="Places held or sold in the window.")
    views: int = Field(description="Openings of the section's seat view in the window.")
    taken_per_minute: Decimal
    heat: Decimal = Field(description="0.00 (quiet) to 1.00 (most in demand).")


class SeatmapHeatOut(Schema):
    session_id: int
    window_minutes: int
    sections: dict[str, SeatmapSectionHeatOut] = Field(description="By section id.")


class SeatmapSeatOut(Schema):
    unit_id: int
    section_id: int
    section: str = Field(description="Section code.")
    row: str | None = Field(description="Row label; null for a standing place.")
    seat: str | None = Field(description="Seat label; null for a standing place.")
    zone_id: int
    price: Decimal
    label: str = Field(description="How the map names the place, in the fan's language.")


class SeatmapBlockOut(Schema):
    unit_ids: list[int]
    seats: list[SeatmapSeatOut]
    total: str = Field(description="The block's price, formatted.")


class SeatmapProposalOut(SeatmapBlockOut):
    zone_id: int
    quantity: int


class SeatmapHoldIn(Schema):
    """Either ``unit_ids`` (seats chosen on the map, a proposal or an alternative), or a
    standing ``section`` and a ``quantity``."""

    unit_ids: list[StrictId] | None = Field(None, min_length=1, max_length=MAX_SEATS)
    section: StrictId | None = Field(None, description="A standing section's id.")
    quantity: StrictInt | None = Field(None, ge=1, le=MAX_SEATS)

    @model_validator(mode="after")
    def one_way(self):
        if self.unit_ids is not None:
            if self.section is not None or self.quantity is not None:
                raise ValueError(_("Choose seats, or a standing area and a quantity, not both."))
        elif self.section is None or self.quantity is None:
            raise ValueError(_("Choose seats, or a standing area and a quantity."))
        return self


class SeatmapHoldOut(Schema):
    hold_id: str
    checkout_url: str = Field(description="The checkout page of the hold.")


class SeatmapConflictDetailsOut(Schema):
    lost: list[SeatmapSeatOut] | None = Field(
        None, description="The chosen seats another buyer took first."
    )
    alternatives: list[SeatmapBlockOut] | None = Field(
        None, description="The nearest free blocks of the same size in the lost seats' zone."
    )
    requested: int | None = Field(None, description="Standing places asked for.")


class SeatmapConflictBodyOut(Schema):
    code: str = Field(description="places_unavailable, not_on_sale or channel_not_active.")
    message: str
    details: SeatmapConflictDetailsOut


class SeatmapConflictOut(Schema):
    """The one error shape; for ``places_unavailable`` with the lost seats and alternatives."""

    error: SeatmapConflictBodyOut


# -- helpers ---------------------------------------------------------------------------------


def _session(session_id: int) -> Session:
    """The public session with its event, layout and price zones (and whether it has
    purchase limits, so a hold without them reads nothing more)."""
    try:
        return (
            limits.with_limits_flag(public_sessions())
            .select_related("layout__venue__city")
            .prefetch_related("price_zones")
            .get(pk=session_id)
        )
    except Session.DoesNotExist as exc:
        raise SessionNotFound() from exc


def _light_session(session_id: int) -> Session:
    """The public session in one light query (the availability poll runs every 5 s)."""
    session = (
        Session.objects.filter(
            pk=session_id,
            event__status=EventStatus.PUBLISHED,
            event__organization__is_sandbox=False,
        )
        .exclude(status=SessionStatus.CANCELLED)
        .only("id", "created_at", "layout_id")
        .first()
    )
    if session is None:
        raise SessionNotFound()
    return session


def _section(session: Session, section_id: int) -> Section | None:
    return Section.objects.filter(pk=section_id, layout_id=session.layout_id).first()


def _path_section(session: Session, section_id: int) -> Section:
    section = _section(session, section_id)
    if section is None:
        raise SectionNotFound()
    return section


def _zone(session: Session, zone_id: int) -> PriceZone | None:
    """One of the session's price zones (prefetched by ``_session``: no query)."""
    return next((z for z in session.price_zones.all() if z.pk == zone_id), None)


def _check_quantity(session: Session, quantity: int) -> None:
    if quantity > session.max_tickets_per_order:
        raise LimitExceeded(
            _("At most %(limit)d tickets per order.") % {"limit": session.max_tickets_per_order},
            details={"max_tickets_per_order": session.max_tickets_per_order, "requested": quantity},
        )


def _json_bytes(
    request,
    *,
    body: bytes,
    gzipped: bytes | None,
    etag: str,
    cache_control: str,
    if_none_match: str | None,
) -> HttpResponse:
    """``body`` (JSON) with its ETag; 304 when the browser has it; gzip when accepted."""
    if if_none_match == etag:
        response = HttpResponse(status=304)
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(gzipped or gzip.compress(body, mtime=0))
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(body)
    response["Content-Type"] = "application/json"
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    response["Vary"] = "Accept-Encoding"
    return response


def _cached_json_docs(cache_control: str) -> dict:
    """OpenAPI: the headers of an answer that ``_json_bytes`` makes."""
    etag = {"description": "Opaque version of the content.", "schema": {"type": "string"}}
    cache = {"description": cache_control, "schema": {"type": "string"}}
    return {
        "responses": {
            200: {
                "description": "The JSON below; gzip-compressed (Content-Encoding: gzip) when "
                "the request's Accept-Encoding allows it.",
                "headers": {
                    "ETag": etag,
                    "Cache-Control": cache,
                    "Vary": {
                        "description": "Accept-Encoding (and Accept-Language)",
                        "schema": {"type": "string"},
                    },
                    "Content-Encoding": {
                        "description": "gzip when accepted, absent otherwise.",
                        "schema": {"type": "string", "enum": ["gzip"]},
                    },
                },
            },
            304: {
                "description": "Not Modified: If-None-Match named the current ETag; no body.",
                "headers": {"ETag": etag, "Cache-Control": cache},
            },
        }
    }


IfNoneMatch = Annotated[
    str | None,
    Header(
        None,
        alias="If-None-Match",
        description="The ETag of the copy the client has: 304 when it is still current.",
    ),
]


def _seat_label(unit: dict) -> str:
    return _("%(section)s · row %(row)s · seat %(seat)s") % {
        "section": unit["section"],
        "row": unit["row"],
        "seat": unit["seat"],
    }


def _describe_units(unit_ids: list[int]) -> list[dict]:
    """Each unit as the map shows it: ids, section, row and seat labels, price."""
    rows = (
        InventoryUnit.objects.filter(id__in=unit_ids)
        .select_related("zone", "section", "seat__row")
        .order_by("section__sort_order", "seat__row__sort_order", "seat__position", "id")
    )
    out = []
    for unit in rows:
        item = {
            "unit_id": unit.pk,
            "section_id": unit.section_id,
            "section": unit.section.code,
            "row": unit.seat.row.label if unit.seat else None,
            "seat": unit.seat.label if unit.seat else None,
            "zone_id": unit.zone_id,
            "price": str(unit.zone.price),
        }
        item["label"] = _seat_label(item) if unit.seat else unit.section.code
        out.append(item)
    return out


def _alternatives(session: Session, *, lost: list[int], quantity: int, now) -> list[dict]:
    """The nearest blocks of ``quantity`` seats in the lost seats' zone, as the map shows
    them."""
    lost_units = list(
        InventoryUnit.objects.filter(id__in=lost, seat__isnull=False).values(
            "zone_id", "seat__x", "seat__y"
        )
    )
    zone = _zone(session, lost_units[0]["zone_id"]) if lost_units else None
    if zone is None:
        return []
    snapshot = inventory_selectors.seat_snapshot(session=session, now=now, zone=zone)
    blocks = find_alternatives(
        snapshot,
        quantity=quantity,
        lost=[(u["seat__x"], u["seat__y"]) for u in lost_units],
        limit=ALTERNATIVES,
    )
    described = _describe_units([u for block in blocks for u in block.unit_ids])  # one query
    out = []
    for block in blocks:
        ids = set(block.unit_ids)
        units = [u for u in described if u["unit_id"] in ids]
        total = sum((Decimal(u["price"]) for u in units), Decimal("0"))
        out.append(
            {
                "unit_ids": [u["unit_id"] for u in units],
                "seats": units,
                "total": format_money(total, zone.currency),
            }
        )
    return out


# -- reads -----------------------------------------------------------------------------------

_READ_ERRORS = {404: ErrorOut, 422: ErrorOut}


@router.get(
    "/sessions/{session_id}/seatmap/availability",
    response={200: SeatmapAvailabilityOut, 304: None, **_READ_ERRORS},
    summary="Seat map: live seat states",
    url_name="seatmap_availability",
    openapi_extra=_cached_json_docs("no-cache"),
)
def availability(request, session_id: SessionId, if_none_match: IfNoneMatch = None):
    """Every section's free and total places and, for seated sections, each seat's state
    (see ``states``). Send the last ``ETag`` as ``If-None-Match``: 304 while nothing
    changed. Costs one light query while the payload is cached."""
    session = _light_session(session_id)
    encoded = encoding.cached_availability(session=session, now=clock.now())
    return _json_bytes(
        request,
        body=encoded.body,
        gzipped=encoded.gzipped,
        etag=encoded.etag,
        cache_control="no-cache",
        if_none_match=if_none_match,
    )


@router.get(
    "/sessions/{session_id}/seatmap/sections/{section_id}/seats",
    response={200: SeatmapSectionSeatsOut, 304: None, **_READ_ERRORS},
    summary="Seat map: one section's seats",
    url_name="seatmap_seats",
    openapi_extra=_cached_json_docs(f"public, max-age={GEOMETRY_MAX_AGE_SECONDS}"),
)
def section_seats(
    request, session_id: SessionId, section_id: SectionId, if_none_match: IfNoneMatch = None
):
    """One seated section's seats in seat order (the order of the availability states).
    The geometry does not change during a sale: browsers keep it for an hour."""
    session = _light_session(session_id)
    section = _path_section(session, section_id)
    body = json.dumps(
        encoding.section_seats(session=session, section_id=section.pk), separators=(",", ":")
    ).encode()
    return _json_bytes(
        request,
        body=body,
        gzipped=None,
        etag='"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"',
        cache_control=f"public, max-age={GEOMETRY_MAX_AGE_SECONDS}",
        if_none_match=if_none_match,
    )


@router.post(
    "/sessions/{session_id}/seatmap/sections/{section_id}/view",
    response={204: None, **_READ_ERRORS},
    summary="Seat map: count a section view",
    url_name="seatmap_view",
)
def section_view(request, session_id: SessionId, section_id: SectionId):
    """Count that a fan opened this section's seat view (for the heat map)."""
    session = _light_session(session_id)
    section = _path_section(session, section_id)
    demand.record_section_view(session=session, section=section, now=clock.now())
    return Status(204, None)


@router.get(
    "/sessions/{session_id}/seatmap/heat",
    response={200: SeatmapHeatOut, **_READ_ERRORS},
    summary="Seat map: demand per section",
    url_name="seatmap_heat",
)
def heat(request, session_id: SessionId):
    """Places taken and section views per section over the last ``window_minutes``."""
    session = _light_session(session_id)
    figures = demand.section_heat(session=session, now=clock.now())
    return {
        "session_id": session.pk,
        "window_minutes": demand.HEAT_WINDOW_MINUTES,
        "sections": {str(section_id): f for section_id, f in figures.items()},
    }


@router.get(
    "/sessions/{session_id}/seatmap/propose",
    response={200: SeatmapProposalOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Seat map: best adjacent seats",
    url_name="seatmap_propose",
)
def propose(
    request,
    session_id: SessionId,
    zone: int = Query(..., ge=1, le=_MAX_ID, description="Price zone id."),
    quantity: int = Query(..., ge=1, le=MAX_SEATS, description="Adjacent seats wanted."),
):
    """The best ``quantity`` adjacent seats of ``zone`` now (nearest the stage or pitch,
    leaving no single seat alone), without holding them. 409 ``places_unavailable`` when no
    such block is left."""
    session = _session(session_id)
    price_zone = _zone(session, zone)
    if price_zone is None:
        raise ScopeInvalid(details={"zone": zone})
    _check_quantity(session, quantity)
    now = clock.now()
    snapshot = inventory_selectors.seat_snapshot(session=session, now=now, zone=price_zone)
    layout = session.layout
    blocks = find_blocks(
        snapshot, quantity=quantity, focal=(layout.focal_x, layout.focal_y), limit=1
    )
    if not blocks:
        raise PlacesUnavailable(
            _("No %(quantity)d adjacent seats are left in %(zone)s.")
            % {"quantity": quantity, "zone": localized(price_zone, "name")},
            details={"zone": price_zone.pk, "quantity": quantity},
        )
    units = _describe_units(list(blocks[0].unit_ids))
    total = sum((Decimal(u["price"]) for u in units), Decimal("0"))
    return {
        "zone_id": price_zone.pk,
        "quantity": quantity,
        "unit_ids": [u["unit_id"] for u in units],
        "seats": units,
        "total": format_money(total, price_zone.currency),
    }


# -- the hold --------------------------------------------------------------------------------


@router.post(
    "/sessions/{session_id}/seatmap/hold",
    auth=django_auth,
    response={
        201: SeatmapHoldOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: SeatmapConflictOut,
        422: ErrorOut,
    },
    summary="Seat map: hold seats or standing places",
    url_name="seatmap_hold",
)
def hold(request, session_id: SessionId, payload: SeatmapHoldIn):
    """Hold ``unit_ids`` (seats chosen on the map, a proposal or an alternative), or
    ``quantity`` places of the standing ``section``, for the signed-in fan: 201 with the
    checkout address. 409 ``places_unavailable`` with ``details.lost`` (the seats another
    buyer took first) and ``details.alternatives`` (the nearest blocks of the same size)
    when seats were lost; nothing is held then. 400 when the body is not JSON, 403 for a
    failed CSRF check or a missing admission pass, 422 for input that is not valid."""
    session = _session(session_id)
    now = clock.now()
    user = request.auth
    admission_pass = admission.pass_from_request(request, session.pk)
    if payload.unit_ids is not None:
        choice = PlaceChoice(unit_ids=tuple(dict.fromkeys(payload.unit_ids)))
    else:
        choice = PlaceChoice(section_id=payload.section, quantity=payload.quantity)
    try:
        held = sale.hold_places(
            session=session,
            user=user,
            choice=choice,
            now=now,
            admission_pass=admission_pass,
            buyer=limits.buyer_from_meta(request.META),
        )
    except PlacesUnavailable as exc:
        lost = sorted(exc.details.get("unit_ids", []))
        if not lost or payload.unit_ids is None:
            raise
        described = _describe_units(lost)
        labels = ", ".join(u["label"] for u in described)
        raise PlacesUnavailable(
            _("Another buyer took %(seats)s before you. Choose again or take a suggestion.")
            % {"seats": labels},
            details={
                "lost": described,
                "alternatives": _alternatives(
                    session, lost=lost, quantity=len(choice.unit_ids), now=now
                ),
            },
        ) from exc
    return Status(
        201,
        {
            "hold_id": str(held.pk),
            "checkout_url": reverse("storefront:checkout", kwargs={"hold_id": held.pk}),
        },
    )
