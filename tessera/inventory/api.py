"""Holds and availability over HTTP (holding places is the sale's: ``tessera.sale.api``).
Writes need a signed-in buyer (session cookie); POSTs
honour an ``Idempotency-Key`` header. Errors answer ``{"error": {code, message, details}}``."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.http import Http404
from ninja import Router, Schema, Status
from ninja.security import django_auth

from tessera.catalog.models import Session
from tessera.catalog.selectors import get_public_session
from tessera.core.clock import now as clock_now
from tessera.core.i18n import localized
from tessera.core.idempotency import run_idempotent
from tessera.core.schemas import ErrorOut
from tessera.inventory import selectors, services
from tessera.inventory.models import Hold
from tessera.venues.models import Section

router = Router(tags=["inventory"])


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


def hold_answer(hold: Hold, now: datetime) -> dict:
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


_ERRORS = {404: ErrorOut, 409: ErrorOut, 410: ErrorOut, 422: ErrorOut}


@router.get(
    "/holds/{hold_id}", auth=django_auth, response={200: HoldOut, 404: ErrorOut}, summary="A hold"
)
def get_hold(request, hold_id: UUID):
    """One of the buyer's holds, live or not, with the places it still holds."""
    hold = selectors.get_hold_for_user(hold_id=hold_id, user=request.auth)
    return Status(200, hold_answer(hold, clock_now()))


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
        return 200, hold_answer(hold, now)

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
