"""Demo data of the waiting room: the two Beijing nights of the Lin Xia Galaxy Tour sell
through one queue (pre-queue open for an hour, sale opening five minutes after loading)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from tessera.catalog.models import Session
from tessera.waitingroom import services
from tessera.waitingroom.backends import get_backend
from tessera.waitingroom.models import RateMode, WaitingRoom
from tessera.waitingroom.selectors import forget_rooms

DEMO_EVENT_SLUG = "lin-xia-galaxy-tour-beijing"


def add_demo_waiting_room(*, now: datetime) -> WaitingRoom | None:
    """The demo's waiting room, or None when the demo event is missing."""
    sessions = list(
        Session.objects.filter(event__slug=DEMO_EVENT_SLUG)
        .select_related("event")
        .order_by("starts_at")
    )
    if not sessions:
        return None
    return services.create_room(
        organization=sessions[0].event.organization,
        name="林夏「星河」北京站 开票排队",
        name_en="Lin Xia Galaxy Tour Beijing: on-sale queue",
        sessions=sessions,
        prequeue_opens_at=now - timedelta(hours=1),
        opens_at=now + timedelta(minutes=5),
        rate_mode=RateMode.AUTOMATIC,
        rate_per_minute=120,
        max_active_shoppers=300,
        pass_minutes=15,
        now=now,
    )


def replay_demo_on_sale(*, now: datetime) -> WaitingRoom | None:
    """Run the demo's on-sale again: the demo's waiting room is replaced by a new one whose
    pre-queue is open and whose sale opens five minutes after ``now``, with nobody in it.

    The room is replaced rather than rewound so that queue tokens and admission passes of
    the earlier run (signed for the old room's id) no longer count. Places sold in the
    earlier run stay sold. Returns None when the demo event is missing.
    """
    backend = get_backend()
    with transaction.atomic():
        old = list(WaitingRoom.objects.filter(sessions__event__slug=DEMO_EVENT_SLUG).distinct())
        for room in old:
            backend.forget(room.pk)  # Redis keys or the database rows of its queue
            room.delete()
        forget_rooms()
        transaction.on_commit(forget_rooms)
        return add_demo_waiting_room(now=now)
