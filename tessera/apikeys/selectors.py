"""Reads of the keys pages and the one rule settlement needs: which orders are sandbox ones.

A sandbox order is an order of a session whose event belongs to a sandbox organization
(``Organization.is_sandbox``). Only sandbox keys sell those sessions, fans never see them
and their places are all allocated to sandbox channels, so the test is exact. Settlement,
statements and reconciliation read ``live_orders(qs)`` (or ask ``is_sandbox_order``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet, Sum

from tessera.apikeys.errors import KeyNotFound
from tessera.apikeys.models import KeyCallCount, KeyCallError, SandboxWorld
from tessera.sale.models import ChannelKey

LOG_DAYS = 7


def is_sandbox_order(order) -> bool:
    """Whether ``order`` was sold in a sandbox world (never settled, never reconciled)."""
    return bool(order.session.event.organization.is_sandbox)


def live_orders(orders: QuerySet) -> QuerySet:
    """``orders`` without the sandbox ones (one join in the same query)."""
    return orders.exclude(session__event__organization__is_sandbox=True)


def partner_keys(partner) -> QuerySet[ChannelKey]:
    """Every key of the partner: of its own channels and of its sandbox channel."""
    return (
        ChannelKey.objects.filter(
            Q(channel__organization=partner) | Q(channel__sandbox_world__partner=partner)
        )
        .select_related("channel", "created_by")
        .order_by("-created_at", "-pk")
    )


def get_partner_key(partner, key_id) -> ChannelKey:
    """One of the partner's keys; KeyNotFound for anything else (another partner's too)."""
    try:
        pk = int(key_id)
    except (TypeError, ValueError):
        raise KeyNotFound() from None
    if not 0 < pk < 2**63:
        raise KeyNotFound()
    found = partner_keys(partner).filter(pk=pk).first()
    if found is None:
        raise KeyNotFound()
    return found


def sandbox_world(partner) -> SandboxWorld | None:
    return (
        SandboxWorld.objects.filter(partner=partner)
        .select_related("channel", "organization")
        .first()
    )


def sandbox_sessions(world: SandboxWorld):
    from tessera.catalog.models import Session

    return (
        Session.objects.filter(event__organization=world.organization)
        .select_related("event")
        .prefetch_related("price_zones")
        .order_by("starts_at", "pk")
    )


def key_status(key: ChannelKey, now: datetime, replaced: set[int] = frozenset()) -> str:
    """active, rotating (replaced by a newer key, working until its expiry), expired or
    revoked. ``replaced``: ids of keys some other key was rotated from."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    if key.pk in replaced:
        return "rotating"
    return "active"


@dataclass
class EndpointCalls:
    endpoint: str
    ok: int = 0
    client_errors: int = 0
    server_errors: int = 0

    @property
    def total(self) -> int:
        return self.ok + self.client_errors + self.server_errors


@dataclass
class KeyCalls:
    key: ChannelKey
    endpoints: list[EndpointCalls] = field(default_factory=list)
    errors: list[KeyCallError] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(e.total for e in self.endpoints)

    @property
    def failed(self) -> int:
        return sum(e.client_errors + e.server_errors for e in self.endpoints)


def call_log(keys: list[ChannelKey], *, now: datetime, errors: int = 10) -> list[KeyCalls]:
    """Per key, the last LOG_DAYS days of calls per endpoint and status class, and its
    latest ``errors`` errors (two queries plus one per key for the errors)."""
    since = now - timedelta(days=LOG_DAYS)
    by_key = {k.pk: KeyCalls(key=k) for k in keys}
    rows = (
        KeyCallCount.objects.filter(key_id__in=list(by_key), hour__gte=since)
        .values("key_id", "endpoint", "status_class")
        .annotate(n=Sum("count"))
        .order_by("key_id", "endpoint", "status_class")
    )
    endpoints: dict[tuple[int, str], EndpointCalls] = {}
    for row in rows:
        ep = endpoints.get((row["key_id"], row["endpoint"]))
        if ep is None:
            ep = endpoints[(row["key_id"], row["endpoint"])] = EndpointCalls(row["endpoint"])
            by_key[row["key_id"]].endpoints.append(ep)
        if row["status_class"] == "2xx":
            ep.ok += row["n"]
        elif row["status_class"] == "4xx":
            ep.client_errors += row["n"]
        else:
            ep.server_errors += row["n"]
    if errors:
        for calls in by_key.values():
            calls.errors = list(
                KeyCallError.objects.filter(key=calls.key, at__gte=since).order_by("-at", "-id")[
                    :errors
                ]
            )
    return list(by_key.values())


def hourly_counts(key: ChannelKey, *, now: datetime) -> list[tuple[datetime, int, int]]:
    """(hour, calls, failed) for each hour of the last LOG_DAYS days that had calls,
    newest first."""
    rows = (
        KeyCallCount.objects.filter(key=key, hour__gte=now - timedelta(days=LOG_DAYS))
        .values("hour", "status_class")
        .annotate(n=Sum("count"))
        .order_by("-hour")
    )
    hours: dict[datetime, list[int]] = {}
    for row in rows:
        slot = hours.setdefault(row["hour"], [0, 0])
        slot[0] += row["n"]
        if row["status_class"] != "2xx":
            slot[1] += row["n"]
    return [(hour, total, failed) for hour, (total, failed) in hours.items()]
