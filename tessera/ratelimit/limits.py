"""Which requests count against which buckets, and the 429 answer.

``refusal(environ, action, account=…)`` works on a bare WSGI environ (``request.META`` is
one), so the sale's fast lane and the queue status layer, which answer ahead of Django's
middleware, check the same buckets as ``RateLimitMiddleware`` does for every other request.
Scopes: ``ip`` (``accounts.throttle.client_address``: an IPv6 /64 counts as one address),
``device`` (``core.device.device_key``) and ``account`` (the signed-in account; for sign-in
the account name typed). An action without rules costs one cached dictionary read.
"""

from __future__ import annotations

import math
import re

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import JsonResponse
from django.shortcuts import render

from tessera.core.device import device_key
from tessera.ratelimit.buckets import Take, bucket_key, get_backend, rules_for
from tessera.ratelimit.errors import RateLimited

_UUID = "[0-9a-fA-F-]{32,36}"
# (action, POST path): the requests that start something a bot fleet would repeat
ACTION_PATHS: list[tuple[str, str]] = [
    ("sign_in", r"/accounts/login/"),
    ("sign_in", r"/admin/login/"),
    ("sign_up", r"/signup/"),
    ("queue_join", r"/queue/[0-9]{1,18}/"),
    ("queue_join", r"/api/v1/waitingrooms/[0-9]{1,18}/entries"),
    ("hold", r"/sessions/[0-9]{1,18}/buy/"),
    ("hold", r"/api/v1/sessions/[0-9]{1,18}/holds"),
    ("hold", r"/api/v1/sessions/[0-9]{1,18}/seatmap/hold"),
    ("hold", rf"/checkout/{_UUID}/recover/"),
    ("checkout", r"/api/v1/sessions/[0-9]{1,18}/checkout"),
    ("checkout", rf"/api/v1/holds/{_UUID}/order"),
    ("checkout", rf"/checkout/{_UUID}/"),
    ("payment", r"/api/v1/orders/[^/]{1,40}/payments"),
    ("payment", rf"/checkout/{_UUID}/payment/"),
]
_PATTERNS = [(action, re.compile(path)) for action, path in ACTION_PATHS]


def action_for(method: str, path: str) -> str | None:
    """The action a request counts as, or None."""
    if method != "POST":
        return None
    for action, pattern in _PATTERNS:
        if pattern.fullmatch(path):
            return action
    return None


def _address(environ) -> str:
    from tessera.accounts.throttle import client_address

    class _Meta:  # client_address reads request.META
        META = environ

    return client_address(_Meta)


def refusal(environ, action: str, *, account=None) -> RateLimited | None:
    """Take a token from every bucket of ``action`` this request counts against; the
    ``RateLimited`` error to answer when one of them was empty, else None."""
    if not getattr(settings, "RATELIMIT_ENABLED", True):
        return None
    rules = rules_for(action)
    if not rules:
        return None
    takes = []
    for scope, rule in rules:
        if scope == "ip":
            value = _address(environ)
        elif scope == "device":
            value = device_key(environ)
        elif scope == "account":
            value = str(account).strip().lower()[:160] if account not in (None, "") else None
        else:
            continue
        if value:
            takes.append(Take(bucket_key(action, scope, value), rule))
    if not takes:
        return None
    outcome = get_backend().take(takes)
    if outcome.allowed:
        return None
    scope = outcome.refused_key.split(":", 2)[1]
    return RateLimited(retry_after=math.ceil(outcome.retry_after), scope=scope, action=action)


def enforce(environ, action: str, *, account=None) -> None:
    """``refusal`` that raises its RateLimited (for the fast lane's handlers)."""
    refused = refusal(environ, action, account=account)
    if refused is not None:
        raise refused


def wants_json(request) -> bool:
    return request.path_info.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def rate_limited_response(request, exc: RateLimited):
    """The 429 answer: the API's one error shape, or a page; both with ``Retry-After``."""
    if wants_json(request):
        response = JsonResponse({"error": exc.as_dict()}, status=429)
    else:
        response = render(
            request,
            "ratelimit/rate_limited.html",
            {"retry_after": exc.retry_after, "message": exc.message, "back": request.path},
            status=429,
        )
    response["Retry-After"] = str(exc.retry_after)
    return response


def _account(request, action: str):
    if action == "sign_in":
        return request.POST.get("username", "")
    if action == "sign_up":
        return None
    return request.session.get(SESSION_KEY) if hasattr(request, "session") else None


class RateLimitMiddleware:
    """Checks the buckets of every POST that starts a counted action (``ACTION_PATHS``)
    before the view runs. After the session and locale middlewares (the account and the
    language), before CSRF (a refused flood costs no form parsing beyond sign-in's name)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        action = action_for(request.method, request.path_info)
        if action is not None:
            refused = refusal(request.META, action, account=_account(request, action))
            if refused is not None:
                return rate_limited_response(request, refused)
        return self.get_response(request)
