"""The request id: one per HTTP request, taken from the client's (or the proxy's)
``X-Request-ID`` when it is a plain token, else made here; returned in the response's
``X-Request-ID``, written on every log line of the request (``core.logs``) and carried into
the tasks the request enqueues (``core.taskbackends``), whose worker logs it again.

It lives in a context variable: each server thread (and each task) has its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

HEADER = "X-Request-ID"
ENVIRON_KEY = "HTTP_X_REQUEST_ID"
# What a proxy or client may hand us: ids of nginx ($request_id), uuids, trace ids. Anything
# else (too long, spaces, control characters) is replaced, never echoed into logs or headers.
_ACCEPTED = re.compile(r"[A-Za-z0-9._:@+=-]{8,128}")

_current: ContextVar[str] = ContextVar("tessera_request_id", default="")


def new() -> str:
    return uuid.uuid4().hex


def accept(given: str | None) -> str:
    """``given`` when it is an acceptable id, else a new one."""
    if given and _ACCEPTED.fullmatch(given):
        return given
    return new()


def get() -> str:
    """The id of the request (or task) this thread is working for; "" outside of one."""
    return _current.get()


def bind(request_id: str) -> Token:
    return _current.set(request_id)


def unbind(token: Token) -> None:
    _current.reset(token)


@contextmanager
def bound(request_id: str) -> Iterator[str]:
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)
