"""Waiting-room API: a room's public figures, joining, and the cheap status check that hands
out the admission pass to send as ``X-Tessera-Admission`` with holds."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema, Status
from ninja.security import django_auth

from tessera.core.clock import now as clock_now
from tessera.core.schemas import ErrorOut
from tessera.waitingroom import services
from tessera.waitingroom.errors import RoomNotFound
from tessera.waitingroom.models import WaitingRoom
from tessera.waitingroom.status import check_status

router = Router(tags=["waitingroom"])

_ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class RoomOut(Schema):
    id: int
    name: str
    state: str
    prequeue_opens_at: datetime
    opens_at: datetime
    session_ids: list[int]


class JoinOut(Schema):
    token: str
    entry_id: int
    position: int | None
    requeued: bool


class StatusOut(Schema):
    state: str
    position: int | None
    people_ahead: int | None
    watermark: int
    estimated_wait_seconds: int | None
    progress: float
    opens_in_seconds: int
    token: str
    admitted: bool
    admission_pass: str | None
    pass_expires_at: int | None
    session_ids: list[int]
    buy_urls: list[str]
    sold_out: bool


def _room(room_id: int) -> WaitingRoom:
    room = WaitingRoom.objects.filter(pk=room_id).first()
    if room is None:
        raise RoomNotFound()
    return room


@router.get("/waitingrooms/status", response={200: StatusOut, **_ERRORS}, summary="Queue status")
def status(request, token: str):
    """Where the token's holder stands; once admitted, ``admission_pass`` is the value of the
    ``X-Tessera-Admission`` header the hold endpoints require. Reads no database while the
    room's view in this process is fresh (at most a second old)."""
    return check_status(token, now=clock_now())


@router.get("/waitingrooms/{room_id}", response={200: RoomOut, 404: ErrorOut}, summary="A room")
def get_room(request, room_id: int):
    room = _room(room_id)
    return {
        "id": room.pk,
        "name": room.name,
        "state": room.state_at(clock_now()),
        "prequeue_opens_at": room.prequeue_opens_at,
        "opens_at": room.opens_at,
        "session_ids": list(room.sessions.values_list("pk", flat=True)),
    }


@router.post(
    "/waitingrooms/{room_id}/entries",
    auth=django_auth,
    response={201: JoinOut, **_ERRORS},
    summary="Join the queue",
)
def join(request, room_id: int):
    """The signed-in account's one entry (the same one when it joins again) and its queue
    token; poll ``/waitingrooms/status`` with it."""
    joined = services.join_queue(room=_room(room_id), user=request.auth, now=clock_now())
    return Status(
        201,
        {
            "token": joined.token,
            "entry_id": joined.entry.entry_id,
            "position": joined.entry.position or None,
            "requeued": joined.requeued,
        },
    )
