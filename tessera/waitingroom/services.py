"""Everything that writes a waiting room: organizer controls, joining, and the advance of
the admission watermark (run every minute by the worker and lazily, at most once a second
per process, from status checks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from tessera.core import audit
from tessera.waitingroom import rate as rates
from tessera.waitingroom.backends import Entry, get_backend
from tessera.waitingroom.errors import RoomInvalid, RoomNotJoinable
from tessera.waitingroom.models import ENDED_STATUSES, RateMode, RoomStatus, WaitingRoom
from tessera.waitingroom.selectors import count_places, forget_rooms
from tessera.waitingroom.signing import QueueToken

# An advance never banks more than this much time (a worker that was down for an hour does
# not release an hour's worth of fans at once).
MAX_ELAPSED = timedelta(minutes=2)


def _validate(room: WaitingRoom) -> None:
    if room.opens_at < room.prequeue_opens_at:
        raise RoomInvalid(_("The pre-queue must open before the on-sale."))
    if room.pass_minutes < 1 or room.max_active_shoppers < 1:
        raise RoomInvalid(_("Pass minutes and maximum active shoppers must be at least 1."))
    if room.rate_mode == RateMode.FIXED and room.rate_per_minute < 1:
        raise RoomInvalid(_("A fixed rate must admit at least one fan per minute."))


def create_room(
    *,
    organization,
    name: str,
    name_en: str = "",
    sessions: list,
    prequeue_opens_at: datetime,
    opens_at: datetime,
    rate_mode: str = RateMode.FIXED,
    rate_per_minute: int = 100,
    max_active_shoppers: int = 500,
    pass_minutes: int = 15,
    actor=None,
    now: datetime,
) -> WaitingRoom:
    """A waiting room for sessions of the organization's events that sell together.

    Raises RoomInvalid for times out of order, non-positive limits, a session of another
    organization or one that already has a room.
    """
    if not sessions:
        raise RoomInvalid(_("Choose at least one session."))
    if any(s.event.organization_id != organization.pk for s in sessions):
        raise RoomInvalid(_("Every session must belong to the organization's events."))
    if WaitingRoom.objects.filter(sessions__in=sessions).exclude(status=RoomStatus.CLOSED).exists():
        raise RoomInvalid(_("One of these sessions already has a waiting room."))
    room = WaitingRoom(
        organization=organization,
        name=name,
        name_en=name_en,
        prequeue_opens_at=prequeue_opens_at,
        opens_at=opens_at,
        rate_mode=rate_mode,
        rate_per_minute=rate_per_minute,
        max_active_shoppers=max_active_shoppers,
        pass_minutes=pass_minutes,
    )
    _validate(room)
    with transaction.atomic():
        room.save()
        room.sessions.set(sessions)
        forget_rooms()
        transaction.on_commit(forget_rooms)
        audit.record(
            action="waitingroom.created",
            obj=room,
            actor=actor,
            organization_id=organization.pk,
            now=now,
            data={"sessions": [s.pk for s in sessions]},
        )
    return room


def _set_status(room: WaitingRoom, status: str, *, actor, now: datetime, action: str) -> None:
    with transaction.atomic():
        WaitingRoom.objects.filter(pk=room.pk).update(status=status, updated_at=now)
        room.status = status
        forget_rooms()
        transaction.on_commit(forget_rooms)
        audit.record(
            action=action, obj=room, actor=actor, organization_id=room.organization_id, now=now
        )


def pause_room(*, room: WaitingRoom, actor, now: datetime) -> WaitingRoom:
    """Stop admitting (fans keep their places; admitted fans keep their passes)."""
    if room.status in ENDED_STATUSES:
        raise RoomInvalid(_("This waiting room has ended."))
    _set_status(room, RoomStatus.PAUSED, actor=actor, now=now, action="waitingroom.paused")
    return room


def resume_room(*, room: WaitingRoom, actor, now: datetime) -> WaitingRoom:
    """Admit again at the set rate; time spent paused is not made up in one burst."""
    if room.status != RoomStatus.PAUSED and room.status != RoomStatus.SOLD_OUT:
        raise RoomInvalid(_("Only a paused or sold-out waiting room can resume."))
    with transaction.atomic():
        WaitingRoom.objects.filter(pk=room.pk).update(last_advanced_at=now)
        room.last_advanced_at = now
        _set_status(room, RoomStatus.SCHEDULED, actor=actor, now=now, action="waitingroom.resumed")
    return room


def close_room(*, room: WaitingRoom, actor, now: datetime) -> WaitingRoom:
    """End the waiting room: holds no longer need a pass."""
    _set_status(room, RoomStatus.CLOSED, actor=actor, now=now, action="waitingroom.closed")
    return room


def set_rate(
    *, room: WaitingRoom, rate_mode: str, rate_per_minute: int, actor, now: datetime
) -> WaitingRoom:
    """Change the admission rate (fixed fans per minute, or automatic)."""
    if rate_mode not in RateMode.values:
        raise RoomInvalid(_("Unknown rate mode."))
    room.rate_mode = rate_mode
    room.rate_per_minute = rate_per_minute
    _validate(room)
    with transaction.atomic():
        WaitingRoom.objects.filter(pk=room.pk).update(
            rate_mode=rate_mode, rate_per_minute=rate_per_minute, updated_at=now
        )
        audit.record(
            action="waitingroom.rate_changed",
            obj=room,
            actor=actor,
            organization_id=room.organization_id,
            now=now,
            data={"rate_mode": rate_mode, "rate_per_minute": rate_per_minute},
        )
    return room


def open_room(*, room: WaitingRoom, now: datetime) -> int:
    """Order the pre-queue by its random keys (once; later calls change nothing) and start
    first-come-first-served numbering after it. Returns the last position given."""
    last = get_backend().order_prequeue(room.pk, now=now)
    WaitingRoom.objects.filter(pk=room.pk, prequeue_ordered_at__isnull=True).update(
        prequeue_ordered_at=now, last_advanced_at=room.opens_at
    )
    room.refresh_from_db(fields=["prequeue_ordered_at", "last_advanced_at", "last_position"])
    return last


@dataclass(frozen=True)
class Joined:
    entry: Entry
    token: str
    requeued: bool = False


def join_queue(*, room: WaitingRoom, user, now: datetime) -> Joined:
    """The account's one entry in the room, created on first join.

    Before opening the entry waits unordered (position 0); after opening it gets the next
    position. Joining again returns the same entry while its place is still good; a fan
    whose admission pass has run out goes to the back of the line.

    Raises RoomNotJoinable before the pre-queue opens, after a sell-out or close.
    """
    state = room.state_at(now)
    if state in (RoomStatus.SCHEDULED, *ENDED_STATUSES):
        raise RoomNotJoinable()
    backend = get_backend()
    if now >= room.opens_at and room.prequeue_ordered_at is None:
        open_room(room=room, now=now)
    entry = backend.join(room.pk, user.pk, now=now)
    requeued = False
    if not entry.is_new and entry.position:
        from tessera.waitingroom.status import admission_expired

        if admission_expired(room=room, position=entry.position, now=now):
            entry = Entry(entry.entry_id, backend.requeue(room.pk, entry.entry_id))
            requeued = True
    token = QueueToken(room.pk, entry.entry_id, entry.position, user.pk).sign()
    return Joined(entry=entry, token=token, requeued=requeued)


def advance_room(*, room: WaitingRoom, now: datetime) -> int:
    """One step of admission: open at on-sale time, detect a sell-out, raise the watermark
    by rate × time since the last step (capped by shopper headroom and the queue). Returns
    the watermark."""
    backend = get_backend()
    state = room.state_at(now)
    if state in (RoomStatus.SCHEDULED, RoomStatus.PREQUEUE, RoomStatus.CLOSED):
        return backend.counters(room.pk).watermark
    if now < room.opens_at:  # paused or sold out before the opening: nothing to order yet
        return backend.counters(room.pk).watermark
    if room.prequeue_ordered_at is None:
        open_room(room=room, now=now)
    counters = backend.counters(room.pk)
    if state == RoomStatus.SOLD_OUT:
        return counters.watermark
    session_ids = list(room.sessions.values_list("pk", flat=True))
    free, held = count_places(session_ids=session_ids, now=now)
    if free == 0 and held == 0:
        _set_status(room, RoomStatus.SOLD_OUT, actor=None, now=now, action="waitingroom.sold_out")
        return counters.watermark
    if state == RoomStatus.PAUSED:
        return counters.watermark
    active = counters.watermark - backend.watermark_at(
        room.pk, now - timedelta(minutes=room.pass_minutes)
    )
    headroom = max(0, room.max_active_shoppers - active)
    if room.rate_mode == RateMode.AUTOMATIC:
        rate = rates.automatic_rate(
            max_active=room.max_active_shoppers, active=active, places_free=free, places_held=held
        )
    else:
        rate = room.rate_per_minute if free > 0 else 0
    since = max(room.last_advanced_at or room.opens_at, now - MAX_ELAPSED)
    elapsed = (now - since).total_seconds()
    queued = counters.last_position - counters.watermark
    due = rates.admissions_due(
        rate_per_minute=rate, elapsed_seconds=elapsed, headroom=headroom, queued=queued
    )
    watermark = counters.watermark
    if due > 0:
        watermark = backend.advance(room.pk, counters.watermark + due, now=now)
        full_due = int(rate * elapsed / 60)
        # Bank the unused part of a second only when the rate itself limited the step.
        last = since + timedelta(seconds=due * 60 / rate) if due == full_due else now
    elif rate == 0 or queued == 0 or headroom == 0:
        last = now
    else:
        last = since
    WaitingRoom.objects.filter(pk=room.pk).update(last_advanced_at=last, current_rate=rate)
    room.last_advanced_at, room.current_rate = last, rate
    return watermark


def advance_open_rooms(*, now: datetime) -> int:
    """Advance every room whose pre-queue has opened and that has not ended. Returns the
    number of rooms advanced."""
    rooms = WaitingRoom.objects.filter(prequeue_opens_at__lte=now).exclude(
        status__in=ENDED_STATUSES
    )
    count = 0
    for room in rooms:
        advance_room(room=room, now=now)
        count += 1
    return count
