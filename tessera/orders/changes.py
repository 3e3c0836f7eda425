"""What each web process has heard about orders changing status, so that a buyer waiting for
the outcome of a payment is answered the moment it is known, without polling the database.

Every status change an order goes through after it is placed is *announced*: on PostgreSQL
with ``NOTIFY tessera_order, '<order id>:<status>'``, sent when the changing transaction
commits (the sale's confirmation sends it from inside its one statement; other services call
``announce`` on commit). Each process that serves status reads runs one listener thread with
its own connection (``LISTEN``), which records what it hears on the process's ``board`` and
wakes whoever waits for that order. A process therefore knows every change committed since
its listener started: for an order placed after that moment, "nothing heard" means "nothing
changed", and the status can be answered without a database read.

Without PostgreSQL (SQLite: one machine, any number of processes) there is no listener; the
board knows only the changes made by its own process, and waiting falls back to reading the
order a few times a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from django.db import connection, transaction

logger = logging.getLogger(__name__)

CHANNEL = "tessera_order"
BOARD_SIZE = 200_000
_RECONNECT_SECONDS = (0.5, 1, 2, 5)


class Board:
    """order id → last status heard, bounded (the oldest entries are forgotten first), with
    per-order events for the waiters. Thread-safe."""

    def __init__(self, size: int = BOARD_SIZE):
        self._size = size
        self._lock = threading.Lock()
        self._statuses: OrderedDict[int, str] = OrderedDict()
        self._waiters: dict[int, threading.Event] = {}
        # monotonic seconds and wall-clock time since which every announced change was
        # heard (None: not listening, only this process's own changes are known)
        self.listening_since: float | None = None

    def record(self, order_id: int, status: str) -> None:
        with self._lock:
            self._statuses[order_id] = status
            self._statuses.move_to_end(order_id)
            while len(self._statuses) > self._size:
                self._statuses.popitem(last=False)
            event = self._waiters.pop(order_id, None)
        if event is not None:
            event.set()

    def heard(self, order_id: int) -> str | None:
        with self._lock:
            return self._statuses.get(order_id)

    def wait(self, order_id: int, *, unless: str, timeout: float) -> str | None:
        """The status heard for the order once it differs from ``unless``, waiting up to
        ``timeout`` seconds; None when nothing else was heard in time."""
        with self._lock:
            status = self._statuses.get(order_id)
            if status is not None and status != unless:
                return status
            event = self._waiters.setdefault(order_id, threading.Event())
        event.wait(timeout)
        with self._lock:
            status = self._statuses.get(order_id)
            if self._waiters.get(order_id) is event and not event.is_set():
                # nobody else waits on a fresh event for this order in the meantime
                self._waiters.pop(order_id, None)
        return status if status is not None and status != unless else None

    def clear(self) -> None:
        with self._lock:
            self._statuses.clear()
            waiters, self._waiters = self._waiters, {}
        for event in waiters.values():
            event.set()


board = Board()


def payload(order_id: int, status: str) -> str:
    return f"{order_id}:{status}"


def announce(order_id: int, status: str) -> None:
    """Tell every process (and this one's board) that the order now has ``status``: at once
    when no transaction is open, else when the current one commits."""

    def send() -> None:
        board.record(order_id, status)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload(order_id, status)])

    transaction.on_commit(send)


# -- the listener ------------------------------------------------------------------------------

_listener: threading.Thread | None = None
_listener_pid: int | None = None
_listener_lock = threading.Lock()
_stopping = threading.Event()


def ensure_listening() -> bool:
    """Start this process's listener thread once (PostgreSQL only); True when one runs.
    Safe after a fork: a child starts its own."""
    global _listener, _listener_pid
    if connection.vendor != "postgresql":
        return False
    import os

    with _listener_lock:
        if _listener is not None and _listener_pid == os.getpid() and _listener.is_alive():
            return True
        params = connection.get_connection_params()
        _listener = threading.Thread(
            target=_listen, args=(params,), name="tessera-order-listener", daemon=True
        )
        _listener_pid = os.getpid()
        board.listening_since = None
        _stopping.clear()
        _listener.start()
    return True


def stop_listening(timeout: float = 2.0) -> None:
    """Stop this process's listener (before its database is dropped, at a clean shutdown)."""
    global _listener
    with _listener_lock:
        listener, _listener = _listener, None
        _stopping.set()
    if listener is not None and listener.is_alive():
        listener.join(timeout)


def _listen(params: dict) -> None:
    import psycopg

    failures = 0
    while not _stopping.is_set():
        try:
            with psycopg.connect(
                **{k: v for k, v in params.items() if k not in ("cursor_factory", "context")},
                autocommit=True,
            ) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                # every change committed from now on reaches this connection
                board.listening_since = time.time()
                failures = 0
                while not _stopping.is_set():
                    for notice in conn.notifies(timeout=0.5):
                        order_id, _, status = notice.payload.partition(":")
                        if order_id.isdigit() and status:
                            board.record(int(order_id), status)
        except Exception as exc:  # the database went away: hear nothing until back
            if _stopping.is_set():
                break
            board.listening_since = None
            delay = _RECONNECT_SECONDS[min(failures, len(_RECONNECT_SECONDS) - 1)]
            failures += 1
            logger.warning("order listener reconnects in %s s: %s", delay, exc)
            time.sleep(delay)
