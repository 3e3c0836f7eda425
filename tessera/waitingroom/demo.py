"""Demo data of the waiting room: the two Beijing nights of the Lin Xia Galaxy Tour sell
through one queue (pre-queue open for an hour, sale opening five minutes after loading)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tessera.catalog.models import Session
from tessera.waitingroom import services
from tessera.waitingroom.models import RateMode, WaitingRoom

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
