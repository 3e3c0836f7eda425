"""Check-in over the API: gate devices (``Authorization: Bearer <device token>``) download a
session's rules, scan online and sync offline scans; organizers read the live dashboard."""

from datetime import datetime
from uuid import UUID

from ninja import Field, Path, Query, Router, Schema
from ninja.security import HttpBearer, django_auth
from pydantic import AwareDatetime

from tessera.accounts.selectors import is_platform_operator, list_organization_ids
from tessera.catalog.models import Session
from tessera.checkin import selectors, services
from tessera.core.clock import now as clock_now
from tessera.core.errors import NotFound
from tessera.core.i18n import localized
from tessera.core.schemas import ErrorOut, Id, InputSchema

router = Router(tags=["checkin"])

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
_MAX_ID = 2**31 - 1


class DeviceAuth(HttpBearer):
    def authenticate(self, request, token):
        device = services.authenticate_device(token=token, now=clock_now())
        request.checkin_device = device
        return device


device_auth = DeviceAuth()


class DeviceSessionOut(Schema):
    id: int
    event_name: str
    starts_at: datetime


class DeviceOut(Schema):
    id: int
    name: str
    organization: str
    sessions: list[DeviceSessionOut]


class ScanIn(InputSchema):
    uuid: UUID
    code: str = Field(..., max_length=2000)
    gate_id: Id | None = None
    direction: str = Field("entry", max_length=10)


class ScanOut(Schema):
    uuid: UUID
    reason: str
    accepted: bool
    ticket_id: int | None
    holder_name: str
    counted: bool
    place: str = ""
    entered_at: datetime | None = None
    entered_gate: str = ""


class OfflineScanIn(InputSchema):
    uuid: UUID
    code: str = Field(..., max_length=2000)
    gate_id: Id | None = None
    direction: str = Field("entry", max_length=10)
    scanned_at: AwareDatetime  # a time without offset is refused (422), not guessed
    accepted: bool = Field(..., strict=True)
    reason: str = Field(..., max_length=30)


class SyncIn(InputSchema):
    scans: list[OfflineScanIn] = Field(..., max_length=5000)


class FlagOut(Schema):
    uuid: str
    flag: str


class SyncOut(Schema):
    received: int
    stored: int
    already_known: int
    flagged: list[FlagOut]


@router.get("/checkin/device", response={200: DeviceOut, **_ERRORS}, auth=device_auth)
def who_am_i(request):
    device = request.auth
    sessions = selectors.list_device_sessions(device, now=clock_now())
    return DeviceOut(
        id=device.pk,
        name=device.name,
        organization=localized(device.organization, "name"),
        sessions=[
            DeviceSessionOut(id=s.pk, event_name=s.event.display_name, starts_at=s.starts_at)
            for s in sessions
        ],
    )


@router.get(
    "/checkin/sessions/{session_id}/bundle", response={200: dict, **_ERRORS}, auth=device_auth
)
def session_bundle(
    request, session_id: int = Path(..., ge=1, le=_MAX_ID), names: bool = Query(False)
):
    """Keys, revocations, gates, lists, tickets' places and attendance for offline checks."""
    session = services.session_for_device(device=request.auth, session_id=session_id)
    return selectors.device_bundle(session=session, include_names=names, now=clock_now())


@router.post(
    "/checkin/sessions/{session_id}/scans", response={200: ScanOut, **_ERRORS}, auth=device_auth
)
def scan(request, payload: ScanIn, session_id: int = Path(..., ge=1, le=_MAX_ID)):
    """Judge a code online (authoritative) and record the scan."""
    session = services.session_for_device(device=request.auth, session_id=session_id)
    result = services.scan_online(
        device=request.auth,
        session=session,
        gate_id=payload.gate_id,
        direction=payload.direction,
        text=payload.code,
        scan_uuid=payload.uuid,
        now=clock_now(),
    )
    return ScanOut(
        uuid=result.scan.uuid,
        reason=result.reason,
        accepted=result.scan.is_accepted,
        ticket_id=result.ticket_id,
        holder_name=result.holder_name,
        counted=result.scan.counted,
        place=result.place,
        entered_at=result.entered_at,
        entered_gate=result.entered_gate,
    )


@router.post(
    "/checkin/sessions/{session_id}/sync", response={200: SyncOut, **_ERRORS}, auth=device_auth
)
def sync(request, payload: SyncIn, session_id: int = Path(..., ge=1, le=_MAX_ID)):
    """Merge offline scans, idempotently per scan uuid."""
    session = services.session_for_device(device=request.auth, session_id=session_id)
    result = services.sync_scans(
        device=request.auth,
        session=session,
        scans=[
            services.OfflineScan(
                uuid=s.uuid,
                gate_id=s.gate_id,
                direction=s.direction,
                text=s.code,
                scanned_at=s.scanned_at,
                is_accepted=s.accepted,
                reason=s.reason,
            )
            for s in payload.scans
        ],
        now=clock_now(),
    )
    return SyncOut(
        received=result.received,
        stored=result.stored,
        already_known=result.already_known,
        flagged=[FlagOut(uuid=u, flag=f) for u, f in result.flagged],
    )


def get_dashboard_session(user, session_id: int) -> Session:
    """The session if ``user`` is a member of its organizer (or a platform operator)."""
    session = Session.objects.select_related("event").filter(pk=session_id).first()
    if session is None:
        raise NotFound()
    if not is_platform_operator(user) and session.event.organization_id not in (
        list_organization_ids(user)
    ):
        raise NotFound()
    return session


@router.get(
    "/checkin/sessions/{session_id}/dashboard", response={200: dict, **_ERRORS}, auth=django_auth
)
def dashboard(request, session_id: int = Path(..., ge=1, le=_MAX_ID)):
    """Entries per gate in 5-minute buckets, people inside and flagged scans."""
    session = get_dashboard_session(request.user, session_id)
    return selectors.dashboard_data(session=session, now=clock_now())
