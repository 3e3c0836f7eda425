"""Reads of the waiting room shared by the guard, the pages and the back office."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from django.db.models import Count, Q

from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.selectors import holdable
from tessera.waitingroom.backends import get_backend
from tessera.waitingroom.models import RoomStatus, WaitingRoom


def get_room_for_session(session_id: int) -> WaitingRoom | None:
    """The waiting room that governs a session's sale (any room not closed), or None."""
    return (
        WaitingRoom.objects.filter(sessions__pk=session_id)
        .exclude(status=RoomStatus.CLOSED)
        .order_by("-opens_at")
        .first()
    )


# Which room governs a session, remembered per process this long: the hold guard runs on
# every hold, and rooms change rarely (services forget a session's answer at once in the
# process that changes it; other processes see the change within this time).
ROOM_CACHE_SECONDS = 1.0
_rooms: dict[int, tuple[float, object]] = {}
_rooms_lock = threading.Lock()


def room_governing(session_id: int):
    """The waiting room that governs the session (``get_room_for_session``), remembered for
    ROOM_CACHE_SECONDS."""
    tick = time.monotonic()
    with _rooms_lock:
        hit = _rooms.get(session_id)
    if hit is not None and hit[0] > tick:
        return hit[1]
    room = get_room_for_session(session_id)
    with _rooms_lock:
        if len(_rooms) > 10_000:
            _rooms.clear()
        _rooms[session_id] = (tick + ROOM_CACHE_SECONDS, room)
    return room


def forget_rooms() -> None:
    """Forget every remembered answer (a room was created, closed or changed its sessions)."""
    with _rooms_lock:
        _rooms.clear()


def count_places(*, session_ids: list[int], now: datetime) -> tuple[int, int]:
    """(free places, places in live holds) over the room's sessions."""
    row = InventoryUnit.objects.filter(session_id__in=session_ids).aggregate(
        free=Count("id", filter=holdable(now)),
        held=Count("id", filter=Q(status=UnitStatus.HELD, hold_expires_at__gte=now)),
    )
    return row["free"], row["held"]


def get_live_figures(*, room: WaitingRoom, now: datetime) -> dict:
    """What the back office shows: queued, admitted, active shoppers, places left and the
    estimated wait of the last fan in the queue."""
    backend = get_backend()
    counters = backend.counters(room.pk, with_entries=True)
    active = counters.watermark - backend.watermark_at(
        room.pk, now - timedelta(minutes=room.pass_minutes)
    )
    free, held = count_places(session_ids=list(room.sessions.values_list("pk", flat=True)), now=now)
    unordered = counters.entries - counters.last_position if not counters.is_ordered else 0
    queued = max(0, counters.last_position - counters.watermark) + max(0, unordered)
    rate = room.shown_rate
    return {
        "state": room.state_at(now),
        "entries": counters.entries,
        "queued": queued,
        "admitted": counters.watermark,
        "active_shoppers": max(0, active),
        "places_free": free,
        "places_held": held,
        "rate_per_minute": rate,
        "estimated_wait_seconds": round(queued * 60 / rate) if rate else None,
        "backend": backend.name,
    }
