"""Devices: a signed cookie that names one browser, plus the request signals that describe
it, so limits, rate limits and risk rules can count per device and not only per account.

The cookie ``tessera_device`` holds ``<id>.<mac>``: a random 128-bit id and an HMAC-SHA256
tag (truncated to 128 bits) under a key derived from ``SECRET_KEY``. A client cannot invent
a valid id, so a fleet of scripts that share one cookie looks like one device; a script that
drops the cookie is named by its signals instead (``device_key``): its network address and a
digest of the headers a browser sends the same way on every request (user agent, languages,
encodings, client hints). ``DeviceCookieMiddleware`` gives every browser a cookie on its
first response; ``device_from_environ`` reads it from a WSGI environ without Django, so the
sale's fast lane (which runs ahead of the middleware) reads the same device.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache
from http.cookies import SimpleCookie

from django.conf import settings

COOKIE = "tessera_device"
MAX_AGE = 2 * 365 * 24 * 3600
SIGNAL_HEADERS = (
    "HTTP_USER_AGENT",
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_SEC_CH_UA",
    "HTTP_SEC_CH_UA_PLATFORM",
    "HTTP_SEC_CH_UA_MOBILE",
)


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"tessera.device:" + secret.encode()).digest()


def _mac(device_id: str) -> str:
    tag = hmac.new(_key(settings.SECRET_KEY), device_id.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(tag).rstrip(b"=").decode()


def new_cookie_value() -> tuple[str, str]:
    """A fresh device: ``(id, cookie value)``."""
    device_id = secrets.token_urlsafe(16)
    return device_id, f"{device_id}.{_mac(device_id)}"


def verify(value: str | None) -> str | None:
    """The device id of a cookie value, or None when it is missing or not ours."""
    if not value or len(value) > 64 or "." not in value:
        return None
    device_id, _, tag = value.partition(".")
    if not device_id or not hmac.compare_digest(tag, _mac(device_id)):
        return None
    return device_id


def _cookie_value(environ) -> str | None:
    header = environ.get("HTTP_COOKIE", "")
    if COOKIE not in header:
        return None
    try:
        morsel = SimpleCookie(header).get(COOKIE)
    except Exception:  # a malformed Cookie header names no device
        return None
    return morsel.value if morsel is not None else None


def device_from_environ(environ) -> str | None:
    """The signed device id the client sent (WSGI environ or ``request.META``), or None."""
    return verify(_cookie_value(environ))


def signals_digest(environ) -> str:
    """A short digest of the headers a browser sends alike on every request."""
    raw = "\x1f".join(str(environ.get(name, ""))[:512] for name in SIGNAL_HEADERS)
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:16]


def device_key(environ) -> str:
    """What limits count as one device: ``d:<id>`` for a signed cookie, otherwise
    ``s:<address>/<signals>`` (a client without our cookie is its address and headers)."""
    device_id = device_from_environ(environ)
    if device_id:
        return f"d:{device_id}"
    from tessera.accounts.throttle import client_address

    class _Meta:  # client_address reads request.META
        META = environ

    return f"s:{client_address(_Meta)}/{signals_digest(environ)}"


class DeviceCookieMiddleware:
    """Sets ``request.device_id`` (the signed cookie's, or a new one) and gives a browser
    without a valid cookie its cookie on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        device_id = device_from_environ(request.META)
        fresh = None
        if device_id is None:
            device_id, fresh = new_cookie_value()
        request.device_id = device_id
        response = self.get_response(request)
        if fresh is not None and COOKIE not in response.cookies:
            response.set_cookie(
                COOKIE,
                fresh,
                max_age=MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=bool(getattr(settings, "SESSION_COOKIE_SECURE", False)),
            )
        return response
