"""Holds and availability over HTTP. Writes need a signed-in buyer (session cookie); POSTs
honour an ``Idempotency-Key`` header. Errors answer ``{"error": {code, message, details}}``."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.security import django_auth
from pydantic import model_validator

from tessera.catalog.models import PriceZone, Session
from tessera.catalog.selectors import get_public_session
from tessera.core.clock import now as clock_now
from tessera.core.i18n import localized
from tessera.core.idempotency import run_idempotent
from tessera.core.schemas import ErrorOut
from tessera.inventory import admission, selectors, services
from tessera.inventory.errors import ScopeInvalid
from tessera.inventory.models import Hold
from tessera.venues.models import Section

router = Router(tags=["inventory"])

MAX_PLACES = 100


class HoldIn(Schema):
    """Exactly one way of choosing places:

    * ``unit_ids``: these places;
    * ``seat_ids``: the places of these seats;
    * ``zone`` (+ ``section``) and ``quantity``: any places there (standing areas);
    * ``best_available: true``, ``zone`` or ``section``, ``quantity`` and optionally
      ``accept_split``: the best adjacent seats there.
    """

    unit_ids: list[int] | None = Field(None, min_length=1, max_length=MAX_PLACES)
    seat_ids: list[int] | None = Field(None, min_length=1, max_length=MAX_PLACES)
    zone: int | None = Field(None, description="Price zone id.")
    section: int | None = Field(None, description="Section id.")
    quantity: int | None = Field(None, ge=1, le=MAX_PLACES)
    best_available: bool = False
    accept_split: bool = False

    @model_validator(mode="after")
    def one_way(self):
        by_ids = [name for name in ("unit_ids", "seat_ids") if getattr(self, name) is not None]
        by_area = any(v is not None for v in (self.zone, self.section, self.quantity))
        if len(by_ids) > 1 or (by_ids and (by_area or self.best_available)):
            raise ValueError(
                _(
                    "Choose places one way: unit_ids, seat_ids, a zone and a quantity, or "
                    "best_available."
                )
            )
        if by_ids:
            if self.accept_split:
                raise ValueError(_("accept_split goes with best_available."))
            return self
        if self.quantity is None:
            raise ValueError(_("A quantity is required with a zone, a section or best_available."))
        if self.best_available:
            if self.zone is None and self.section is None:
                raise ValueError(_("best_available needs a zone or a section."))
        elif self.zone is None:
            raise ValueError(_("A zone is required (or unit_ids, seat_ids or best_available)."))
        elif self.accept_split:
            raise ValueError(_("accept_split goes with best_available."))
        return self


class HoldUnitOut(Schema):
    id: int
    zone_id: int
    zone_code: str
    zone_name: str
    price: Decimal
    currency: str
    section_id: int
    section_code: str
    section_name: str
    seat_id: int | None
    row: str | None
    seat: str | None


class HoldOut(Schema):
    id: UUID
    session_id: int
    status: str
    is_live: bool
    quantity: int
    created_at: datetime
    expires_at: datetime
    extensions: int
    units: list[HoldUnitOut]


class ZoneAvailabilityOut(Schema):
    id: int
    code: str
    name: str
    price: Decimal
    currency: str
    available: int


class SectionAvailabilityOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    available: int


class AvailabilityOut(Schema):
    session_id: int
    zones: list[ZoneAvailabilityOut]
    sections: list[SectionAvailabilityOut]


def _session(session_id: int) -> Session:
    try:
        return get_public_session(session_id)
    except Session.DoesNotExist as exc:
        raise Http404 from exc


def _hold_out(hold: Hold, now: datetime) -> dict:
    """The hold as the JSON the API answers (also what an idempotent replay returns)."""
    units = [
        {
            "id": u.pk,
            "zone_id": u.zone_id,
            "zone_code": u.zone.code,
            "zone_name": localized(u.zone, "name"),
            "price": u.zone.price,
            "currency": u.zone.currency,
            "section_id": u.section_id,
            "section_code": u.section.code,
            "section_name": localized(u.section, "name"),
            "seat_id": u.seat_id,
            "row": u.seat.row.label if u.seat else None,
            "seat": u.seat.label if u.seat else None,
        }
        for u in selectors.list_hold_units(hold)
    ]
    return HoldOut(
        id=hold.pk,
        session_id=hold.session_id,
        status=hold.status,
        is_live=hold.is_live(now),
        quantity=hold.quantity,
        created_at=hold.created_at,
        expires_at=hold.expires_at,
        extensions=hold.extensions,
        units=units,
    ).model_dump(mode="json")


def _zone(session: Session, zone_id: int | None) -> PriceZone | None:
    if zone_id is None:
        return None
    zone = PriceZone.objects.filter(pk=zone_id, session=session).first()
    if zone is None:
        raise ScopeInvalid(details={"zone": zone_id})
    return zone


def _section(session: Session, section_id: int | None) -> Section | None:
    if section_id is None:
        return None
    section = Section.objects.filter(pk=section_id, layout_id=session.layout_id).first()
    if section is None:
        raise ScopeInvalid(details={"section": section_id})
    return section


_ERRORS = {404: ErrorOut, 409: ErrorOut, 410: ErrorOut, 422: ErrorOut}


@router.post(
    "/sessions/{session_id}/holds",
    auth=django_auth,
    response={201: HoldOut, **_ERRORS},
    summary="Hold places",
)
def create_hold(request, session_id: int, payload: HoldIn):
    """Hold places of a session for the signed-in buyer for the session's hold time."""
    now = clock_now()
    user = request.auth

    admission_pass = admission.pass_from_request(request, session_id)

    def run():
        session = _session(session_id)
        if payload.unit_ids is not None:
            hold = services.hold_units(
                session=session,
                user=user,
                unit_ids=payload.unit_ids,
                now=now,
                admission_pass=admission_pass,
            )
        elif payload.seat_ids is not None:
            by_seat = selectors.list_unit_ids_for_seats(session=session, seat_ids=payload.seat_ids)
            unknown = sorted(set(payload.seat_ids) - set(by_seat))
            if unknown:
                raise services.PlacesUnknown(details={"seat_ids": unknown})
            hold = services.hold_units(
                session=session,
                user=user,
                unit_ids=list(by_seat.values()),
                now=now,
                admission_pass=admission_pass,
            )
        else:
            zone = _zone(session, payload.zone)
            section = _section(session, payload.section)
            if payload.best_available:
                hold = services.hold_best_available(
                    session=session,
                    user=user,
                    quantity=payload.quantity,
                    now=now,
                    zone=zone,
                    section=section,
                    accept_split=payload.accept_split,
                    admission_pass=admission_pass,
                )
            else:
                hold = services.hold_quantity(
                    session=session,
                    user=user,
                    zone=zone,
                    quantity=payload.quantity,
                    now=now,
                    section=section,
                    admission_pass=admission_pass,
                )
        return 201, _hold_out(hold, now)

    status, body = run_idempotent(
        request,
        scope="inventory.hold",
        user_id=user.pk,
        payload=payload.model_dump(mode="json"),
        now=now,
        run=run,
    )
    return Status(status, body)


@router.get(
    "/holds/{hold_id}", auth=django_auth, response={200: HoldOut, 404: ErrorOut}, summary="A hold"
)
def get_hold(request, hold_id: UUID):
    """One of the buyer's holds, live or not, with the places it still holds."""
    hold = selectors.get_hold_for_user(hold_id=hold_id, user=request.auth)
    return Status(200, _hold_out(hold, clock_now()))


@router.post(
    "/holds/{hold_id}/extend",
    auth=django_auth,
    response={200: HoldOut, **_ERRORS},
    summary="Extend a hold once",
)
def extend_hold(request, hold_id: UUID):
    """Give a live hold the session's hold time once more."""
    now = clock_now()
    user = request.auth

    def run():
        hold = selectors.get_hold_for_user(hold_id=hold_id, user=user)
        hold = services.extend_hold(hold=hold, user=user, now=now)
        return 200, _hold_out(hold, now)

    status, body = run_idempotent(
        request, scope="inventory.hold_extend", user_id=user.pk, payload={}, now=now, run=run
    )
    return Status(status, body)


@router.delete(
    "/holds/{hold_id}", auth=django_auth, response={204: None, **_ERRORS}, summary="Release a hold"
)
def release_hold(request, hold_id: UUID):
    """Give the hold's places back (releasing twice is fine)."""
    hold = selectors.get_hold_for_user(hold_id=hold_id, user=request.auth)
    services.release_hold(hold=hold, user=request.auth, now=clock_now())
    return Status(204, None)


@router.get(
    "/sessions/{session_id}/availability",
    response={200: AvailabilityOut, 404: ErrorOut},
    summary="Free places per zone and section",
)
def availability(request, session_id: int):
    """Places a buyer could hold now in the open pool, per price zone and per section."""
    session = _session(session_id)
    now = clock_now()
    by_zone = selectors.availability_by_zone(session=session, now=now)
    by_section = selectors.availability_by_section(session=session, now=now)
    zones = [
        {
            "id": z.pk,
            "code": z.code,
            "name": z.display_name,
            "price": z.price,
            "currency": z.currency,
            "available": by_zone.get(z.pk, 0),
        }
        for z in session.price_zones.all()
    ]
    sections = [
        {
            "id": s.pk,
            "code": s.code,
            "name": s.display_name,
            "kind": s.kind,
            "available": by_section[s.pk],
        }
        for s in Section.objects.filter(pk__in=by_section).order_by("sort_order", "code")
    ]
    return Status(200, {"session_id": session.pk, "zones": zones, "sections": sections})
