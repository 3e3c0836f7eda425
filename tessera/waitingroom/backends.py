"""Where a queue's entries, counters and watermark live: the database (embedded default) or
Redis (``settings.REDIS_URL``). Both give the same behaviour behind ``QueueBackend``:

- ``join`` gives an account its one entry (the same entry when it joins again): before the
  pre-queue is ordered the entry has position 0 and a random key; afterwards the next
  position (first come, first served).
- ``order_prequeue`` (once, at opening) numbers the pre-queue entries 1..n in the order of
  their random keys, after any positions already given.
- ``advance`` raises the watermark and records the step (when each position was admitted).

Positions are contiguous from 1, so the watermark is the number of fans admitted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from tessera.waitingroom.models import AdmissionStep, QueueEntry, WaitingRoom

_RANDOM_BITS = 52  # exact as a Redis sorted-set score (a double)


@dataclass(frozen=True)
class Entry:
    entry_id: int
    position: int  # 0 while in the unordered pre-queue
    is_new: bool = False


@dataclass(frozen=True)
class Counters:
    entries: int  # -1 unless asked for
    last_position: int
    watermark: int
    is_ordered: bool


def random_key() -> int:
    return secrets.randbits(_RANDOM_BITS)


class QueueBackend:
    name = "abstract"

    def join(self, room_id: int, user_id: int, *, now: datetime) -> Entry: ...
    def entry_for(self, room_id: int, user_id: int) -> Entry | None: ...
    def position_of(self, room_id: int, entry_id: int) -> int: ...
    def order_prequeue(self, room_id: int, *, now: datetime) -> int: ...
    def requeue(self, room_id: int, entry_id: int) -> int: ...
    def counters(self, room_id: int, *, with_entries: bool = False) -> Counters: ...
    def advance(self, room_id: int, watermark: int, *, now: datetime) -> int: ...
    def steps_since(self, room_id: int, since: datetime) -> list[tuple[int, float]]: ...
    def watermark_at(self, room_id: int, at: datetime) -> int: ...
    def try_lock(self, room_id: int, *, now: datetime, seconds: float) -> bool: ...
    def bulk_join(self, room_id: int, user_ids: list[int], *, now: datetime) -> None: ...
    def size_bytes(self, room_id: int) -> int: ...
    def forget(self, room_id: int) -> None: ...


class DatabaseBackend(QueueBackend):
    """Entries in ``QueueEntry``; counters and watermark on the ``WaitingRoom`` row, whose
    row lock serialises joins against the one-time ordering."""

    name = "database"

    def join(self, room_id, user_id, *, now):
        existing = self.entry_for(room_id, user_id)
        if existing is not None:
            return existing
        with transaction.atomic():
            room = (
                WaitingRoom.objects.select_for_update()
                .only("id", "last_position", "prequeue_ordered_at")
                .get(pk=room_id)
            )
            found = QueueEntry.objects.filter(room_id=room_id, user_id=user_id).first()
            if found is not None:
                return Entry(found.pk, found.position)
            position = 0
            if room.prequeue_ordered_at is not None:
                position = room.last_position + 1
                WaitingRoom.objects.filter(pk=room_id).update(last_position=position)
            entry = QueueEntry.objects.create(
                room_id=room_id,
                user_id=user_id,
                random_key=random_key(),
                position=position,
                joined_at=now,
            )
        return Entry(entry.pk, position, is_new=True)

    def entry_for(self, room_id, user_id):
        row = (
            QueueEntry.objects.filter(room_id=room_id, user_id=user_id)
            .values_list("id", "position")
            .first()
        )
        return Entry(*row) if row else None

    def position_of(self, room_id, entry_id):
        return (
            QueueEntry.objects.filter(room_id=room_id, pk=entry_id)
            .values_list("position", flat=True)
            .first()
            or 0
        )

    def order_prequeue(self, room_id, *, now):
        with transaction.atomic():
            room = WaitingRoom.objects.select_for_update().get(pk=room_id)
            if room.prequeue_ordered_at is not None:
                return room.last_position
            table = QueueEntry._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET position = ranked.rn + %s FROM ("  # noqa: S608
                    f"  SELECT id, ROW_NUMBER() OVER (ORDER BY random_key, id) AS rn"
                    f"  FROM {table} WHERE room_id = %s AND position = 0"
                    f") AS ranked WHERE {table}.id = ranked.id",
                    [room.last_position, room_id],
                )
                ordered = cursor.rowcount
            last = room.last_position + max(ordered, 0)
            WaitingRoom.objects.filter(pk=room_id).update(
                last_position=last, prequeue_ordered_at=now
            )
        return last

    def requeue(self, room_id, entry_id):
        with transaction.atomic():
            room = WaitingRoom.objects.select_for_update().only("last_position").get(pk=room_id)
            position = room.last_position + 1
            WaitingRoom.objects.filter(pk=room_id).update(last_position=position)
            QueueEntry.objects.filter(room_id=room_id, pk=entry_id).update(position=position)
        return position

    def counters(self, room_id, *, with_entries=False):
        """Watermark and last position (one row); ``entries`` is counted only when asked
        (a COUNT over a million rows is not for every second)."""
        room = (
            WaitingRoom.objects.filter(pk=room_id)
            .values("last_position", "watermark", "prequeue_ordered_at")
            .get()
        )
        return Counters(
            entries=QueueEntry.objects.filter(room_id=room_id).count() if with_entries else -1,
            last_position=room["last_position"],
            watermark=room["watermark"],
            is_ordered=room["prequeue_ordered_at"] is not None,
        )

    def advance(self, room_id, watermark, *, now):
        with transaction.atomic():
            room = WaitingRoom.objects.select_for_update().only("watermark").get(pk=room_id)
            if watermark <= room.watermark:
                return room.watermark
            WaitingRoom.objects.filter(pk=room_id).update(watermark=watermark)
            AdmissionStep.objects.create(room_id=room_id, at=now, watermark=watermark)
        return watermark

    def steps_since(self, room_id, since):
        return [
            (wm, at.timestamp())
            for wm, at in AdmissionStep.objects.filter(room_id=room_id, at__gte=since)
            .order_by("watermark")
            .values_list("watermark", "at")
        ]

    def watermark_at(self, room_id, at):
        return (
            AdmissionStep.objects.filter(room_id=room_id, at__lte=at)
            .order_by("-watermark")
            .values_list("watermark", flat=True)
            .first()
            or 0
        )

    def try_lock(self, room_id, *, now, seconds):
        from datetime import timedelta

        from django.db.models import Q

        return bool(
            WaitingRoom.objects.filter(pk=room_id)
            .filter(Q(advance_lock_until__isnull=True) | Q(advance_lock_until__lte=now))
            .update(advance_lock_until=now + timedelta(seconds=seconds))
        )

    def bulk_join(self, room_id, user_ids, *, now):
        """Entries for many accounts at once (seeding and benchmarks): positions follow
        the list when the pre-queue is ordered, else 0 with random keys."""
        with transaction.atomic():
            room = WaitingRoom.objects.select_for_update().get(pk=room_id)
            ordered = room.prequeue_ordered_at is not None
            start = room.last_position
            QueueEntry.objects.bulk_create(
                (
                    QueueEntry(
                        room_id=room_id,
                        user_id=uid,
                        random_key=random_key(),
                        position=start + i + 1 if ordered else 0,
                        joined_at=now,
                    )
                    for i, uid in enumerate(user_ids)
                ),
                batch_size=5000,
            )
            if ordered:
                WaitingRoom.objects.filter(pk=room_id).update(
                    last_position=F("last_position") + len(user_ids)
                )

    def size_bytes(self, room_id):
        """The entry table's size with its indexes (PostgreSQL; SQLite: the whole file's
        pages of that table, via dbstat when available, else an estimate)."""
        table = QueueEntry._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
                return int(cursor.fetchone()[0])
            try:
                cursor.execute(
                    "SELECT SUM(pgsize) FROM dbstat WHERE name = %s OR name IN "
                    "(SELECT name FROM sqlite_master WHERE tbl_name = %s)",
                    [table, table],
                )
                return int(cursor.fetchone()[0] or 0)
            except Exception:
                return 0

    def forget(self, room_id):
        QueueEntry.objects.filter(room_id=room_id).delete()
        AdmissionStep.objects.filter(room_id=room_id).delete()


# Redis: one hash account → entry, one hash entry → position, a sorted set of the pre-queue
# by random key, counters, the watermark and two sorted sets of steps (by watermark, by time).
_JOIN = """
local e = redis.call('HGET', KEYS[1], ARGV[1])
if e then
  return {tonumber(e), tonumber(redis.call('HGET', KEYS[2], e) or '0'), 0}
end
e = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], e)
if redis.call('EXISTS', KEYS[4]) == 1 then
  local p = redis.call('INCR', KEYS[5])
  redis.call('HSET', KEYS[2], e, p)
  return {e, p, 1}
end
redis.call('ZADD', KEYS[6], ARGV[2], e)
return {e, 0, 1}
"""

# Freeze the pre-queue (atomically: later joins number after it), then number the frozen
# set in chunks so Redis is never blocked for long by a million entries.
_FREEZE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  local last = tonumber(redis.call('GET', KEYS[2]) or '0')
  local count = redis.call('ZCARD', KEYS[3])
  if count > 0 then redis.call('RENAME', KEYS[3], KEYS[4]) end
  redis.call('SET', KEYS[5], last)
  redis.call('SET', KEYS[2], last + count)
  redis.call('SET', KEYS[1], ARGV[1])
end
return {tonumber(redis.call('GET', KEYS[5]) or '0'), tonumber(redis.call('GET', KEYS[2]) or '0')}
"""

_ADVANCE = """
local wm = tonumber(redis.call('GET', KEYS[1]) or '0')
local want = tonumber(ARGV[1])
if want <= wm then return wm end
redis.call('SET', KEYS[1], want)
redis.call('ZADD', KEYS[2], want, ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], want)
return want
"""

_REQUEUE = """
local p = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], p)
return p
"""


class RedisBackend(QueueBackend):
    name = "redis"

    def __init__(self, url: str, *, prefix: str = "tessera:wr"):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=60)
        self.prefix = prefix
        self._join = self.client.register_script(_JOIN)
        self._freeze = self.client.register_script(_FREEZE)
        self._advance = self.client.register_script(_ADVANCE)
        self._requeue = self.client.register_script(_REQUEUE)

    def _k(self, room_id: int, name: str) -> str:
        # The braces keep one room's keys in one Redis Cluster slot.
        return f"{self.prefix}:{{{room_id}}}:{name}"

    def _join_keys(self, room_id):
        k = self._k
        return [
            k(room_id, "acct"),
            k(room_id, "pos"),
            k(room_id, "eid"),
            k(room_id, "ordered"),
            k(room_id, "last"),
            k(room_id, "pre"),
        ]

    def join(self, room_id, user_id, *, now):
        entry_id, position, is_new = self._join(
            keys=self._join_keys(room_id), args=[user_id, random_key()]
        )
        return Entry(int(entry_id), int(position), bool(is_new))

    def entry_for(self, room_id, user_id):
        entry_id = self.client.hget(self._k(room_id, "acct"), user_id)
        if entry_id is None:
            return None
        return Entry(int(entry_id), self.position_of(room_id, int(entry_id)))

    def position_of(self, room_id, entry_id):
        return int(self.client.hget(self._k(room_id, "pos"), entry_id) or 0)

    def order_prequeue(self, room_id, *, now):
        k = self._k
        base, last = self._freeze(
            keys=[k(room_id, n) for n in ("ordered", "last", "pre", "frozen", "base")],
            args=[int(now.timestamp())],
        )
        frozen, positions = k(room_id, "frozen"), k(room_id, "pos")
        chunk = 10_000
        start = 0
        while True:
            members = self.client.zrange(frozen, start, start + chunk - 1)
            if not members:
                break
            self.client.hset(
                positions,
                mapping={m: base + start + i + 1 for i, m in enumerate(members)},
            )
            start += chunk
        self.client.delete(frozen)
        return int(last)

    def requeue(self, room_id, entry_id):
        return int(
            self._requeue(keys=[self._k(room_id, "last"), self._k(room_id, "pos")], args=[entry_id])
        )

    def counters(self, room_id, *, with_entries=False):
        k = self._k
        pipe = self.client.pipeline(transaction=False)
        pipe.hlen(k(room_id, "acct"))
        pipe.get(k(room_id, "last"))
        pipe.get(k(room_id, "wm"))
        pipe.exists(k(room_id, "ordered"))
        entries, last, wm, ordered = pipe.execute()
        return Counters(int(entries), int(last or 0), int(wm or 0), bool(ordered))

    def advance(self, room_id, watermark, *, now):
        k = self._k
        return int(
            self._advance(
                keys=[k(room_id, "wm"), k(room_id, "steps"), k(room_id, "steps_t")],
                args=[watermark, repr(now.timestamp())],
            )
        )

    def steps_since(self, room_id, since):
        rows = self.client.zrangebyscore(
            self._k(room_id, "steps_t"), since.timestamp(), "+inf", withscores=True
        )
        return sorted((int(wm), float(at)) for wm, at in rows)

    def watermark_at(self, room_id, at):
        rows = self.client.zrevrangebyscore(
            self._k(room_id, "steps_t"), at.timestamp(), "-inf", start=0, num=1
        )
        return int(rows[0]) if rows else 0

    def try_lock(self, room_id, *, now, seconds):
        return bool(
            self.client.set(self._k(room_id, "lock"), 1, nx=True, px=max(1, int(seconds * 1000)))
        )

    def bulk_join(self, room_id, user_ids, *, now):
        """Many joins through pipelined calls of the join script (same rules as ``join``)."""
        keys = self._join_keys(room_id)
        for start in range(0, len(user_ids), 10_000):
            pipe = self.client.pipeline(transaction=False)
            for uid in user_ids[start : start + 10_000]:
                self._join(keys=keys, args=[uid, random_key()], client=pipe)
            pipe.execute()

    def size_bytes(self, room_id):
        total = 0
        for key in self.client.scan_iter(match=self._k(room_id, "*"), count=100):
            total += int(self.client.memory_usage(key, samples=0) or 0)
        return total

    def forget(self, room_id):
        keys = list(self.client.scan_iter(match=self._k(room_id, "*"), count=100))
        if keys:
            self.client.delete(*keys)


@cache
def _configured(url: str, prefix: str) -> QueueBackend:
    return RedisBackend(url, prefix=prefix) if url else DatabaseBackend()


def get_backend() -> QueueBackend:
    """The backend of the current settings: Redis when ``REDIS_URL`` is set, else the
    database (``WAITINGROOM_REDIS_PREFIX`` names the keys, default ``tessera:wr``)."""
    return _configured(
        getattr(settings, "REDIS_URL", "") or "",
        getattr(settings, "WAITINGROOM_REDIS_PREFIX", "tessera:wr"),
    )


def utc_from_timestamp(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)
