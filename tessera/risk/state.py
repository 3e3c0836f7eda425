"""Which sessions and rooms are under attack, and how fast their joins and holds come.

The view of switches is read at most once per ``VIEW_SECONDS`` per process (one query for all
of them); between reads, asking costs nothing. Request rates are counted per target
(``s:<session>``/``r:<room>``) in fixed windows of ``RISK_WINDOW_SECONDS``: in Redis when
configured (one pipelined INCR+EXPIRE, shared by every process), else in this process's
memory (each process sees its share; the threshold is then per process).
"""

from __future__ import annotations

import math
import threading
import time
from functools import lru_cache

from django.conf import settings

VIEW_SECONDS = 1.0


def view_seconds() -> float:
    """How old this process's view of the switches may get (``RISK_VIEW_SECONDS``, default 1;
    a switch changed through ``services`` in this process is seen at once)."""
    return float(getattr(settings, "RISK_VIEW_SECONDS", VIEW_SECONDS))


_lock = threading.Lock()
_view: dict = {"until": 0.0, "sessions": frozenset(), "rooms": frozenset()}
_counts: dict[str, tuple[int, int]] = {}  # target -> (window, count)


def window_seconds() -> int:
    return int(getattr(settings, "RISK_WINDOW_SECONDS", 10))


def threshold() -> int:
    """Joins and holds per window of one target above which it is under attack."""
    return int(getattr(settings, "RISK_ATTACK_RATE", 600))


def base_bits() -> int:
    return int(getattr(settings, "RISK_POW_BITS", 14))


def max_bits() -> int:
    return int(getattr(settings, "RISK_POW_MAX_BITS", 20))


@lru_cache(maxsize=2)
def _client(url: str):
    import redis

    return redis.Redis.from_url(url)


def redis_client():
    url = getattr(settings, "REDIS_URL", "") or ""
    return _client(url) if url else None


def _prefix() -> str:
    return getattr(settings, "RISK_REDIS_PREFIX", "tessera:")


def note_request(target: str, at: float) -> int:
    """Count one join/hold of ``target``; the count of the current window."""
    window = int(at) // window_seconds()
    client = redis_client()
    if client is not None:
        key = f"{_prefix()}risk:rate:{target}:{window}"
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window_seconds() * 2)
        count, _ = pipe.execute()
        return int(count)
    with _lock:
        seen = _counts.get(target)
        count = seen[1] + 1 if seen and seen[0] == window else 1
        if len(_counts) > 50_000:
            _counts.clear()
        _counts[target] = (window, count)
    return count


def difficulty(rate: int) -> int:
    """Leading zero bits for a proof at ``rate`` requests per window: the base, one more bit
    per doubling above the threshold, at most ``RISK_POW_MAX_BITS``."""
    bits = base_bits()
    limit = threshold()
    if rate > limit > 0:
        bits += int(math.log2(rate / limit)) + 1
    return min(bits, max_bits())


def current_rate(target: str) -> int:
    window = int(time.time()) // window_seconds()
    client = redis_client()
    if client is not None:
        raw = client.get(f"{_prefix()}risk:rate:{target}:{window}")
        return int(raw or 0)
    seen = _counts.get(target)
    return seen[1] if seen and seen[0] == window else 0


def _read_view() -> tuple[frozenset, frozenset]:
    from django.db.models import Q

    from tessera.core.clock import now as clock_now
    from tessera.risk.models import UnderAttack

    now = clock_now()
    rows = list(
        UnderAttack.objects.filter(is_active=True)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .values_list("session_id", "room_id")
    )
    sessions = {s for s, _ in rows if s}
    rooms = {r for _, r in rows if r}
    if rooms:
        from tessera.waitingroom.models import WaitingRoom

        sessions |= set(
            WaitingRoom.sessions.through.objects.filter(waitingroom_id__in=rooms).values_list(
                "session_id", flat=True
            )
        )
    return frozenset(sessions), frozenset(rooms)


def _current_view() -> dict:
    tick = time.monotonic()
    view = _view
    if view["until"] > tick:
        return view
    sessions, rooms = _read_view()
    with _lock:
        _view.update(until=time.monotonic() + view_seconds(), sessions=sessions, rooms=rooms)
    return _view


def is_under_attack(*, session_id: int | None = None, room_id: int | None = None) -> bool:
    """Whether joins/holds of the session (or of a room governing it) or of the room need a
    proof. At most one query per second per process."""
    view = _current_view()
    return (session_id is not None and session_id in view["sessions"]) or (
        room_id is not None and room_id in view["rooms"]
    )


def forget() -> None:
    """Read the switches again on the next question (a switch changed in this process; tests)."""
    with _lock:
        _view.update(until=0.0, sessions=frozenset(), rooms=frozenset())
        _counts.clear()


def assume_quiet() -> None:
    """Start from a fresh view of no switches at all, as a warm process has between two
    reads (tests: each starts with nothing under attack and counts only its own statements;
    a switch set through ``services`` forgets this view)."""
    with _lock:
        _view.update(until=time.monotonic() + VIEW_SECONDS, sessions=frozenset(), rooms=frozenset())
        _counts.clear()
