"""The cheap status check: a signed queue token against a per-process view of the room.

The view (state, watermark, rate, recent admission steps) is read at most once per
``VIEW_SECONDS`` per process and room; between reads a status check reads nothing, neither
the database nor Redis. Refreshing the view also advances the room, at most once a second
across all processes (a backend lock), so the watermark moves even between the worker's
minute ticks.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.urls import reverse

from tessera.waitingroom.backends import get_backend
from tessera.waitingroom.errors import QueueTokenInvalid
from tessera.waitingroom.models import RoomStatus, WaitingRoom
from tessera.waitingroom.signing import AdmissionPass, QueueToken

VIEW_SECONDS = 1.0


@dataclass(frozen=True)
class RoomView:
    room_id: int
    status: str
    prequeue_opens_at: datetime
    opens_at: datetime
    watermark: int
    last_position: int
    rate_per_minute: int
    pass_minutes: int
    session_ids: tuple[int, ...]
    buy_urls: tuple[str, ...]
    step_watermarks: tuple[int, ...]  # ascending
    step_times: tuple[float, ...]  # Unix seconds, same order

    def state_at(self, now: datetime) -> str:
        return WaitingRoom.state_at(self, now)  # same rule as the model

    def admitted_at(self, position: int) -> float | None:
        """When ``position`` was admitted, if within the pass lifetime window."""
        i = bisect.bisect_left(self.step_watermarks, position)
        return self.step_times[i] if i < len(self.step_times) else None


_views: dict[int, tuple[float, RoomView]] = {}
_lock = threading.Lock()
_refreshing: dict[int, threading.Lock] = {}  # one per room: a slow room never holds up another


def clear_views() -> None:
    with _lock:
        _views.clear()


def _read_view(room_id: int, now: datetime) -> RoomView | None:
    room = WaitingRoom.objects.filter(pk=room_id).first()
    if room is None:
        return None
    backend = get_backend()
    if room.state_at(now) not in (RoomStatus.SCHEDULED, RoomStatus.CLOSED) and backend.try_lock(
        room_id, now=now, seconds=VIEW_SECONDS
    ):
        from tessera.waitingroom.services import advance_room

        advance_room(room=room, now=now)
    counters = backend.counters(room_id)
    session_ids = tuple(room.sessions.order_by("starts_at").values_list("pk", flat=True))
    steps = backend.steps_since(room_id, now - timedelta(minutes=room.pass_minutes, seconds=5))
    return RoomView(
        room_id=room_id,
        status=room.status,
        prequeue_opens_at=room.prequeue_opens_at,
        opens_at=room.opens_at,
        watermark=counters.watermark,
        last_position=counters.last_position,
        rate_per_minute=room.shown_rate,
        pass_minutes=room.pass_minutes,
        session_ids=session_ids,
        buy_urls=tuple(reverse("storefront:buy", args=[sid]) for sid in session_ids),
        step_watermarks=tuple(wm for wm, _at in steps),
        step_times=tuple(at for _wm, at in steps),
    )


def get_view(room_id: int, now: datetime) -> RoomView | None:
    """The room as this process last saw it, read again when older than VIEW_SECONDS.

    One thread of the process reads it again while the others go on with the view they
    have (no stampede of every thread on the second's boundary)."""
    cached = _views.get(room_id)
    tick = time.monotonic()
    if cached and cached[0] > tick:
        return cached[1]
    refreshing = _refreshing.get(room_id)
    if refreshing is None:
        with _lock:
            refreshing = _refreshing.setdefault(room_id, threading.Lock())
    if cached and not refreshing.acquire(blocking=False):
        return cached[1]
    if not cached:
        refreshing.acquire()
    try:
        again = _views.get(room_id)
        if again and again[0] > time.monotonic():
            return again[1]
        view = _read_view(room_id, now)
        if view is not None:
            with _lock:
                _views[room_id] = (time.monotonic() + VIEW_SECONDS, view)
        return view
    finally:
        refreshing.release()


def admission_expired(*, room: WaitingRoom, position: int, now: datetime) -> bool:
    """Whether an admitted ``position``'s pass lifetime is over (False if not admitted)."""
    backend = get_backend()
    if position <= 0 or position > backend.counters(room.pk).watermark:
        return False
    steps = backend.steps_since(room.pk, now - timedelta(minutes=room.pass_minutes))
    return not any(wm >= position for wm, _at in steps)


def issue_pass(*, room_id: int, user_id: int, admitted_at: float, pass_minutes: int) -> str:
    return AdmissionPass(room_id, user_id, int(admitted_at) + pass_minutes * 60).sign()


def check_status(token: str, *, now: datetime) -> dict:
    """What a fan's queue token says now (see ``api.StatusOut`` for the fields).

    Raises QueueTokenInvalid for a tampered or malformed token or an unknown room.
    """
    parsed = QueueToken.verify(token)
    if parsed is None:
        raise QueueTokenInvalid()
    view = get_view(parsed.room_id, now)
    if view is None:
        raise QueueTokenInvalid()
    state = view.state_at(now)
    position = parsed.position
    out = {
        "state": state,
        "position": position or None,
        "people_ahead": None,
        "watermark": view.watermark,
        "estimated_wait_seconds": None,
        "progress": 0.0,
        "opens_in_seconds": max(0, int((view.opens_at - now).total_seconds())),
        "token": token,
        "admitted": False,
        "admission_pass": None,
        "pass_expires_at": None,
        "session_ids": list(view.session_ids),
        "buy_urls": list(view.buy_urls),
        "sold_out": state == RoomStatus.SOLD_OUT,
    }
    if position == 0 and state not in (RoomStatus.SCHEDULED, RoomStatus.PREQUEUE):
        # The pre-queue has been ordered since this token was given: look the place up
        # once and hand out a token that carries it.
        position = get_backend().position_of(parsed.room_id, parsed.entry_id)
        if position:
            out["position"] = position
            out["token"] = QueueToken(
                parsed.room_id, parsed.entry_id, position, parsed.user_id
            ).sign()
    if position == 0 or state in (RoomStatus.SCHEDULED, RoomStatus.PREQUEUE):
        return out
    if position <= view.watermark:
        admitted_at = view.admitted_at(position)
        if admitted_at is None or admitted_at + view.pass_minutes * 60 <= now.timestamp():
            out["state"] = "expired"
            out["progress"] = 1.0
            return out
        if state in (RoomStatus.CLOSED,):
            return out
        out["admitted"] = True
        out["progress"] = 1.0
        out["people_ahead"] = 0
        out["admission_pass"] = issue_pass(
            room_id=parsed.room_id,
            user_id=parsed.user_id,
            admitted_at=admitted_at,
            pass_minutes=view.pass_minutes,
        )
        out["pass_expires_at"] = int(admitted_at) + view.pass_minutes * 60
        return out
    ahead = position - view.watermark - 1
    out["people_ahead"] = ahead
    out["progress"] = round(view.watermark / position, 4)
    if view.rate_per_minute and state == RoomStatus.OPEN:
        out["estimated_wait_seconds"] = round((ahead + 1) * 60 / view.rate_per_minute)
    return out
