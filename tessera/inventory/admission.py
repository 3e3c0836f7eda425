"""Admission to hold places.

An app above inventory (the waiting room) may require something of a buyer before places
are held, e.g. a signed admission pass for a session with an on-sale queue. Such an app
names a guard in ``settings.HOLD_GUARDS``; every hold service calls each guard before it
writes anything, so the web pages and the API enforce the same rule and inventory never
imports the app that sets it.

A guard is ``guard(*, session, user, admission_pass, now) -> None`` and raises a
``DomainError`` to refuse. The pass travels in the ``X-Tessera-Admission`` header (API) or
in the cookie ``tessera_pass_<session id>`` (pages); ``pass_from_request`` reads either.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

ADMISSION_HEADER = "X-Tessera-Admission"


def cookie_name(session_id: int) -> str:
    """The cookie that carries the admission pass of one session."""
    return f"tessera_pass_{session_id}"


def pass_from_request(request, session_id: int) -> str | None:
    """The admission pass a request presents for ``session_id``: header first, then cookie."""
    given = request.headers.get(ADMISSION_HEADER) or request.COOKIES.get(cookie_name(session_id))
    return given.strip() if given else None


@cache
def _guards() -> tuple:
    return tuple(import_string(path) for path in getattr(settings, "HOLD_GUARDS", ()))


def check_admission(*, session, user, admission_pass: str | None, now: datetime) -> None:
    """Run every configured guard; the first that refuses raises its ``DomainError``."""
    for guard in _guards():
        guard(session=session, user=user, admission_pass=admission_pass, now=now)


def clear_guard_cache() -> None:
    """Forget the imported guards (tests that change ``HOLD_GUARDS``)."""
    _guards.cache_clear()
