"""Reads of after-sales: a session's demand (for the demand fee), an order's requests, the
organizer's review queue."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, QuerySet

from tessera.aftersales.fees import Demand
from tessera.aftersales.models import RefundRequest, RequestStatus
from tessera.checkin.models import Presence
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.waitingroom.backends import get_backend
from tessera.waitingroom.models import RoomStatus
from tessera.waitingroom.selectors import get_room_for_session


def waiting_fans(session_id: int, now: datetime) -> int:
    """Fans in the queue of the session's open waiting room who have not been let in yet
    (the waitlist adds its own when it exists)."""
    room = get_room_for_session(session_id)
    if room is None or room.state_at(now) != RoomStatus.OPEN:
        return 0
    counters = get_backend().counters(room.pk)
    return max(0, counters.last_position - counters.watermark)


def demand_for(session_id: int, now: datetime) -> Demand:
    """The session's demand now: places sold, places on sale in all, fans waiting."""
    row = InventoryUnit.objects.filter(session_id=session_id).aggregate(
        sold=Count("id", filter=Q(status=UnitStatus.SOLD)),
        capacity=Count("id", filter=~Q(status=UnitStatus.BLOCKED)),
    )
    return Demand(sold=row["sold"], capacity=row["capacity"], waiting=waiting_fans(session_id, now))


def entered_ticket_ids(ticket_ids: list[int]) -> set[int]:
    """Those of the tickets that have entered at a gate at least once."""
    return set(
        Presence.objects.filter(ticket_id__in=ticket_ids, entries__gt=0).values_list(
            "ticket_id", flat=True
        )
    )


def requests_of_order(order) -> QuerySet[RefundRequest]:
    return (
        RefundRequest.objects.filter(order=order)
        .prefetch_related("lines__line", "refunds")
        .order_by("-created_at")
    )


def review_queue(*, organization_ids: list[int] | None) -> QuerySet[RefundRequest]:
    """Requests waiting for an organizer's decision, oldest first; ``None``: every
    organization (platform operators)."""
    found = RefundRequest.objects.filter(status=RequestStatus.REQUESTED)
    if organization_ids is not None:
        found = found.filter(order__session__event__organization_id__in=organization_ids)
    return found.select_related("order__session__event", "requested_by").order_by("created_at")
