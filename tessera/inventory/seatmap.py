"""What the seat map reads: per-section seat order, live seat states in a compact encoding,
and a per-session version counter that holds and sales bump.

Seat order. Every seated section's units are numbered 0..n-1 in *seat order* (row order,
row id, position in row, unit id). The seat geometry (``section_seats``) and the state
string of the availability payload use the same order, so the browser matches them by
index and the payload needs no ids.

States, two bits a seat: ``FREE`` (a hold statement would take it now: available, or held by
an expired hold), ``HELD`` (held by a live hold), ``SOLD``, ``CLOSED`` (blocked, or kept for a
sales channel). ``encode_states`` packs four seats a byte, seat ``i`` in bits ``2*(i % 4)``
(low bits first), then base64; a 60,000-seat stadium is 15,000 bytes before base64 and gzip.

Version. ``bump_version`` runs after each hold, release, sale, block, unblock and channel
allocation commits (``inventory.services``; tidying expired holds changes no state); the
availability payload is cached per (session, version) for ``AVAILABILITY_TTL_SECONDS`` only,
because expiry is lazy: a hold that runs out changes states without any write.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import connection
from django.db.models import Case, IntegerField, Q, Value, When

from tessera.catalog.models import Session
from tessera.inventory.models import InventoryUnit, UnitStatus

FREE, HELD, SOLD, CLOSED = 0, 1, 2, 3
STATES = (FREE, HELD, SOLD, CLOSED)
AVAILABILITY_TTL_SECONDS = 2
ORDER_TTL_SECONDS = 600.0
ORDER_CACHE_SIZE = 32


# -- encoding --------------------------------------------------------------------------------


def encode_states(states: bytes | bytearray | list[int]) -> str:
    """Pack seat states (each 0..3) four to a byte, low bits first, as base64 text."""
    data = bytes(states)
    if data and max(data) > 3:
        raise ValueError("a seat state is 0, 1, 2 or 3")
    data += bytes(-len(data) % 4)
    size = len(data) // 4
    # Byte j of each quarter holds seat 4j + q (two bits); OR-ing the shifted quarters as
    # little-endian integers packs every byte at once, without carries between bytes.
    packed = 0
    for q in range(4):
        packed |= int.from_bytes(data[q::4], "little") << (2 * q)
    return base64.b64encode(packed.to_bytes(size, "little")).decode("ascii")


def decode_states(text: str, count: int) -> list[int]:
    """The ``count`` seat states of ``encode_states`` text (the inverse; padding dropped)."""
    packed = base64.b64decode(text.encode("ascii"), validate=True)
    if len(packed) != (count + 3) // 4:
        raise ValueError("encoded length does not match the seat count")
    states = [(byte >> shift) & 3 for byte in packed for shift in (0, 2, 4, 6)]
    return states[:count]


# -- seat order ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeatOrder:
    """For one session: each seated section's unit ids in seat order, and every unit's
    (section id, index). Standing sections list their unit count only."""

    unit_ids: dict[int, tuple[int, ...]]  # section id → unit ids in seat order
    standing: dict[int, tuple[int, ...]]  # standing section id → its unit ids
    lo: int  # smallest and largest unit id of the session
    hi: int
    contiguous: frozenset[int]  # sections whose ids in seat order run first, first + 1, …


_order_cache: OrderedDict[tuple, tuple[float, SeatOrder]] = OrderedDict()
_order_lock = threading.Lock()


def clear_order_cache() -> None:
    with _order_lock:
        _order_cache.clear()


def _build_order(session: Session) -> SeatOrder:
    rows = (
        InventoryUnit.objects.filter(session=session)
        .order_by("section_id", "seat__row__sort_order", "seat__row_id", "seat__position", "id")
        .values_list("id", "section_id", "seat_id")
    )
    by_section: dict[int, list[int]] = {}
    standing: dict[int, list[int]] = {}
    for unit_id, section_id, seat_id in rows.iterator(chunk_size=5000):
        target = standing if seat_id is None else by_section
        target.setdefault(section_id, []).append(unit_id)
    every = [u for ids in (*by_section.values(), *standing.values()) for u in ids]
    return SeatOrder(
        unit_ids={s: tuple(ids) for s, ids in by_section.items()},
        standing={s: tuple(ids) for s, ids in standing.items()},
        lo=min(every, default=0),
        hi=max(every, default=-1),
        contiguous=frozenset(
            s for s, ids in by_section.items() if ids == list(range(ids[0], ids[0] + len(ids)))
        ),
    )


def seat_order(session: Session) -> SeatOrder:
    """The session's seat order, cached in process memory (units never move once made)."""
    key = (session.pk, session.created_at)
    with _order_lock:
        cached = _order_cache.get(key)
        if cached and cached[0] > time.monotonic():
            _order_cache.move_to_end(key)
            return cached[1]
    order = _build_order(session)
    with _order_lock:
        _order_cache[key] = (time.monotonic() + ORDER_TTL_SECONDS, order)
        while len(_order_cache) > ORDER_CACHE_SIZE:
            _order_cache.popitem(last=False)
    return order


# -- live states -----------------------------------------------------------------------------


def unit_states(*, session: Session, now: datetime) -> list[tuple[int, int]]:
    """(unit id, state) of every unit of the session that is not FREE for the open pool."""
    return [(u, state) for state, ids in _ids_by_state(session, now).items() for u in ids]


def _ids_by_state(session: Session, now: datetime) -> dict[int, list[int]]:
    """The ids of the session's units in each state but FREE.

    PostgreSQL aggregates them into three arrays in one row (a third of the time of sending
    tens of thousands of rows); SQLite reads the rows. Both apply the same rules as
    ``state`` below: sold, else held by a live hold, else blocked or kept for a channel.
    """
    if connection.vendor == "postgresql":
        table = InventoryUnit._meta.db_table
        live = "COALESCE(hold_expires_at >= %s, false)"
        sql = (
            f"SELECT array_agg(id) FILTER (WHERE status = %s), "  # noqa: S608 - constants only
            f"array_agg(id) FILTER (WHERE status = %s AND {live}), "
            f"array_agg(id) FILTER (WHERE status <> %s AND NOT (status = %s AND {live}) "
            f"AND (status = %s OR channel_id IS NOT NULL)) "
            f"FROM {table} WHERE session_id = %s AND (status <> %s OR channel_id IS NOT NULL)"
        )
        params = [
            UnitStatus.SOLD,
            UnitStatus.HELD,
            now,
            UnitStatus.SOLD,
            UnitStatus.HELD,
            now,
            UnitStatus.BLOCKED,
            session.pk,
            UnitStatus.AVAILABLE,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            sold, held, closed = cursor.fetchone()
        return {SOLD: sold or [], HELD: held or [], CLOSED: closed or []}
    state = Case(
        When(status=UnitStatus.SOLD, then=Value(SOLD)),
        When(status=UnitStatus.HELD, hold_expires_at__gte=now, then=Value(HELD)),
        When(Q(status=UnitStatus.BLOCKED) | Q(channel__isnull=False), then=Value(CLOSED)),
        default=Value(FREE),
        output_field=IntegerField(),
    )
    rows = (
        InventoryUnit.objects.filter(session=session)
        .filter(~Q(status=UnitStatus.AVAILABLE) | Q(channel__isnull=False))
        .order_by()
        .annotate(state=state)
        .values_list("id", "state")
    )
    found: dict[int, list[int]] = {SOLD: [], HELD: [], CLOSED: []}
    # Straight through the cursor: tens of thousands of rows, no per-row converters needed.
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for unit_id, unit_state in cursor.fetchall():
            if unit_state != FREE:
                found[unit_state].append(unit_id)
    return found


def build_availability(*, session: Session, now: datetime, version: int) -> dict:
    """The availability payload: per seated section its free count and encoded states, per
    standing section its free and total places."""
    order = seat_order(session)
    lo = order.lo
    # One state byte per unit id of the session (ids of one session are nearly contiguous:
    # units are bulk-created), so each section's states are a slice or a gather.
    flags = bytearray(max(order.hi - lo + 1, 0))
    hi = order.hi
    for state, ids in _ids_by_state(session, now).items():
        for unit_id in ids:
            if lo <= unit_id <= hi:
                flags[unit_id - lo] = state
    sections = {}
    for section_id, ids in order.unit_ids.items():
        if section_id in order.contiguous:
            start = ids[0] - lo
            seat_states = flags[start : start + len(ids)]
        else:
            seat_states = bytearray(flags[u - lo] for u in ids)
        sections[str(section_id)] = {
            "free": seat_states.count(FREE),
            "total": len(ids),
            "states": encode_states(seat_states),
        }
    for section_id, ids in order.standing.items():
        sections[str(section_id)] = {
            "free": sum(1 for u in ids if flags[u - lo] == FREE),
            "total": len(ids),
        }
    return {"session_id": session.pk, "version": version, "sections": sections}


# -- version and the cached payload ------------------------------------------------------------


def _version_key(session_id: int) -> str:
    return f"seatmap:version:{session_id}"


def get_version(session_id: int) -> int:
    return int(cache.get(_version_key(session_id), 0))


def bump_version(session_id: int) -> None:
    """Mark the session's availability changed (call after the change commits)."""
    key = _version_key(session_id)
    if not cache.add(key, 1, timeout=None):
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=None)


@dataclass(frozen=True)
class EncodedAvailability:
    body: bytes  # JSON, UTF-8
    gzipped: bytes
    etag: str


def cached_availability(*, session: Session, now: datetime) -> EncodedAvailability:
    """The availability payload as JSON and gzip, with an ETag of its content; cached per
    (session, version) for AVAILABILITY_TTL_SECONDS."""
    version = get_version(session.pk)
    key = f"seatmap:availability:{session.pk}:{session.created_at.timestamp()}:{version}"
    hit = cache.get(key)
    if hit is not None:
        return EncodedAvailability(*hit)
    payload = build_availability(session=session, now=now, version=version)
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    encoded = EncodedAvailability(
        body=body,
        gzipped=gzip.compress(body, compresslevel=6, mtime=0),
        etag='"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"',
    )
    cache.set(key, (encoded.body, encoded.gzipped, encoded.etag), AVAILABILITY_TTL_SECONDS)
    return encoded


# -- seat geometry ---------------------------------------------------------------------------

ACCESSIBLE, RESTRICTED, AISLE = 1, 2, 4


def section_seats(*, session: Session, section_id: int) -> dict:
    """The seats of one section of the session in seat order (the order of the states):
    rows, each seat's coordinates, label, flags (ACCESSIBLE | RESTRICTED | AISLE), unit id
    and price zone. Does not change during a sale, so callers may cache it for long."""
    rows_out: list[dict] = []
    units = (
        InventoryUnit.objects.filter(session=session, section_id=section_id, seat__isnull=False)
        .order_by("seat__row__sort_order", "seat__row_id", "seat__position", "id")
        .values_list(
            "id",
            "zone_id",
            "seat__row_id",
            "seat__row__label",
            "seat__label",
            "seat__x",
            "seat__y",
            "seat__is_accessible",
            "seat__is_restricted_view",
            "seat__is_aisle",
        )
    )
    current = None
    for unit_id, zone_id, row_id, row_label, label, x, y, accessible, restricted, aisle in units:
        if current is None or current["id"] != row_id:
            current = {"id": row_id, "label": row_label, "seats": []}
            rows_out.append(current)
        flags = (ACCESSIBLE if accessible else 0) | (RESTRICTED if restricted else 0)
        flags |= AISLE if aisle else 0
        current["seats"].append([round(x, 2), round(y, 2), label, flags, unit_id, zone_id])
    return {"section_id": section_id, "rows": rows_out, "pitch": _pitch(rows_out)}


def _pitch(rows: list[dict]) -> float:
    """The typical distance between neighbouring seats (plan units): the seat size to draw."""
    gaps = []
    for row in rows:
        seats = row["seats"]
        for a, b in itertools.pairwise(seats):
            gap = ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5
            if gap > 0:
                gaps.append(gap)
    if not gaps:
        return 10.0
    gaps.sort()
    return round(gaps[len(gaps) // 2], 2)
