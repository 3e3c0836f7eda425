"""Refuse unreadable input before any view sees it.

An API request (``/api/``) is refused, and nothing runs, when

- its body is larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413; multipart uploads excepted:
  Django streams their files and bounds their fields itself);
- its path, its query string, or its form (``application/x-www-form-urlencoded``) body
  (percent-decoded) is not UTF-8 or holds a control character (NUL and the other C0 controls
  but tab, line feed and carriage return; DEL) (422);
- its multipart body has no usable boundary (400: Django's parser would raise on it);
- its JSON body spells such a character, or an unpaired UTF-16 surrogate, as a ``\\u`` escape
  (PostgreSQL cannot store a NUL; neither database an unpaired surrogate) (422). JSON that is
  not UTF-8 is left to the API, which refuses it as unreadable JSON (400).

The answer is the API's one error shape (``invalid_input``, ``invalid_json`` or
``body_too_large``) in the request's language. The sale's fast lane (``core.fastlane``)
applies the same checks to the requests it answers.

A page is refused only for what no form can answer: a body over the limit (413) or an
unreadable multipart body (400), with a translated page. Control characters in a form are
refused by the form itself, next to the field (Django's fields refuse NUL; the services check
names, emails and phones), so the person sees which field to correct.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParser
from django.shortcuts import render
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Raw bytes: C0 controls but tab, LF, CR; and DEL.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A JSON escape (preceded by an even run of backslashes) of such a control character, or of a
# surrogate that is not part of a high+low pair.
_BAD_JSON_ESCAPE = re.compile(
    rb"(?<!\\)(?:\\\\)*\\u(?:"
    rb"00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])"
    rb"|[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb")"
    rb"|(?<![\\]u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)(?:\\\\)*\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)

NOT_ALLOWED = gettext_lazy(
    "The request contains characters that are not allowed (control characters such as NUL, "
    "or bytes that are not UTF-8)."
)
TOO_LARGE = gettext_lazy("The request is too large.")
UNREADABLE = gettext_lazy("The request could not be read.")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def text_is_clean(raw: bytes) -> bool:
    """Percent-decoded ``raw`` (a query string or a form body) is UTF-8 without controls."""
    decoded = unquote_to_bytes(raw.replace(b"+", b" ")) if b"%" in raw else raw
    return not _CONTROL_BYTES.search(decoded) and _is_utf8(decoded)


def _is_utf8(raw: bytes) -> bool:
    if raw.isascii():
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def json_is_clean(raw: bytes) -> bool:
    """``raw`` JSON neither holds nor escapes a control character or a lone surrogate."""
    return not (_CONTROL_BYTES.search(raw) or (b"\\u" in raw and _BAD_JSON_ESCAPE.search(raw)))


def multipart_is_readable(content_type: str) -> bool:
    """A multipart Content-Type whose boundary Django's parser accepts."""
    _type, params = parse_header_parameters(content_type)
    boundary = params.get("boundary")
    return bool(boundary) and MultiPartParser.boundary_re.fullmatch(boundary) is not None


def body_too_large(environ) -> bool:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    content_type = environ.get("CONTENT_TYPE", "")
    return length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE and not content_type.startswith(
        "multipart/"
    )


def refusal(environ, read_body) -> int | None:
    """400, 413 or 422 when an API request must be refused, else None. ``read_body()`` gives
    the body (called only when a check reads it)."""
    if body_too_large(environ):
        return 413
    # WSGI gives the path already percent-decoded, its bytes as latin-1 characters.
    path = environ.get("PATH_INFO", "").encode("latin-1", "replace")
    if _CONTROL_BYTES.search(path) or not _is_utf8(path):
        return 422
    query = environ.get("QUERY_STRING", "")
    if query and not text_is_clean(query.encode("latin-1", "replace")):
        return 422
    if environ.get("REQUEST_METHOD", "") not in BODY_METHODS:
        return None
    content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type.startswith("multipart/"):
        return None if multipart_is_readable(environ["CONTENT_TYPE"]) else 400
    if content_type == "application/x-www-form-urlencoded":
        return None if text_is_clean(read_body()) else 422
    if content_type == "application/json" or content_type.endswith("+json"):
        return None if json_is_clean(read_body()) else 422
    return None


def oversized_or_unreadable(environ) -> int | None:
    """413 for a body over the limit, 400 for a multipart body without a usable boundary."""
    if body_too_large(environ):
        return 413
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.lower().startswith("multipart/") and not multipart_is_readable(content_type):
        return 400
    return None


def error_body(status: int) -> dict:
    if status == 400:
        from tessera.api import INVALID_JSON

        return {"error": {"code": "invalid_json", "message": str(INVALID_JSON), "details": {}}}
    if status == 413:
        return {"error": {"code": "body_too_large", "message": str(TOO_LARGE), "details": {}}}
    return {
        "error": {
            "code": "invalid_input",
            "message": _("The input is not valid."),
            "details": {"errors": [{"field": "request", "message": str(NOT_ALLOWED)}]},
        }
    }


class InputGuardMiddleware:
    """Answers a refused request itself (after LocaleMiddleware: the answer is translated)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            status = refusal(request.META, lambda: request.body)
            if status is None:
                return self.get_response(request)
            return JsonResponse(error_body(status), status=status)
        # Pages: their forms refuse control characters field by field, with the message next
        # to the field (Django's fields and the services' checks); only what no form can
        # answer is refused here.
        status = oversized_or_unreadable(request.META)
        if status is None:
            return self.get_response(request)
        message = {413: TOO_LARGE, 400: UNREADABLE}.get(status, NOT_ALLOWED)
        return render(
            request, "bad_request.html", {"status": status, "message": message}, status=status
        )
