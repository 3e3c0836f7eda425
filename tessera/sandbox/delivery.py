"""Callback delivery: the sandbox gateway POSTs its signed callbacks over HTTP, many trades at
once, as real gateways do.

A trade's callbacks go out in their order (duplicates and a late out-of-order event arrive
the way the switches promise), one HTTP request after the other; different trades go out in
parallel from a bounded pool of threads per process (``DeliveryPool``), started the first
time something is delivered and started afresh in a forked child. A callback the merchant
does not acknowledge (an answer other than 200, or no answer) is tried again with the rest of
the trade's callbacks after 0.5 s, 1 s, 2 s, 4 s … up to ``len(RETRY_SECONDS)`` times, then
given up and logged: the merchant's own reconciliation (querying the gateway) completes a
payment whose callback never arrived. A delayed delivery (``delay_seconds``) waits on the
pool's timer thread, not on a delivery thread.

Delivery runs after the decision has committed (``transaction.on_commit``), never inside a
transaction, touches no database and never blocks the request that pressed the button.
``SANDBOX_DELIVERY = "inline"`` delivers at once in the committing thread instead, with no
delay and no retry: for tests that need the callbacks to have arrived when the request
returns. It still goes over HTTP.
"""

import heapq
import http.client
import itertools
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from tessera.sandbox.conf import DELIVERY_MODES, delivery_mode
from tessera.sandbox.signing import SignedCallback

logger = logging.getLogger(__name__)

THREADS = 8
# Waits before the 2nd, 3rd, … attempt, in seconds; after the last, the delivery is given up.
RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
TIMEOUT_SECONDS = 10.0
USER_AGENT = "Tessera-Sandbox-Gateway/1"


@dataclass(frozen=True)
class Delivery:
    """A trade's callbacks still to be delivered, and which attempt this is."""

    reference: str
    notify_url: str
    callbacks: tuple[SignedCallback, ...]
    attempt: int = 1


_connections = threading.local()


def _connection(url: str, timeout_seconds: float, *, fresh: bool = False):
    """This thread's keep-alive connection to the URL's host, as a gateway keeps them."""
    parts = urlsplit(url)
    key = (parts.scheme, parts.netloc)
    cache = getattr(_connections, "by_host", None)
    if cache is None:
        cache = _connections.by_host = {}
    connection = cache.get(key)
    if connection is None or fresh:
        if connection is not None:
            connection.close()
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = cache[key] = kind(parts.netloc, timeout=timeout_seconds)
    return connection


def post(url: str, callback: SignedCallback, *, timeout_seconds: float) -> int:
    """POST one callback on this thread's keep-alive connection to the merchant; the HTTP
    status of the answer, 0 when there was none."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    for attempt in (1, 2):
        connection = _connection(url, timeout_seconds, fresh=attempt == 2)
        try:
            headers = {"User-Agent": USER_AGENT, **callback.headers}
            connection.request("POST", path or "/", body=callback.body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.will_close:
                connection.close()
            return response.status
        except (http.client.HTTPException, OSError) as exc:
            connection.close()
            if attempt == 2:  # a kept connection may have gone stale: one fresh try
                logger.warning("sandbox callback to %s undeliverable: %s", url, exc)
    return 0


def send_in_order(job: Delivery, *, timeout_seconds: float) -> tuple[SignedCallback, ...]:
    """POST the job's callbacks in order until one is not acknowledged; returns that one and
    those after it (empty when all were acknowledged)."""
    if not job.notify_url.startswith(("http://", "https://")):
        logger.error("sandbox trade %s has no HTTP notify URL; nothing sent", job.reference)
        return ()
    for index, callback in enumerate(job.callbacks):
        status = post(job.notify_url, callback, timeout_seconds=timeout_seconds)
        if status != 200:
            logger.warning(
                "sandbox callback %d of %s not acknowledged (HTTP %s), attempt %d",
                index + 1,
                job.reference,
                status or "none",
                job.attempt,
            )
            return job.callbacks[index:]
    return ()


class DeliveryPool:
    """Delivers jobs from ``threads`` threads; delayed jobs and retries wait on one timer
    thread until they are due."""

    def __init__(
        self,
        *,
        threads: int = THREADS,
        retry_seconds: Sequence[float] = RETRY_SECONDS,
        timeout_seconds: float = TIMEOUT_SECONDS,
    ):
        self.pid = os.getpid()
        self.retry_seconds = tuple(retry_seconds)
        self.timeout_seconds = timeout_seconds
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="sandbox-delivery")
        self._state = threading.Condition()
        self._due: list[tuple[float, int, Delivery]] = []  # a heap by due time
        self._order = itertools.count()
        self._timer: threading.Thread | None = None
        self._outstanding = 0  # jobs submitted and not finished (retries included)
        self._closed = False

    def submit(self, job: Delivery, *, delay_seconds: float = 0.0) -> None:
        """Deliver ``job`` from a pool thread, after ``delay_seconds``."""
        with self._state:
            if self._closed:
                raise RuntimeError("the delivery pool is closed")
            self._outstanding += 1
            self._schedule(job, delay_seconds)

    def wait_idle(self, timeout_seconds: float) -> bool:
        """Wait until every submitted job (and its retries) is finished; False on timeout."""
        deadline = time.monotonic() + timeout_seconds
        with self._state:
            while self._outstanding:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._state.wait(left)
        return True

    def close(self) -> None:
        """Stop: jobs not yet due are dropped, running ones finish."""
        with self._state:
            self._closed = True
            self._due.clear()
            self._state.notify_all()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- inside the pool -----------------------------------------------------------------------

    def _schedule(self, job: Delivery, delay_seconds: float) -> None:
        """With ``_state`` held: run now on a pool thread, or queue for the timer."""
        if delay_seconds <= 0:
            self._executor.submit(self._run, job)
            return
        heapq.heappush(self._due, (time.monotonic() + delay_seconds, next(self._order), job))
        if self._timer is None:
            self._timer = threading.Thread(
                target=self._release_due, name="sandbox-delivery-timer", daemon=True
            )
            self._timer.start()
        self._state.notify_all()

    def _release_due(self) -> None:
        with self._state:
            while not self._closed:
                if not self._due:
                    self._state.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._state.wait(wait)
                    continue
                _due_at, _n, job = heapq.heappop(self._due)
                self._executor.submit(self._run, job)

    def _run(self, job: Delivery) -> None:
        try:
            left = send_in_order(job, timeout_seconds=self.timeout_seconds)
            if left:
                self._retry_or_give_up(replace(job, callbacks=left))
        except Exception:  # a delivery thread must survive whatever one job does
            logger.exception("sandbox delivery of %s failed", job.reference)
        finally:
            with self._state:
                self._outstanding -= 1
                self._state.notify_all()

    def _retry_or_give_up(self, job: Delivery) -> None:
        if job.attempt > len(self.retry_seconds):
            logger.error(
                "sandbox callbacks of %s given up after %d attempts: %d not acknowledged by %s",
                job.reference,
                job.attempt,
                len(job.callbacks),
                job.notify_url,
            )
            return
        with self._state:
            if self._closed:
                return
            self._outstanding += 1
            self._schedule(
                replace(job, attempt=job.attempt + 1), self.retry_seconds[job.attempt - 1]
            )


_pool: DeliveryPool | None = None
_pool_lock = threading.Lock()


def default_pool() -> DeliveryPool:
    """This process's pool, started on first use (and again in a forked child)."""
    global _pool
    pool = _pool
    if pool is not None and pool.pid == os.getpid():
        return pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid():
            _pool = DeliveryPool()
        return _pool


def _forget_pool_in_child() -> None:
    # The parent's threads do not exist in the child; neither may its lock be held there.
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)


def deliver(job: Delivery, *, delay_seconds: float = 0.0) -> None:
    """Send a decided trade's callbacks the configured way (``SANDBOX_DELIVERY``)."""
    mode = delivery_mode()
    if mode == "pool":
        default_pool().submit(job, delay_seconds=delay_seconds)
    elif mode == "inline":
        send_in_order(job, timeout_seconds=TIMEOUT_SECONDS)
    else:
        raise ImproperlyConfigured(f"SANDBOX_DELIVERY must be one of {DELIVERY_MODES}")
