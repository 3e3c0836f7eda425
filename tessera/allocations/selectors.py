"""Reads of channel allocations: what an organizer or a distributor may see, with counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from tessera.allocations.models import Allocation
from tessera.catalog.models import Session
from tessera.inventory.models import InventoryUnit, SalesChannel
from tessera.inventory.selectors import allocation_unit_counts, holdable


@dataclass
class AllocationRow:
    allocation: Allocation
    free: int
    held: int
    sold: int
    blocked: int

    @property
    def remaining(self) -> int:
        """Places the channel may still sell now."""
        return self.free


def with_counts(allocations, *, now: datetime) -> list[AllocationRow]:
    allocations = list(allocations)
    counts = allocation_unit_counts(allocation_ids=[a.pk for a in allocations], now=now)
    return [AllocationRow(allocation=a, **counts[a.pk]) for a in allocations]


def sessions_of_organizer(organization_id: int) -> QuerySet[Session]:
    """The sessions of the organizer's events, soonest first."""
    return (
        Session.objects.filter(event__organization_id=organization_id)
        .select_related("event", "layout__venue")
        .order_by("starts_at", "pk")
    )


def allocations_of_session(session: Session) -> QuerySet[Allocation]:
    return Allocation.objects.filter(session=session).select_related("channel").order_by("-pk")


def allocations_of_distributor(organization_id: int) -> QuerySet[Allocation]:
    """The allocations given to the distributor's channels, never another's."""
    return (
        Allocation.objects.filter(
            distributor_id=organization_id, channel__organization_id=organization_id
        )
        .select_related("channel", "session__event", "session__layout__venue")
        .order_by("session__starts_at", "-pk")
    )


def allocatable_channels() -> QuerySet[SalesChannel]:
    """Channels an organizer may give places to: active channels of active distributors."""
    return (
        SalesChannel.objects.filter(
            is_active=True,
            organization__kind="distributor",
            organization__is_active=True,
        )
        .select_related("organization")
        .order_by("organization__name", "code")
    )


def free_units_of_allocation(
    allocation: Allocation, *, zone_id: int | None, quantity: int, now: datetime
) -> list[int]:
    """Up to ``quantity`` places of the allocation a hold would take now (of ``zone_id``
    when given), in seating (id) order."""
    qs = InventoryUnit.objects.filter(
        session_id=allocation.session_id, allocation_id=allocation.pk
    ).filter(holdable(now))
    if zone_id is not None:
        qs = qs.filter(zone_id=zone_id)
    return list(qs.order_by("id").values_list("id", flat=True)[:quantity])


def free_by_zone(allocation: Allocation, *, now: datetime) -> dict[int, int]:
    """The allocation's places free now, per price zone id."""
    from django.db.models import Count

    rows = (
        InventoryUnit.objects.filter(session_id=allocation.session_id, allocation_id=allocation.pk)
        .filter(holdable(now))
        .order_by()
        .values("zone_id")
        .annotate(n=Count("id"))
        .values_list("zone_id", "n")
    )
    return dict(rows)
