"""Token buckets, written as GCRA: each bucket is one number, its theoretical arrival time
(``tat``, seconds since the epoch). A rule allows ``burst`` requests at once and refills
``per_minute`` a minute, so one request "costs" ``interval = 60 / per_minute`` seconds and
the bucket may run at most ``span = burst * interval`` seconds ahead of the clock:

    allowed  iff  max(tat, now) + interval - now <= span;   then tat = max(tat, now) + interval
    refused: retry after  max(tat, now) + interval - span - now  seconds

Backends (``settings.RATELIMIT_BACKEND``):

- ``redis``: one Lua script takes every bucket of a request in one round trip, on Redis's
  clock; keys expire when their bucket is full again.
- ``database``: one ``INSERT … ON CONFLICT ("key") DO UPDATE … RETURNING`` over every bucket
  of a request (PostgreSQL and SQLite), rows taken in key order so two requests never wait
  on each other crosswise; the row lock makes concurrent takes on PostgreSQL serial, and
  SQLite has one writer anyway. It costs one write statement per checked request (on SQLite
  it also takes the one write lock), which is why the purchase path is better served by
  Redis or memory.
- ``memory``: a dict under a lock in this process (each web process counts on its own, so
  the real limit is the configured one times the number of processes).

A backend that fails (Redis unreachable, a lock timeout) lets the request through and logs:
a rate limit must not take the sale down.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, connection
from django.dispatch import receiver

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    per_minute: float  # refill rate
    burst: int  # tokens when full

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute

    @property
    def span(self) -> float:
        return self.burst * self.interval


@dataclass(frozen=True)
class Take:
    key: str
    rule: Rule


@dataclass(frozen=True)
class Outcome:
    allowed: bool
    retry_after: float = 0.0  # seconds, when refused
    refused_key: str = ""


def bucket_key(action: str, scope: str, value: str) -> str:
    """The storage key of one bucket (long values, like device keys, are hashed)."""
    value = str(value)
    if len(value) > 100:
        value = "h:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:40]
    return f"{action}:{scope}:{value}"


def _outcome(results: list[tuple[str, bool, float]]) -> Outcome:
    refused = [(wait, key) for key, ok, wait in results if not ok]
    if not refused:
        return Outcome(True)
    wait, key = max(refused)
    return Outcome(False, max(wait, 0.001), key)


class MemoryBackend:
    name = "memory"
    MAX_KEYS = 200_000

    def __init__(self):
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, takes: list[Take], *, now: float | None = None) -> Outcome:
        now = time.time() if now is None else now
        results = []
        with self._lock:
            if len(self._tat) > self.MAX_KEYS:
                self._tat = {k: v for k, v in self._tat.items() if v > now}
            for take in takes:
                start = max(self._tat.get(take.key, now), now)
                new = start + take.rule.interval
                if new - now <= take.rule.span:
                    self._tat[take.key] = new
                    results.append((take.key, True, 0.0))
                else:
                    results.append((take.key, False, new - take.rule.span - now))
        return _outcome(results)

    def reset(self) -> None:
        with self._lock:
            self._tat.clear()


_UPSERT = """
INSERT INTO ratelimit_bucket ("key", tat, ok, span) VALUES {values}
ON CONFLICT ("key") DO UPDATE SET
  ok = (CASE WHEN ratelimit_bucket.tat > %s THEN ratelimit_bucket.tat ELSE %s END)
       + (excluded.tat - %s) - %s <= excluded.span,
  tat = CASE WHEN (CASE WHEN ratelimit_bucket.tat > %s THEN ratelimit_bucket.tat ELSE %s END)
                  + (excluded.tat - %s) - %s <= excluded.span
        THEN (CASE WHEN ratelimit_bucket.tat > %s THEN ratelimit_bucket.tat ELSE %s END)
             + (excluded.tat - %s)
        ELSE ratelimit_bucket.tat END,
  span = excluded.span
RETURNING "key", tat, ok
"""


LOCKED_ATTEMPTS = 5


class DatabaseBackend:
    name = "database"

    def take(self, takes: list[Take], *, now: float | None = None) -> Outcome:
        now = time.time() if now is None else now
        takes = sorted({t.key: t for t in takes}.values(), key=lambda t: t.key)
        values = ", ".join(["(%s, %s, TRUE, %s)"] * len(takes))
        params: list = []
        for take in takes:
            params += [take.key, now + take.rule.interval, take.rule.span]
        params += [now] * 11
        rows = None
        # SQLite's one writer: a take that meets the lock tries again a few times before
        # the request is let through (a bucket store that is down must not stop the sale)
        for attempt in range(LOCKED_ATTEMPTS):
            try:
                with connection.cursor() as cursor:
                    cursor.execute(_UPSERT.format(values=values), params)
                    rows = cursor.fetchall()
                break
            except DatabaseError as exc:
                locked = connection.vendor == "sqlite" and "locked" in str(exc)
                if locked and attempt + 1 < LOCKED_ATTEMPTS and not connection.in_atomic_block:
                    time.sleep(0.005 * (attempt + 1))
                    continue
                logger.warning("rate-limit buckets unavailable; request let through", exc_info=True)
                return Outcome(True)
        by_key = {t.key: t for t in takes}
        results = []
        for key, tat, ok in rows:
            rule = by_key[key].rule
            wait = 0.0 if ok else max(tat, now) + rule.interval - rule.span - now
            results.append((key, bool(ok), wait))
        return _outcome(results)


_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local out = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local span = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local new = tat + interval
  if new - now <= span then
    redis.call('SET', key, string.format('%.6f', new), 'PX', math.ceil((new - now) * 1000) + 1000)
    out[i] = '0'
  else
    out[i] = string.format('%.6f', new - span - now)
  end
end
return out
"""


class RedisBackend:
    name = "redis"

    def __init__(self, url: str, *, prefix: str = "tessera:rl"):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5)
        self.prefix = prefix
        self._script = self.client.register_script(_LUA)

    def take(self, takes: list[Take], *, now: float | None = None) -> Outcome:
        # ``now`` is Redis's own clock (one clock for every web node)
        takes = list({t.key: t for t in takes}.values())
        args: list = []
        for take in takes:
            args += [repr(take.rule.interval), repr(take.rule.span)]
        try:
            answers = self._script(keys=[f"{self.prefix}:{t.key}" for t in takes], args=args)
        except Exception:  # redis.RedisError and socket errors
            logger.warning("rate-limit buckets unavailable; request let through", exc_info=True)
            return Outcome(True)
        results = []
        for take, answer in zip(takes, answers, strict=True):
            wait = float(answer)
            results.append((take.key, wait <= 0, wait))
        return _outcome(results)


@cache
def _backend(choice: str, redis_url: str, prefix: str):
    if choice == "redis":
        return RedisBackend(redis_url, prefix=prefix)
    if choice == "database":
        return DatabaseBackend()
    if choice == "memory":
        return MemoryBackend()
    raise ValueError(f"RATELIMIT_BACKEND must be redis, database or memory, not {choice!r}")


def get_backend():
    """The configured backend: ``RATELIMIT_BACKEND`` (redis, database, memory)."""
    redis_url = getattr(settings, "REDIS_URL", "") or ""
    choice = getattr(settings, "RATELIMIT_BACKEND", "") or ("redis" if redis_url else "database")
    prefix = getattr(settings, "RATELIMIT_REDIS_PREFIX", "tessera:rl")
    return _backend(choice, redis_url, prefix)


@cache
def rules_for(action: str) -> tuple[tuple[str, Rule], ...]:
    """``(scope, rule)`` of ``action`` from ``settings.RATELIMITS`` (``{action: {scope:
    (per_minute, burst) or None}}``; the action ``"*"`` applies to every action and a
    ``None`` turns a scope off)."""
    table = getattr(settings, "RATELIMITS", {}) or {}
    merged = {**(table.get(action) or {})}
    for scope, value in (table.get("*") or {}).items():
        if value is None or scope not in merged:
            merged[scope] = value
    return tuple(
        (scope, Rule(float(value[0]), int(value[1])))
        for scope, value in sorted(merged.items())
        if value is not None and float(value[0]) > 0 and int(value[1]) >= 1
    )


def clear_caches() -> None:
    rules_for.cache_clear()
    _backend.cache_clear()


@receiver(setting_changed)
def _settings_changed(*, setting, **kwargs):
    if setting.startswith("RATELIMIT") or setting == "REDIS_URL":
        clear_caches()
