"""Hot endpoints answered by a WSGI layer ahead of Django's request handling.

A bare request through Django's handler and nine middlewares costs 0.3–0.5 ms of CPU here,
about as much as the work of the sale's hottest endpoints. ``wrap`` puts a small router in
front of Django: a request whose method and path match a registered route is answered by
its handler; every other request goes to Django unchanged. A handler runs the same service
function as the documented Ninja endpoint at the same URL and answers the same JSON, the
same error shape and status codes, in the same language; tests compare both.

What the layer does that Django's stack would: refuses a Host outside ALLOWED_HOSTS (400),
bounds the body (DATA_UPLOAD_MAX_MEMORY_SIZE, 413), refuses control characters and bytes that
are not UTF-8 as ``core.inputguard`` does (the same checks, the same answers), picks the
language as LocaleMiddleware does (the language cookie, then Accept-Language), sends the
security headers the middlewares add to JSON answers (a Content-Security-Policy that allows
nothing), keeps the database connection healthy between requests (``core.db``, as the queue
status layer does), and turns any unexpected exception into a logged 500 with the one error
shape, never a traceback.
What it does not do: sessions, CSRF and users are the handler's business (``django_request``
builds a Django request for a handler that needs them).
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http.request import split_domain_port, validate_host
from django.utils import translation
from django.utils.translation import gettext as _
from pydantic import ValidationError

from tessera.core import inputguard
from tessera.core.db import finish_connections, prepare_connections
from tessera.core.errors import DomainError
from tessera.core.metrics import ROUTE_KEY
from tessera.core.security import PERMISSIONS_POLICY

logger = logging.getLogger(__name__)

# What SecurityHeadersMiddleware, SecurityMiddleware and XFrameOptionsMiddleware add, for
# answers that are JSON or a redirect: a policy that lets them load and run nothing.
_SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
    ("Cache-Control", "no-store"),
]


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


class FastRequest:
    """The parts of a WSGI request a fast handler reads, parsed on demand."""

    def __init__(self, environ: dict, match: re.Match):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET")
        self.path = environ.get("PATH_INFO", "")
        self.args = match.groupdict()
        self._body: bytes | None = None

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.environ.get("QUERY_STRING", ""), keep_blank_values=True))

    def header(self, name: str) -> str:
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"), "")

    def headers(self) -> dict[str, str]:
        """Request headers as Django's ``request.headers`` names them."""
        found = {
            key[5:].replace("_", "-").title(): value
            for key, value in self.environ.items()
            if key.startswith("HTTP_")
        }
        if self.environ.get("CONTENT_TYPE"):
            found["Content-Type"] = self.environ["CONTENT_TYPE"]
        if self.environ.get("CONTENT_LENGTH"):
            found["Content-Length"] = self.environ["CONTENT_LENGTH"]
        return found

    @property
    def body(self) -> bytes:
        if self._body is None:
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                raise BodyTooLarge()
            self._body = self.environ["wsgi.input"].read(length) if length > 0 else b""
        return self._body

    def json(self):
        """The body as JSON; raises InvalidBody (422, the one shape) when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise InvalidBody() from exc

    def django_request(self) -> WSGIRequest:
        """A Django request over the same environ. The body is read here (bounded), so a
        request the handler leaves to Django can be handed on with it."""
        body = self.body
        request = WSGIRequest(self.environ)
        request._body = body
        request._stream = io.BytesIO(body)
        return request


class BodyTooLarge(DomainError):
    code = "body_too_large"
    status = 413

    def __init__(self):
        super().__init__(_("The request is too large."))


class InvalidBody(DomainError):
    code = "invalid_json"
    status = 400

    def __init__(self):
        from tessera.api import INVALID_JSON

        super().__init__(INVALID_JSON)


Handler = Callable[[FastRequest], Answer | None]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: Handler
    label: str = ""  # the pattern with <name> for each named group: the metrics' route


def route(method: str, pattern: str, handler: Handler) -> Route:
    """A route of ``method`` and a full-path regular expression (named groups become
    ``request.args``)."""
    return Route(method, re.compile(pattern), handler, _label(pattern))


def _label(pattern: str) -> str:
    """``pattern`` with each named group ``(?P<name>...)`` (nested groups included) written
    ``<name>``, as Django's URL patterns name their parts."""
    label, i = [], 0
    while (start := pattern.find("(?P<", i)) >= 0:
        name_end = pattern.index(">", start)
        depth, j = 0, start
        while True:
            if pattern[j] == "\\":
                j += 2
                continue
            depth += {"(": 1, ")": -1}.get(pattern[j], 0)
            j += 1
            if depth == 0:
                break
        label += [pattern[i:start], f"<{pattern[start + 4 : name_end]}>"]
        i = j
    return "".join([*label, pattern[i:]])


def json_answer(status: int, data, headers: list[tuple[str, str]] | None = None) -> Answer:
    return Answer(
        status,
        json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(),
        **({"headers": headers} if headers else {}),
    )


def error_answer(exc: DomainError) -> Answer:
    """The one error shape, with the headers the error carries (e.g. Retry-After of a rate
    limit's 429); a refusal that says when to come back in ``details.retry_after`` (risk
    control's "slowed") says it in ``Retry-After`` too."""
    headers = list(getattr(exc, "headers", {}).items())
    retry = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
    if not headers and isinstance(retry, int) and retry > 0:
        headers = [("Retry-After", str(retry))]
    return json_answer(exc.status, {"error": exc.as_dict()}, headers or None)


def validation_answer(exc: ValidationError, *, prefix: str = "body.payload") -> Answer:
    """A pydantic error as the API's one handler words it (``tessera.api``)."""
    details = [
        {
            "field": ".".join([prefix, *(str(p) for p in e.get("loc", []))]),
            "message": e.get("msg", ""),
        }
        for e in exc.errors()
    ]
    return json_answer(
        422,
        {
            "error": {
                "code": "invalid_input",
                "message": _("The input is not valid."),
                "details": {"errors": details},
            }
        },
    )


def language_of(environ) -> str:
    """The language Django's LocaleMiddleware would choose (cookie, then Accept-Language)."""
    from tessera.waitingroom.wsgi import _language

    return _language(environ)


def _host_allowed(environ) -> bool:
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _send(start_response, answer: Answer, language: str, method: str):
    reason = (
        HTTPStatus(answer.status).phrase if answer.status in HTTPStatus._value2member_map_ else ""
    )
    headers = [
        ("Content-Type", answer.content_type),
        ("Content-Length", str(len(answer.body))),
        ("Content-Language", language),
        ("Vary", "Accept-Language, Cookie"),
        *_SECURITY_HEADERS,
        *answer.headers,
    ]
    start_response(f"{answer.status} {reason}", headers)
    return [b""] if method == "HEAD" else [answer.body]


def wrap(application, routes: list[Route]):
    """``application`` with ``routes`` answered ahead of it. A handler that returns None
    passes the request on to ``application`` (the body it may have read is put back)."""

    def fast_lane(environ, start_response):
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        for candidate in routes:
            if candidate.method != method:
                continue
            match = candidate.pattern.fullmatch(path)
            if match is None:
                continue
            environ[ROUTE_KEY] = candidate.label
            answered = _serve(candidate, match, environ, start_response)
            if answered is not None:
                return answered
            break
        return application(environ, start_response)

    return fast_lane


def _serve(candidate: Route, match: re.Match, environ, start_response):
    language = language_of(environ)
    with translation.override(language):
        if not _host_allowed(environ):
            body = json.dumps(
                {"error": {"code": "bad_host", "message": _("Bad request."), "details": {}}}
            ).encode()
            return _send(start_response, Answer(400, body), language, candidate.method)
        prepare_connections()
        request = FastRequest(environ, match)
        try:
            refused = inputguard.refusal(environ, lambda: request.body)
            if refused is not None:
                return _send(
                    start_response,
                    json_answer(refused, inputguard.error_body(refused)),
                    language,
                    candidate.method,
                )
            answer = candidate.handler(request)
            if answer is None:  # the handler leaves this one to Django
                if request._body is not None:
                    environ["wsgi.input"] = io.BytesIO(request._body)
                return None
        except DomainError as exc:
            answer = error_answer(exc)
        except ValidationError as exc:
            answer = validation_answer(exc)
        except Exception:  # the same promise as Django's handler: an answer, not a trace
            logger.exception("fast lane %s %s failed", candidate.method, environ.get("PATH_INFO"))
            answer = json_answer(
                500,
                {
                    "error": {
                        "code": "server_error",
                        "message": _("Something went wrong on our side; please try again."),
                        "details": {},
                    }
                },
            )
        finally:
            finish_connections()
        return _send(start_response, answer, language, candidate.method)
