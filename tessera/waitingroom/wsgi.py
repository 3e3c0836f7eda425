"""The queue status check, served ahead of Django's request handling.

Every fan in a queue polls ``GET /queue/-/status?t=<token>`` every few seconds, so at an
on-sale it is most of the traffic. The answer needs only the signed token and this process's
view of the room (``status.get_view``): no session, no CSRF check, no user, no messages, no
URL resolving. ``with_queue_status`` wraps the WSGI application: that one path is answered
by ``views.status_response`` (the same function as the Django view at the same URL, so both
say the same), in the language of the request's language cookie or ``Accept-Language``;
every other request goes to Django unchanged.

Requests answered here skip Django's ``request_started``/``request_finished`` signals, so the
layer does what their handlers do with the same helpers (``tessera.core.db``): at the start,
a connection that had an error or was idle for more than a second is checked (and one past
its age closed); at the end, the connection is noted as handed back.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from http.cookies import CookieError, SimpleCookie

from django.conf import settings
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import trans_real

from tessera.core.db import prepare_connections, release_connections

STATUS_PATH = "/queue/-/status"
logger = logging.getLogger(__name__)


def _language(environ) -> str:
    """The language Django's LocaleMiddleware would choose (cookie, then Accept-Language)."""
    raw_cookie = environ.get("HTTP_COOKIE", "")
    if settings.LANGUAGE_COOKIE_NAME in raw_cookie:
        try:
            morsel = SimpleCookie(raw_cookie).get(settings.LANGUAGE_COOKIE_NAME)
        except CookieError:
            morsel = None
        if morsel is not None:
            try:
                return trans_real.get_supported_language_variant(morsel.value)
            except LookupError:
                pass
    for code, _quality in trans_real.parse_accept_lang_header(
        environ.get("HTTP_ACCEPT_LANGUAGE", "")
    ):
        if code == "*":
            break
        try:
            return trans_real.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def _answer_status(environ, start_response):
    from tessera.waitingroom.views import status_response

    prepare_connections()
    language = _language(environ)
    try:
        with translation.override(language):
            refused = _rate_limited(environ)
            if refused is not None:
                return _refuse(environ, start_response, refused, language)
            response = status_response(environ.get("QUERY_STRING", ""))
    except Exception:  # the same promise as Django's handler: an answer, never a traceback
        logger.exception("queue status check failed")
        body = b'{"error":{"code":"unavailable","message":"","details":{}}}'
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]
    finally:
        release_connections()
    headers = [(name, value) for name, value in response.items()]
    headers.extend(("Set-Cookie", c.output(header="")) for c in response.cookies.values())
    headers.append(("Content-Length", str(len(response.content))))
    headers.append(("Content-Language", language))
    headers.append(("X-Content-Type-Options", "nosniff"))
    start_response(f"{response.status_code} {response.reason_phrase}", headers)
    if environ.get("REQUEST_METHOD") == "HEAD":
        return [b""]
    return [response.content]


@cache
def _rate_limit_check():
    path = getattr(settings, "RATELIMIT_CHECK", "")
    return import_string(path) if path else None


def _rate_limited(environ):
    """The rate limit of the status check (action ``queue_status``; no rule by default, so
    it costs a cached lookup), as Django's middleware would check other requests."""
    check = _rate_limit_check()
    return check(environ, "queue_status") if check is not None else None


def _refuse(environ, start_response, refused, language):
    body = json.dumps({"error": refused.as_dict()}, ensure_ascii=False).encode()
    start_response(
        "429 Too Many Requests",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Content-Language", language),
            ("Retry-After", str(refused.retry_after)),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def with_queue_status(application):
    """``application`` with ``GET``/``HEAD /queue/-/status`` answered ahead of it."""

    def queue_status_first(environ, start_response):
        if environ.get("PATH_INFO") == STATUS_PATH and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            return _answer_status(environ, start_response)
        return application(environ, start_response)

    return queue_status_first
