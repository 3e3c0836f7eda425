"""Tickets over the API: a buyer's ticket with its credential, and for gate devices the
session's public keys and revocation list.

Gate devices verify credentials offline (tessera/tickets/credentials.py): they need the
public keys of the session (``GET /sessions/{id}/keys``) and the revoked versions
(``GET /sessions/{id}/revocations``, incrementally with ``since``). Until gate devices get
their own credentials, these two answer members of the session's organizer or venue
operator (and platform operators).
"""

import base64
from datetime import datetime
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.security import django_auth

from tessera.accounts.selectors import is_platform_operator, list_organization_ids
from tessera.catalog.models import Session
from tessera.core.clock import now as clock_now
from tessera.core.errors import InvalidInput, NotFound, PermissionDenied
from tessera.core.schemas import ErrorOut
from tessera.tickets import credentials, selectors, services
from tessera.tickets.models import TicketStatus

router = Router(tags=["tickets"])

_MAX_ID = 2**63 - 1


_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class TicketOut(Schema):
    public_id: UUID
    number: str
    status: str
    version: int
    holder_name: str
    event_name: str
    session_id: int
    starts_at: datetime
    time_zone: str
    venue_name: str
    section_code: str
    section_name: str
    row_label: str
    seat_label: str
    is_standing: bool
    zone_name: str
    price: str
    currency: str
    order_number: str
    credential: str | None
    qr_svg_url: str | None


class PublicKeyOut(Schema):
    kid: int
    public_key: str
    created_at: datetime
    retired_at: datetime | None


class SessionKeysOut(Schema):
    session_id: int
    algorithm: str
    credential_prefix: str
    keys: list[PublicKeyOut]


class RevocationOut(Schema):
    ticket_id: int
    version: int


class RevocationListOut(Schema):
    session_id: int
    as_of: datetime
    revocations: list[RevocationOut]


class RevocationQuery(Schema):
    since: datetime | None = None


@router.get("/tickets/{public_id}", auth=django_auth, response={200: TicketOut, **_ERRORS})
def get_ticket(request, public_id: UUID):
    """A ticket of the signed-in buyer or holder with its current credential (the QR code's
    text); ``credential`` is null once the ticket is revoked, and for a buyer who transferred
    it to another account. Someone else's ticket answers 404."""
    ticket = selectors.get_ticket_of_owner(public_id=public_id, user=request.auth)
    summary = selectors.summarize_ticket(ticket)
    credential = None
    qr_url = None
    if ticket.status == TicketStatus.VALID and ticket.is_held_by(request.auth):
        credential = services.credential_for(ticket=ticket, now=clock_now())
        qr_url = f"/tickets/{ticket.public_id}/qr.svg"
    return {
        "public_id": summary.public_id,
        "number": summary.number,
        "status": summary.status,
        "version": summary.version,
        "holder_name": summary.holder_name,
        "event_name": summary.event_name,
        "session_id": ticket.session_id,
        "starts_at": summary.starts_at_local,
        "time_zone": summary.time_zone,
        "venue_name": summary.venue_name,
        "section_code": summary.section_code,
        "section_name": summary.section_name,
        "row_label": summary.row_label,
        "seat_label": summary.seat_label,
        "is_standing": summary.is_standing,
        "zone_name": summary.zone_name,
        "price": str(summary.price),
        "currency": summary.currency,
        "order_number": summary.order_number,
        "credential": credential,
        "qr_svg_url": qr_url,
    }


def _session_for_gate(request, session_id: int) -> Session:
    session = Session.objects.select_related("event", "layout__venue").filter(pk=session_id).first()
    if session is None:
        raise NotFound()
    user = request.auth
    allowed = {session.event.organization_id, session.layout.venue.organization_id}
    if not (is_platform_operator(user) or allowed & set(list_organization_ids(user))):
        raise PermissionDenied(_("Only the organizer's or the venue's staff may read this."))
    return session


@router.get(
    "/sessions/{session_id}/keys", auth=django_auth, response={200: SessionKeysOut, **_ERRORS}
)
def get_session_keys(request, session_id: int = Path(..., ge=1, le=_MAX_ID)):
    """The Ed25519 public keys (base64 of the 32 raw bytes) that sign the session's
    credentials, retired ones included: a credential names its key by ``kid``."""
    session = _session_for_gate(request, session_id)
    return {
        "session_id": session.pk,
        "algorithm": "Ed25519",
        "credential_prefix": credentials.PREFIX,
        "keys": [
            {
                "kid": key.kid,
                "public_key": base64.b64encode(bytes(key.public_key)).decode("ascii"),
                "created_at": key.created_at,
                "retired_at": key.retired_at,
            }
            for key in selectors.list_signing_keys(session)
        ],
    }


@router.get(
    "/sessions/{session_id}/revocations",
    auth=django_auth,
    response={200: RevocationListOut, **_ERRORS},
)
def get_session_revocations(
    request, query: Query[RevocationQuery], session_id: int = Path(..., ge=1, le=_MAX_ID)
):
    """Revoked credentials of the session: a scanner refuses ``ticket_id`` at ``version``
    and every lower version. With ``since`` (the ``as_of`` of the previous answer), only
    tickets revoked since then."""
    session = _session_for_gate(request, session_id)
    if query.since is not None and query.since.utcoffset() is None:
        raise InvalidInput(
            _("Give since with a time zone offset, for example 2026-12-01T10:00:00+08:00."),
            details={"errors": [{"field": "query.since", "message": _("No time zone offset.")}]},
        )
    as_of = clock_now()
    pairs = selectors.revocation_list(session, since=query.since)
    return {
        "session_id": session.pk,
        "as_of": as_of,
        "revocations": [{"ticket_id": t, "version": v} for t, v in sorted(pairs)],
    }
