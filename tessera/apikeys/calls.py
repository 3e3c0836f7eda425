"""Per-key rate limits and the call log of partner API keys.

``admit`` is ``settings.CHANNEL_KEY_GUARD`` (called by ``sale.channels.authenticate``);
``record`` is ``settings.CHANNEL_CALL_RECORDER`` (called by ``sale.channels.record_call``
from ``CallLogMiddleware`` for the Django routes and from the sale's fast lane).

A call is counted in this process's memory only: ``flush`` writes what was counted, one
upsert per (key, hour, endpoint, status class) and the errors, and a daemon thread calls
it every ``settings.APIKEYS_FLUSH_SECONDS`` (0: no thread; the tests call ``flush``). A
process that dies loses at most that many seconds of counts; the counts are a partner's
view of its traffic, not money.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import threading
import time
from collections import Counter, defaultdict, deque
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from tessera.core.clock import now as clock_now
from tessera.ratelimit.buckets import Rule, Take, bucket_key, get_backend
from tessera.ratelimit.errors import RateLimited
from tessera.sale import channels

logger = logging.getLogger(__name__)

ERRORS_PER_KEY = 50
RATE_ACTION = "partner_api"


# -- the key's own rate -------------------------------------------------------------------------


def admit(principal) -> None:
    """Take a token from the key's bucket (``rate_limit_per_minute`` a minute, as many at
    once); raise RateLimited (429, ``Retry-After``) when it is empty. Keys without a rate,
    and ``RATELIMIT_ENABLED = False``, cost nothing."""
    per_minute = int(getattr(principal, "rate_limit_per_minute", 0) or 0)
    if per_minute <= 0 or not getattr(settings, "RATELIMIT_ENABLED", True):
        return
    rule = Rule(float(per_minute), per_minute)
    outcome = get_backend().take(
        [Take(bucket_key(RATE_ACTION, "key", str(principal.key_id)), rule)]
    )
    if not outcome.allowed:
        raise RateLimited(
            retry_after=max(1, math.ceil(outcome.retry_after)), scope="key", action=RATE_ACTION
        )


# -- counting -----------------------------------------------------------------------------------

_lock = threading.Lock()
_counts: Counter = Counter()
_errors: dict[int, deque] = defaultdict(lambda: deque(maxlen=ERRORS_PER_KEY))
_last_used: dict[int, datetime] = {}
_flusher: threading.Thread | None = None


def status_class(status: int) -> str:
    if status >= 500:
        return "5xx"
    if status >= 400:
        return "4xx"
    return "2xx"


def record(principal, *, endpoint: str, status: int, code: str = "", now=None) -> None:
    """Count one call of ``principal``'s key (memory only)."""
    now = now or clock_now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    endpoint = (endpoint or "")[:200]
    key_id = principal.key_id
    with _lock:
        _counts[(key_id, hour, endpoint, status_class(status))] += 1
        if _last_used.get(key_id) is None or _last_used[key_id] < now:
            _last_used[key_id] = now
        if status >= 400:
            _errors[key_id].append((now, endpoint, int(status), (code or "")[:60]))
    _ensure_flusher()


def pending() -> int:
    """Calls counted and not written yet (tests, metrics)."""
    with _lock:
        return sum(_counts.values())


_UPSERT = (
    "INSERT INTO apikeys_keycallcount (key_id, hour, endpoint, status_class, count) "
    "VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (key_id, hour, endpoint, status_class) "
    "DO UPDATE SET count = apikeys_keycallcount.count + excluded.count"
)


def flush() -> int:
    """Write the counts, errors and last-use times gathered so far; returns the number of
    calls written. Keys deleted meanwhile are skipped. On a database error the counts are
    kept for the next flush."""
    from tessera.apikeys.models import KeyCallError
    from tessera.sale.models import ChannelKey

    global _counts, _errors, _last_used
    with _lock:
        counts, errors, last_used = _counts, _errors, _last_used
        _counts = Counter()
        _errors = defaultdict(lambda: deque(maxlen=ERRORS_PER_KEY))
        _last_used = {}
    if not counts and not errors:
        return 0
    try:
        with transaction.atomic():
            live = set(
                ChannelKey.objects.filter(pk__in={k for k, *_ in counts} | set(errors)).values_list(
                    "pk", flat=True
                )
            )
            rows = [
                (key_id, hour, endpoint, klass, n)
                for (key_id, hour, endpoint, klass), n in sorted(
                    counts.items(), key=lambda item: (item[0][0], item[0][1], item[0][2])
                )
                if key_id in live
            ]
            if rows:
                with connection.cursor() as cursor:
                    cursor.executemany(_UPSERT, rows)
            new_errors = [
                KeyCallError(key_id=key_id, at=at, endpoint=endpoint, status=status, code=code)
                for key_id, items in errors.items()
                if key_id in live
                for at, endpoint, status, code in items
            ]
            KeyCallError.objects.bulk_create(new_errors)
            for key_id in {e.key_id for e in new_errors}:
                keep = list(
                    KeyCallError.objects.filter(key_id=key_id)
                    .order_by("-at", "-id")
                    .values_list("pk", flat=True)[:ERRORS_PER_KEY]
                )
                KeyCallError.objects.filter(key_id=key_id).exclude(pk__in=keep).delete()
            for key_id, at in last_used.items():
                if key_id in live:
                    ChannelKey.objects.filter(pk=key_id).filter(
                        Q(last_used_at__isnull=True) | Q(last_used_at__lt=at)
                    ).update(last_used_at=at)
    except DatabaseError:
        logger.warning("API call counts not written; kept for the next flush", exc_info=True)
        with _lock:
            _counts.update(counts)
            for key_id, items in errors.items():
                _errors[key_id].extend(items)
            for key_id, at in last_used.items():
                _last_used[key_id] = max(at, _last_used.get(key_id, at))
        return 0
    return sum(n for *_, n in rows)


def _flush_forever(seconds: float) -> None:
    while True:
        time.sleep(seconds)
        try:
            flush()
        except Exception:  # the thread must outlive any one failure
            logger.exception("API call log flush failed")
        finally:
            connection.close()


def _ensure_flusher() -> None:
    global _flusher
    seconds = float(getattr(settings, "APIKEYS_FLUSH_SECONDS", 5) or 0)
    if seconds <= 0 or (_flusher is not None and _flusher.is_alive()):
        return
    with _lock:
        if _flusher is not None and _flusher.is_alive():
            return
        _flusher = threading.Thread(
            target=_flush_forever, args=(seconds,), name="apikeys-call-log", daemon=True
        )
        _flusher.start()


@atexit.register
def _flush_at_exit() -> None:
    if _counts and float(getattr(settings, "APIKEYS_FLUSH_SECONDS", 5) or 0) > 0:
        try:
            flush()
        except Exception:
            logger.warning("API call counts lost at exit", exc_info=True)


def reset() -> None:
    """Forget what was counted and not written (tests)."""
    with _lock:
        _counts.clear()
        _errors.clear()
        _last_used.clear()


# -- the Django routes --------------------------------------------------------------------------


def _error_code(response) -> str:
    try:
        body = json.loads(response.content[:4096])
        return str(body.get("error", {}).get("code", ""))[:60]
    except (ValueError, AttributeError, TypeError):
        return ""


class CallLogMiddleware:
    """Counts every API request a channel key authenticated (``sale.channels`` notes the
    principal), under its route's path template and the answer's status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        channels.forget_principal()
        response = self.get_response(request)
        if channels.noted_principal() is not None:
            match = getattr(request, "resolver_match", None)
            endpoint = "/" + match.route if match is not None and match.route else "(unknown)"
            status = response.status_code
            channels.record_call(endpoint, status, _error_code(response) if status >= 400 else "")
        return response
