"""Readiness: can this web process do its work?

- ``database``: a ``SELECT 1`` on the default connection;
- ``redis``: a ``PING`` when ``TESSERA_REDIS_URL`` is set (skipped otherwise);
- ``workers``: at least one task worker's heartbeat younger than the lease (payments'
  reconciliation, refunds and housekeeping need one; on a machine without workers it tells
  whether the workers elsewhere are alive).

Each check reports ``ok`` and what it saw; the process is ready when all are ok.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection

from tessera.core import workers

REDIS_TIMEOUT_SECONDS = 2.0


def _timed(check):
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _database() -> dict:
    """Whether the database answers now: a connection the server dropped (a restart, a
    failover) is closed and one new connection tried before the answer is no."""
    try:
        _select_one()
    except DatabaseError:
        if connection.in_atomic_block:
            raise
        connection.close()
        _select_one()
    return {"ok": True, "vendor": connection.vendor}


def _redis() -> dict:
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        return {"ok": bool(client.ping())}
    finally:
        client.close()


def _workers(now: datetime) -> dict:
    alive = len(workers.fresh_workers(now=now))
    return {
        "ok": alive > 0,
        "alive": alive,
        "lease_seconds": settings.TASK_LEASE_SECONDS,
        "backend": workers.backend_kind(),
    }


def readiness(*, now: datetime) -> tuple[bool, dict]:
    checks = {"database": _timed(_database)}
    if settings.REDIS_URL:
        checks["redis"] = _timed(_redis)
    if checks["database"]["ok"]:
        checks["workers"] = _timed(lambda: _workers(now))
    else:
        checks["workers"] = {"ok": False, "error": "the database is not reachable"}
    return all(check["ok"] for check in checks.values()), checks
