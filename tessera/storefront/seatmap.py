"""The interactive seat map of the buy page: JSON endpoints the map's ES modules call.

* ``availability``: every section's seat states (``inventory.seatmap`` encoding), gzip,
  ETag / If-None-Match → 304; cheap enough to poll every few seconds.
* ``section_seats``: one section's seat geometry (does not change during a sale: cached
  long by the browser).
* ``section_view``: counts an opening of a section's seat view (heat map).
* ``heat``: demand per section (``inventory.demand``).
* ``propose``: the best block of N seats in a zone, read-only (nothing is held).
* ``hold``: hold chosen seats (or N standing places); when another buyer took some seats
  first, names them and offers the nearest blocks of the same size in the same zone.

Errors answer ``{"error": {"code", "message", "details"}}`` in the fan's language.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from decimal import Decimal

from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tessera.catalog.models import EventStatus, PriceZone, Session, SessionStatus
from tessera.catalog.selectors import get_public_session
from tessera.core import clock
from tessera.core.errors import DomainError, InvalidInput, NotFound
from tessera.core.i18n import localized
from tessera.core.money import format_money
from tessera.inventory import admission, demand
from tessera.inventory import seatmap as encoding
from tessera.inventory import selectors as inventory_selectors
from tessera.inventory import services as inventory
from tessera.inventory.best_available import find_alternatives, find_blocks
from tessera.inventory.errors import PlacesUnavailable
from tessera.inventory.models import InventoryUnit
from tessera.venues.models import Section, SectionKind

MAX_SEATS = 100
ALTERNATIVES = 3
GEOMETRY_MAX_AGE_SECONDS = 3600


class SessionNotFound(NotFound):
    code = "session_not_found"


class SignInRequired(DomainError):
    code = "sign_in_required"
    status = 401


def _error(exc: DomainError) -> JsonResponse:
    return JsonResponse({"error": exc.as_dict()}, status=exc.status)


def _session(session_id: int) -> Session:
    try:
        return get_public_session(session_id)
    except Session.DoesNotExist as exc:
        raise SessionNotFound(_("No such session.")) from exc


def _section(session: Session, section_id) -> Section:
    try:
        pk = int(section_id)
    except (TypeError, ValueError):
        pk = None
    section = None
    if pk is not None and not isinstance(section_id, bool):
        section = Section.objects.filter(pk=pk, layout_id=session.layout_id).first()
    if section is None:
        raise NotFound(_("No such section in this session."))
    return section


def _zone(session: Session, zone_id) -> PriceZone:
    try:
        zone = session.price_zones.filter(pk=int(zone_id)).first()
    except (TypeError, ValueError):
        zone = None
    if zone is None:
        raise InvalidInput(_("Please choose a price zone of this session."))
    return zone


def _quantity(session: Session, raw) -> int:
    try:
        quantity = int(raw)
    except (TypeError, ValueError):
        quantity = 0
    if isinstance(raw, bool) or quantity < 1:
        raise InvalidInput(_("Please choose how many places you want."))
    if quantity > session.max_tickets_per_order:
        raise InvalidInput(
            _("At most %(limit)d tickets per order.") % {"limit": session.max_tickets_per_order}
        )
    return quantity


def _handles_errors(view):
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            return _error(exc)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _accepts_gzip(request) -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "")


def _json_bytes(request, *, body: bytes, gzipped: bytes | None, etag: str, cache_control: str):
    """``body`` (JSON) with its ETag; 304 when the browser has it; gzip when accepted."""
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    elif _accepts_gzip(request):
        response = HttpResponse(gzipped or gzip.compress(body, mtime=0))
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(body)
    response["Content-Type"] = "application/json"
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    response["Vary"] = "Accept-Encoding"
    return response


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


def _total(units: list[dict], session: Session) -> str:
    currency = next((z.currency for z in session.price_zones.all()), "CNY")
    return format_money(sum((Decimal(u["price"]) for u in units), Decimal("0")), currency)


# -- reads -----------------------------------------------------------------------------------


def _session_for_polling(session_id: int) -> Session:
    """The public session, in one light query (the availability poll runs every 5 s)."""
    session = (
        Session.objects.filter(pk=session_id, event__status=EventStatus.PUBLISHED)
        .exclude(status=SessionStatus.CANCELLED)
        .only("id", "created_at")
        .first()
    )
    if session is None:
        raise SessionNotFound(_("No such session."))
    return session


@require_GET
@_handles_errors
def availability(request, session_id: int):
    """Seat states of every section (see ``inventory.seatmap``), gzip, ETag and 304."""
    session = _session_for_polling(session_id)
    encoded = encoding.cached_availability(session=session, now=clock.now())
    return _json_bytes(
        request,
        body=encoded.body,
        gzipped=encoded.gzipped,
        etag=encoded.etag,
        cache_control="no-cache",
    )


@require_GET
@_handles_errors
def section_seats(request, session_id: int, section_id: int):
    """One section's seats in seat order (the order of the availability states)."""
    session = _session(session_id)
    section = _section(session, section_id)
    body = json.dumps(
        encoding.section_seats(session=session, section_id=section.pk), separators=(",", ":")
    ).encode()
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    return _json_bytes(
        request,
        body=body,
        gzipped=None,
        etag=etag,
        cache_control=f"public, max-age={GEOMETRY_MAX_AGE_SECONDS}",
    )


@require_POST
@_handles_errors
def section_view(request, session_id: int, section_id: int):
    """Count that a fan opened this section's seat view (for the heat map)."""
    session = _session(session_id)
    section = _section(session, section_id)
    demand.record_section_view(session=session, section=section, now=clock.now())
    return HttpResponse(status=204)


@require_GET
@_handles_errors
def heat(request, session_id: int):
    """Demand per section over the last ``demand.HEAT_WINDOW_MINUTES`` minutes."""
    session = _session(session_id)
    figures = demand.section_heat(session=session, now=clock.now())
    return JsonResponse(
        {
            "session_id": session.pk,
            "window_minutes": demand.HEAT_WINDOW_MINUTES,
            "sections": {
                str(section_id): {
                    "taken": f["taken"],
                    "views": f["views"],
                    "taken_per_minute": str(f["taken_per_minute"]),
                    "heat": str(f["heat"]),
                }
                for section_id, f in figures.items()
            },
        }
    )


@require_GET
@_handles_errors
def propose(request, session_id: int):
    """The best ``quantity`` adjacent seats of ``zone`` now, without holding them."""
    session = _session(session_id)
    zone = _zone(session, request.GET.get("zone"))
    quantity = _quantity(session, request.GET.get("quantity"))
    now = clock.now()
    snapshot = inventory_selectors.seat_snapshot(session=session, now=now, zone=zone)
    layout = session.layout
    blocks = find_blocks(
        snapshot, quantity=quantity, focal=(layout.focal_x, layout.focal_y), limit=1
    )
    if not blocks:
        raise PlacesUnavailable(
            _("No %(quantity)d adjacent seats are left in %(zone)s.")
            % {"quantity": quantity, "zone": localized(zone, "name")},
            details={"zone": zone.pk, "quantity": quantity},
        )
    units = _describe_units(list(blocks[0].unit_ids))
    return JsonResponse(
        {
            "zone_id": zone.pk,
            "quantity": quantity,
            "unit_ids": [u["unit_id"] for u in units],
            "seats": units,
            "total": _total(units, session),
        }
    )


# -- the hold ----------------------------------------------------------------------------------


def _alternatives(session: Session, *, lost: list[int], quantity: int, now) -> list[dict]:
    """The nearest blocks of ``quantity`` seats in the lost seats' zone, as the map shows
    them."""
    lost_units = list(
        InventoryUnit.objects.filter(id__in=lost, seat__isnull=False).values(
            "zone_id", "seat__x", "seat__y"
        )
    )
    if not lost_units:
        return []
    zone = PriceZone.objects.get(pk=lost_units[0]["zone_id"])
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


def _payload(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(_("The request could not be read.")) from exc
    if not isinstance(data, dict):
        raise InvalidInput(_("The request could not be read."))
    return data


@require_POST
@_handles_errors
def hold(request, session_id: int):
    """Hold ``unit_ids`` (seats chosen on the map or a proposal), or ``quantity`` places of
    standing ``section``. 201 with the checkout address; 409 ``places_unavailable`` with
    ``details.lost`` (descriptions of the seats someone else took) and
    ``details.alternatives`` (nearest blocks of the same size) when seats were lost."""
    if not request.user.is_authenticated:
        raise SignInRequired(_("Please sign in to hold places."))
    session = _session(session_id)
    data = _payload(request)
    now = clock.now()
    admission_pass = admission.pass_from_request(request, session.pk)
    if "unit_ids" in data:
        raw = data["unit_ids"]
        if (
            not isinstance(raw, list)
            or not raw
            or len(raw) > MAX_SEATS
            or not all(isinstance(u, int) and not isinstance(u, bool) for u in raw)
        ):
            raise InvalidInput(_("Please choose at least one seat."))
        try:
            held = inventory.hold_units(
                session=session,
                user=request.user,
                unit_ids=raw,
                now=now,
                admission_pass=admission_pass,
            )
        except PlacesUnavailable as exc:
            lost = sorted(exc.details.get("unit_ids", []))
            if not lost:
                raise
            described = _describe_units(lost)
            labels = ", ".join(u["label"] for u in described)
            raise PlacesUnavailable(
                _("Another buyer took %(seats)s before you. Choose again or take a suggestion.")
                % {"seats": labels},
                details={
                    "lost": described,
                    "alternatives": _alternatives(
                        session, lost=lost, quantity=len(set(raw)), now=now
                    ),
                },
            ) from exc
    else:
        section = _section(session, data.get("section"))
        if section.kind != SectionKind.STANDING:
            raise InvalidInput(_("Choose seats on the map for a seated section."))
        zone_id = (
            session.zone_assignments.filter(section=section).values_list("zone_id", flat=True)
        ).first()
        if zone_id is None:
            raise InvalidInput(_("This area is not on sale."))
        held = inventory.hold_quantity(
            session=session,
            user=request.user,
            zone=PriceZone.objects.get(pk=zone_id),
            section=section,
            quantity=_quantity(session, data.get("quantity")),
            now=now,
            admission_pass=admission_pass,
        )
    return JsonResponse(
        {
            "hold_id": str(held.pk),
            "checkout_url": reverse("storefront:checkout", kwargs={"hold_id": held.pk}),
        },
        status=201,
    )
