"""Reads of the inventory: holds, availability counts and best-available snapshots.

"Free" always means what a hold statement would take: available, or held by a hold that
has expired (expiry is lazy), and of the asking channel or the open pool.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from tessera.catalog.models import PriceZone, Session
from tessera.inventory.best_available import Snapshot
from tessera.inventory.errors import HoldExpired, HoldNotFound
from tessera.inventory.models import Hold, InventoryUnit, ReturnQueue, SalesChannel, UnitStatus
from tessera.venues.models import Section


def holdable(now: datetime) -> Q:
    """Units a hold statement may take: available, or held by an expired hold unless the
    session's returned places are queued (``ReturnQueue``: the tidy frees those and offers
    them to the waiting list first)."""
    queued = ReturnQueue.objects.filter(session_id=OuterRef("session_id"))
    return Q(status=UnitStatus.AVAILABLE) | Q(
        ~Exists(queued), status=UnitStatus.HELD, hold_expires_at__lt=now
    )


def of_channel(channel: SalesChannel | None) -> Q:
    """Units a channel may sell: the open pool (channel NULL) and, for a channel, its own;
    a channel that does not sell from the open pool (``sells_open_pool`` off) only its own."""
    if channel is None:
        return Q(channel__isnull=True)
    if not channel.sells_open_pool:
        return Q(channel=channel)
    return Q(channel=channel) | Q(channel__isnull=True)


# -- holds ---------------------------------------------------------------------------------


def get_hold_for_user(*, hold_id: UUID | str, user) -> Hold:
    """The user's hold, live or not. Raises HoldNotFound for unknown or foreign holds."""
    try:
        return Hold.objects.select_related("session", "channel").get(pk=hold_id, user_id=user.pk)
    except (Hold.DoesNotExist, ValidationError) as exc:  # a malformed UUID is unknown too
        raise HoldNotFound() from exc


def get_live_hold(*, hold_id: UUID | str, user, now: datetime) -> Hold:
    """The user's hold while it is live. Raises HoldNotFound or HoldExpired."""
    hold = get_hold_for_user(hold_id=hold_id, user=user)
    if not hold.is_live(now):
        raise HoldExpired()
    return hold


def list_hold_units(hold: Hold) -> QuerySet[InventoryUnit]:
    """Units still held (or sold) through ``hold``, in seating order.

    Places of an expired hold taken by another buyer meanwhile are not listed.
    """
    return (
        InventoryUnit.objects.filter(hold=hold)
        .select_related("zone", "section", "seat__row")
        .order_by(
            "section__sort_order", "section_id", "seat__row__sort_order", "seat__position", "id"
        )
    )


def count_account_units(*, session: Session, user, now: datetime) -> int:
    """Places the user holds (live holds) or bought in the session."""
    # The hold's session too, so the account's few holds are found by their index
    # (session, user) and their places by hold, not the session's places scanned.
    return (
        InventoryUnit.objects.filter(session=session, hold__session=session, hold__user=user)
        .filter(Q(status=UnitStatus.SOLD) | Q(status=UnitStatus.HELD, hold_expires_at__gte=now))
        .count()
    )


def list_unit_ids_for_seats(*, session: Session, seat_ids: list[int]) -> dict[int, int]:
    """Map seat id → unit id for the seats of ``seat_ids`` that are sold in the session."""
    return dict(
        InventoryUnit.objects.filter(session=session, seat_id__in=seat_ids).values_list(
            "seat_id", "id"
        )
    )


# -- availability ----------------------------------------------------------------------------


def _free_units(session: Session, now: datetime, channel: SalesChannel | None):
    return (
        InventoryUnit.objects.filter(session=session)
        .filter(holdable(now))
        .filter(of_channel(channel))
    )


def availability_by_zone(
    *, session: Session, now: datetime, channel: SalesChannel | None = None
) -> dict[int, int]:
    """Free places per price zone of the session (every zone, 0 when sold out)."""
    zone_ids = PriceZone.objects.filter(session=session).values_list("id", flat=True)
    counts = dict.fromkeys(zone_ids, 0)
    rows = (
        _free_units(session, now, channel)
        .order_by()
        .values("zone_id")
        .annotate(n=Count("id"))
        .values_list("zone_id", "n")
    )
    counts.update(rows)
    return counts


def availability_by_section(
    *, session: Session, now: datetime, channel: SalesChannel | None = None
) -> dict[int, int]:
    """Free places per section that has places in the session (0 when sold out)."""
    counts = dict.fromkeys(
        InventoryUnit.objects.filter(session=session)
        .order_by()
        .values_list("section_id", flat=True)
        .distinct(),
        0,
    )
    rows = (
        _free_units(session, now, channel)
        .order_by()
        .values("section_id")
        .annotate(n=Count("id"))
        .values_list("section_id", "n")
    )
    counts.update(rows)
    return counts


# -- best-available snapshots ------------------------------------------------------------------
#
# Geometry (which unit sits where, in which row) never changes once a session's units are
# generated, so it is cached in process memory per (session, zone, section) for
# GEOMETRY_TTL_SECONDS; building it for a 60,000-seat zone is one join over units, seats and
# rows. Availability is read fresh on every call (one index scan of the free unit ids), so a
# snapshot is never staler than the request. A free unit missing from the cached geometry
# (units generated after caching) rebuilds it. The hold statement remains the only arbiter:
# a stale snapshot can only propose a block that then fails and is skipped.

GEOMETRY_TTL_SECONDS = 300.0
GEOMETRY_CACHE_SIZE = 64

_geometry_cache: OrderedDict[tuple, tuple[float, Snapshot, frozenset[int]]] = OrderedDict()
_geometry_lock = threading.Lock()


def clear_geometry_cache() -> None:
    with _geometry_lock:
        _geometry_cache.clear()


def _seated_units(session: Session, zone: PriceZone | None, section: Section | None):
    qs = InventoryUnit.objects.filter(session=session, seat__isnull=False)
    if zone is not None:
        qs = qs.filter(zone=zone)
    if section is not None:
        qs = qs.filter(section=section)
    return qs.order_by()


def _build_geometry(session: Session, zone: PriceZone | None, section: Section | None) -> Snapshot:
    rows = _seated_units(session, zone, section).values_list(
        "id",
        "seat__row_id",
        "section__sort_order",
        "section_id",
        "seat__row__sort_order",
        "seat__position",
        "seat__x",
        "seat__y",
    )
    return Snapshot.from_seats(
        (unit_id, row_id, (s_order, section_id, r_order, row_id), position, x, y, False)
        for unit_id, row_id, s_order, section_id, r_order, position, x, y in rows.iterator(
            chunk_size=5000
        )
    )


def _geometry(
    session: Session, zone: PriceZone | None, section: Section | None, *, fresh: bool = False
) -> tuple[Snapshot, frozenset[int]]:
    # created_at makes the key unique even when a database reuses a deleted session's id.
    key = (
        session.pk,
        session.created_at,
        zone.pk if zone else None,
        section.pk if section else None,
    )
    with _geometry_lock:
        cached = _geometry_cache.get(key)
        if cached and not fresh and cached[0] > time.monotonic():
            _geometry_cache.move_to_end(key)
            return cached[1], cached[2]
    geometry = _build_geometry(session, zone, section)
    unit_ids = frozenset(u for seg in geometry.segments for u in seg.unit_ids)
    with _geometry_lock:
        _geometry_cache[key] = (time.monotonic() + GEOMETRY_TTL_SECONDS, geometry, unit_ids)
        _geometry_cache.move_to_end(key)
        while len(_geometry_cache) > GEOMETRY_CACHE_SIZE:
            _geometry_cache.popitem(last=False)
    return geometry, unit_ids


def _free_seat_ids(session, zone, section, channel, now: datetime) -> set[int]:
    """The ids of the free seats (available, or held by an expired hold) of the scope.

    PostgreSQL: two arrays in one row, the available seats through the partial index of
    available places and the seats of expired holds through the index of held places (the
    ORM's rows for 20,000 ids would cost more than the query); elsewhere the ORM.
    """
    if connection.vendor != "postgresql":
        return set(
            _seated_units(session, zone, section)
            .filter(holdable(now))
            .filter(of_channel(channel))
            .values_list("id", flat=True)
        )
    where = ["u.session_id = %(session)s", "u.seat_id IS NOT NULL"]
    if zone is not None:
        where.append("u.zone_id = %(zone)s")
    if section is not None:
        where.append("u.section_id = %(section)s")
    if channel is None:
        where.append("u.channel_id IS NULL")
    elif not channel.sells_open_pool:
        where.append("u.channel_id = %(channel)s")
    else:
        where.append("(u.channel_id = %(channel)s OR u.channel_id IS NULL)")
    scope = " AND ".join(where)
    sql = (
        f"SELECT (SELECT array_agg(u.id) FROM inventory_inventoryunit u "  # noqa: S608
        f"         WHERE {scope} AND u.status = 'available'), "
        f"       (SELECT array_agg(u.id) FROM inventory_inventoryunit u "
        f"         WHERE {scope} AND u.status = 'held' AND u.hold_expires_at < %(now)s"
        f"           AND NOT EXISTS (SELECT 1 FROM inventory_returnqueue q"
        f"                            WHERE q.session_id = %(session)s))"
    )
    params = {
        "session": session.pk,
        "zone": getattr(zone, "pk", None),
        "section": getattr(section, "pk", None),
        "channel": getattr(channel, "pk", None),
        "now": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        available, expired = cursor.fetchone()
    return set(available or ()) | set(expired or ())


def seat_snapshot(
    *,
    session: Session,
    now: datetime,
    zone: PriceZone | None = None,
    section: Section | None = None,
    channel: SalesChannel | None = None,
) -> Snapshot:
    """The seated units of the session (of ``zone`` and/or ``section`` when given), in row
    segments, with what ``channel`` may hold now marked free."""
    free = _free_seat_ids(session, zone, section, channel, now)
    geometry, known = _geometry(session, zone, section)
    if not free <= known:
        geometry, known = _geometry(session, zone, section, fresh=True)
    return geometry.refreshed(free)


def has_seats(
    *, session: Session, zone: PriceZone | None = None, section: Section | None = None
) -> bool:
    return _seated_units(session, zone, section).exists()


def sold_out_session_ids(*, session_ids, now: datetime) -> set[int]:
    """Of these sessions, those with places of which none is free in the open pool (a
    session without places yet is not sold out). One query (two EXISTS per session)."""
    if not session_ids:
        return set()
    units = InventoryUnit.objects.filter(session_id=OuterRef("pk"))
    rows = (
        Session.objects.filter(pk__in=list(session_ids))
        .annotate(
            has_units=Exists(units),
            has_free=Exists(units.filter(of_channel(None)).filter(holdable(now))),
        )
        .values_list("pk", "has_units", "has_free")
    )
    return {pk for pk, has_units, has_free in rows if has_units and not has_free}


# -- channel allocations -----------------------------------------------------------------------

ALLOCATION_STATES = ("free", "held", "sold", "blocked")


def allocation_unit_counts(*, allocation_ids, now: datetime) -> dict[int, dict[str, int]]:
    """Per allocation (``InventoryUnit.allocation_id``), its places still with its channel:
    ``free`` (a hold would take them now), ``held`` (live holds), ``sold``, ``blocked``.
    One query over the allocated places' own index."""
    ids = sorted({int(i) for i in allocation_ids})
    counts = {i: dict.fromkeys(ALLOCATION_STATES, 0) for i in ids}
    if not ids:
        return counts
    rows = (
        InventoryUnit.objects.filter(allocation_id__in=ids)
        .order_by()
        .values("allocation_id")
        .annotate(
            free=Count("id", filter=holdable(now)),
            held=Count("id", filter=Q(status=UnitStatus.HELD, hold_expires_at__gte=now)),
            sold=Count("id", filter=Q(status=UnitStatus.SOLD)),
            blocked=Count("id", filter=Q(status=UnitStatus.BLOCKED)),
        )
    )
    for row in rows:
        counts[row["allocation_id"]] = {k: row[k] for k in ALLOCATION_STATES}
    return counts
