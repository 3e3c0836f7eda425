"""The hold guard of ``settings.HOLD_GUARDS``: the waiting room's pass, except for the hold
of a waiting-list offer being made (a live offer counts as admission).

The offer is made by ``services`` in the transaction that returned the places, for a fan who
is not at a browser: ``offering(session_id, user_id)`` marks that one hold call, in this
thread only (a context variable), so no other hold is let through and the hot hold path
costs no query.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from tessera.waitingroom.guards import require_admission

_offering: ContextVar[tuple[int, int] | None] = ContextVar("waitlist_offering", default=None)


@contextmanager
def offering(*, session_id: int, user_id: int) -> Iterator[None]:
    """While inside, a hold of ``user_id`` in ``session_id`` passes the waiting room."""
    token = _offering.set((session_id, user_id))
    try:
        yield
    finally:
        _offering.reset(token)


def require_admission_or_offer(*, session, user, admission_pass: str | None, now: datetime) -> None:
    """Hold guard: a waiting-list offer's hold passes; any other hold needs what the waiting
    room requires (``waitingroom.guards.require_admission``)."""
    if _offering.get() == (session.pk, getattr(user, "pk", None)):
        return
    require_admission(session=session, user=user, admission_pass=admission_pass, now=now)
