"""The waiting list over HTTP: join, status (position and offer), leave.

Every endpoint needs a signed-in account. Errors answer ``{"error": {code, message,
details}}`` in the caller's language.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from django.urls import reverse
from ninja import Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field, StrictInt

from tessera.core.clock import now as clock_now
from tessera.core.schemas import ErrorOut, Id, InputSchema
from tessera.waitlist import selectors, services
from tessera.waitlist.errors import EntryNotFound
from tessera.waitlist.models import WaitlistEntry

router = Router(tags=["waitlist"])

_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class JoinIn(InputSchema):
    quantity: Annotated[StrictInt, Field(ge=1, le=100)]
    zone: Id | None = None
    max_price: (
        Annotated[Decimal, Field(gt=0, le=Decimal("9999999999.99"), decimal_places=2)] | None
    ) = None


class OfferOut(Schema):
    id: int
    hold: UUID | None
    zone: int
    quantity: int
    expires_at: datetime
    checkout_url: str | None


class EntryOut(Schema):
    id: int
    session_id: int
    status: str
    status_label: str
    position: int | None
    quantity: int
    zone: int | None
    max_price: Decimal | None
    joined_at: datetime
    offer: OfferOut | None


def _out(entry: WaitlistEntry) -> dict:
    offer = selectors.open_offer_of(entry)
    return {
        "id": entry.pk,
        "session_id": entry.session_id,
        "status": entry.status,
        "status_label": str(entry.get_status_display()),
        "position": selectors.position_of(entry),
        "quantity": entry.quantity,
        "zone": entry.zone_id,
        "max_price": entry.max_price,
        "joined_at": entry.created_at,
        "offer": None
        if offer is None
        else {
            "id": offer.pk,
            "hold": offer.hold_id,
            "zone": offer.zone_id,
            "quantity": offer.quantity,
            "expires_at": offer.expires_at,
            "checkout_url": reverse("storefront:checkout", args=[offer.hold_id])
            if offer.hold_id
            else None,
        },
    }


@router.post(
    "/sessions/{session_id}/waitlist",
    auth=django_auth,
    response={201: EntryOut, **_ERRORS},
    summary="Join a sold-out session's waiting list",
)
def join_waitlist(request, session_id: int, payload: JoinIn):
    """Wait for ``quantity`` places of price zone ``zone``, or of any zone priced at most
    ``max_price`` (neither: any zone). Refused when such places are on sale now, over the
    per-order or per-account limit, or when you are on the list already."""
    session = selectors.get_public_session(session_id)
    entry = services.join_waitlist(
        session=session,
        user=request.auth,
        quantity=payload.quantity,
        zone_id=payload.zone,
        max_price=payload.max_price,
        now=clock_now(),
    )
    return Status(201, _out(entry))


@router.get(
    "/sessions/{session_id}/waitlist",
    auth=django_auth,
    response={200: EntryOut, **_ERRORS},
    summary="Your place on a session's waiting list",
)
def waitlist_status(request, session_id: int):
    """Your live entry: position (1 = next), or the open offer with its checkout."""
    session = selectors.get_public_session(session_id)
    entry = selectors.get_live_entry(session_id=session.pk, user=request.auth)
    if entry is None:
        raise EntryNotFound()
    return _out(entry)


@router.delete(
    "/sessions/{session_id}/waitlist",
    auth=django_auth,
    response={200: EntryOut, **_ERRORS},
    summary="Leave a session's waiting list",
)
def leave(request, session_id: int):
    """Leave the list; an offer not yet ordered goes to the next fan."""
    session = selectors.get_public_session(session_id)
    entry = selectors.get_live_entry(session_id=session.pk, user=request.auth)
    if entry is None:
        raise EntryNotFound()
    return _out(services.leave_waitlist(entry=entry, user=request.auth, now=clock_now()))
