"""Persistent database connections between requests: checked only when they may be stale.

Django's ``CONN_HEALTH_CHECKS`` sends ``SELECT 1`` before the first query of every request,
a round trip per request even when the connection carried the previous request a
millisecond earlier. Tessera turns it off and checks a persistent connection at the start of
a request only when

- an error occurred on it since it was last known good (``errors_occurred``), or
- it was handed back more than ``IDLE_CHECK_SECONDS`` ago (or never by a request): a
  database restart or a killed backend (``pg_terminate_backend``) happened while nobody used
  it, and the check finds out before the request's own first query would.

A connection that fails the check is closed and the request opens a new one. A connection
lost in the second after a request used it still fails that next request once; Django's
``request_finished`` handling (kept as it is) then sees the error and drops it.

As Django does at a request's start, a connection past ``CONN_MAX_AGE`` or left outside
autocommit is closed. Nothing is done inside an atomic block (the test suite's transactions).

``prepare_connections`` runs at every request start (``install`` connects it to
``request_started`` in place of Django's ``close_old_connections``) and in the queue-status
WSGI layer, which answers ahead of Django's signals; ``release_connections`` notes when each
open connection was handed back (``request_finished``, and the same layer). Connections are
per thread, so each server thread keeps its own times.
"""

from __future__ import annotations

import time

from django.core import signals
from django.db import Error, close_old_connections, connections

IDLE_CHECK_SECONDS = 1.0
_HANDED_BACK_AT = "_tessera_handed_back_at"  # monotonic seconds, set on the connection wrapper


def _is_usable(conn) -> bool:
    """One ``SELECT 1`` through Django's cursor (so it shows in captured queries and logs)."""
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Error:
        return False
    return True


def prepare_connections(*, idle_seconds: float = IDLE_CHECK_SECONDS) -> int:
    """Make every open connection of this thread fit for a new request.

    Closes connections past their maximum age or outside autocommit; checks those that had
    an error or were idle for more than ``idle_seconds``, closing the ones that fail.
    Returns how many connections were checked.
    """
    checked = 0
    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        if conn.connection is None or conn.in_atomic_block:
            continue
        if conn.get_autocommit() != conn.settings_dict["AUTOCOMMIT"] or (
            conn.close_at is not None and now >= conn.close_at
        ):
            conn.close()
            if conn.connection is None:
                continue
            # still open: an in-memory SQLite database refuses to close (it would vanish)
        handed_back_at = getattr(conn, _HANDED_BACK_AT, None)
        if conn.errors_occurred or handed_back_at is None or now - handed_back_at > idle_seconds:
            checked += 1
            if _is_usable(conn):
                conn.errors_occurred = False
                setattr(conn, _HANDED_BACK_AT, time.monotonic())
            else:
                conn.close()
    return checked


def release_connections() -> None:
    """Note that this thread's open connections are idle from now on."""
    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            setattr(conn, _HANDED_BACK_AT, now)


def _on_request_started(**kwargs) -> None:
    prepare_connections()


def _on_request_finished(**kwargs) -> None:
    release_connections()


def install() -> None:
    """Check connections at request start with ``prepare_connections`` instead of Django's
    ``close_old_connections``; Django's ``request_finished`` handler stays (it drops a
    connection that had an error and fails ``SELECT 1``, or is past its age), and the time
    each connection was handed back is noted after it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_started.connect(_on_request_started, dispatch_uid="tessera.core.db.started")
    signals.request_finished.connect(_on_request_finished, dispatch_uid="tessera.core.db.finished")


def finish_connections() -> None:
    """What Django does with connections when a request finishes (close one past its age or
    left broken), for layers that answer ahead of Django's signals. Connections inside an
    atomic block (the test suite's transactions) are left alone, as the other helpers do."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()
    release_connections()
