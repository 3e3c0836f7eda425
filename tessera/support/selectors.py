"""Reads of support: the inbox's SLA, the daily figures, the fan's orders beside the chat."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import QuerySet

from tessera.support.models import Conversation, ConversationStatus, Message, Sender

# How long a fan may wait for a person's first answer.
SLA_MINUTES = 30
PRIORITY_SLA_MINUTES = 5


def sla_due_at(conversation: Conversation) -> datetime | None:
    """When the first answer is due (None: not handed to a person, or answered)."""
    if conversation.escalated_at is None or conversation.first_response_at is not None:
        return None
    minutes = PRIORITY_SLA_MINUTES if conversation.is_priority else SLA_MINUTES
    return conversation.escalated_at + timedelta(minutes=minutes)


def visible_messages(conversation: Conversation, *, after_id: int = 0) -> QuerySet[Message]:
    """What the fan sees: everything but internal notes."""
    return (
        Message.objects.filter(conversation=conversation, pk__gt=after_id)
        .exclude(sender=Sender.NOTE)
        .select_related("author")
        .order_by("pk")
    )


def fan_orders_for_agent(conversation: Conversation, *, organization_ids: list[int] | None):
    """The fan's orders an agent may see (``organization_ids`` None: all, a platform agent)."""
    from tessera.orders.models import Order

    if conversation.user_id is None:
        return Order.objects.none()
    orders = Order.objects.filter(user_id=conversation.user_id)
    if organization_ids is not None:
        orders = orders.filter(session__event__organization_id__in=organization_ids)
    return orders.select_related("session__event", "session__layout__venue").order_by(
        "-created_at"
    )[:20]


def daily_metrics(conversations: QuerySet[Conversation], *, since: datetime, zone) -> list[dict]:
    """Per local day (newest first): conversations, the share the bot answered without a
    person, median first response and resolution times (minutes), mean satisfaction."""
    rows = conversations.filter(created_at__gte=since).values_list(
        "created_at", "escalated_at", "first_response_at", "closed_at", "rating"
    )
    days: dict = defaultdict(
        lambda: {"total": 0, "bot_only": 0, "first": [], "resolve": [], "ratings": []}
    )
    for created_at, escalated_at, first_at, closed_at, rating in rows:
        day = days[created_at.astimezone(zone).date()]
        day["total"] += 1
        if escalated_at is None:
            day["bot_only"] += 1
        if escalated_at is not None and first_at is not None:
            day["first"].append((first_at - escalated_at).total_seconds() / 60)
        if escalated_at is not None and closed_at is not None:
            day["resolve"].append((closed_at - escalated_at).total_seconds() / 60)
        if rating is not None:
            day["ratings"].append(rating)
    result = []
    for on, day in sorted(days.items(), reverse=True):
        result.append(
            {
                "day": on,
                "conversations": day["total"],
                "bot_share": round(100 * day["bot_only"] / day["total"], 1),
                "first_response_minutes": round(statistics.median(day["first"]), 1)
                if day["first"]
                else None,
                "resolution_minutes": round(statistics.median(day["resolve"]), 1)
                if day["resolve"]
                else None,
                "satisfaction": round(statistics.mean(day["ratings"]), 2)
                if day["ratings"]
                else None,
                "ratings": len(day["ratings"]),
            }
        )
    return result


def waiting_count(conversations: QuerySet[Conversation]) -> int:
    return conversations.filter(status=ConversationStatus.WAITING).count()
