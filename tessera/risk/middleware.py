"""Joins and holds answered by Django pass ``gate.check`` here, before their views.

JSON endpoints get the error shape of the API (``challenge_required`` with the challenge);
the queue page's form gets a "checking your browser" page that solves the challenge
(``static/risk/pow.js``) and posts the form again with ``tessera_proof``.
"""

from __future__ import annotations

import re

from django.http import JsonResponse
from django.shortcuts import render

from tessera.core.errors import DomainError
from tessera.risk import gate

ROUTES = [
    (
        re.compile(r"^/api/v1/sessions/(?P<session>[0-9]{1,18})/(holds|checkout|seatmap/hold)$"),
        "hold",
    ),
    (re.compile(r"^/api/v1/waitingrooms/(?P<room>[0-9]{1,18})/entries$"), "join"),
    (re.compile(r"^/queue/(?P<room>[0-9]{1,18})/$"), "join"),
    # the buy page's price-zone form (no script, or the large-text mode)
    (re.compile(r"^/sessions/(?P<session>[0-9]{1,18})/buy/$"), "hold"),
]


def match(path: str) -> tuple[str, int | None, int | None] | None:
    for pattern, purpose in ROUTES:
        found = pattern.match(path)
        if found:
            groups = found.groupdict()
            session = groups.get("session")
            room = groups.get("room")
            return purpose, int(session) if session else None, int(room) if room else None
    return None


class RiskMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            found = match(request.path_info)
            if found is not None and request.user.is_authenticated:
                purpose, session_id, room_id = found
                is_form = not request.path_info.startswith("/api/")
                proof = request.POST.get(gate.PROOF_FIELD) if is_form else None
                try:
                    gate.check(
                        request.META,
                        purpose=purpose,
                        user=request.user,
                        session_id=session_id,
                        room_id=room_id,
                        proof=proof or None,
                        device=gate.device_of(request),
                    )
                except DomainError as exc:
                    return self.refused(request, exc, is_form=is_form, purpose=purpose)
        return self.get_response(request)

    def refused(self, request, exc: DomainError, *, is_form: bool, purpose: str):
        headers = {}
        retry = exc.details.get("retry_after")
        if retry:
            headers["Retry-After"] = str(retry)
        if not is_form:
            return JsonResponse({"error": exc.as_dict()}, status=exc.status, headers=headers)
        fields = [
            (name, value)
            for name, values in request.POST.lists()
            if name not in (gate.PROOF_FIELD, "csrfmiddlewaretoken")
            for value in values
        ]
        response = render(
            request,
            "risk/check.html",
            {
                "error": exc,
                "challenge": exc.details.get("challenge"),
                "difficulty": exc.details.get("difficulty"),
                "purpose": purpose,
                "fields": fields,
                "action": request.get_full_path(),
            },
            status=exc.status,
        )
        for name, value in headers.items():
            response[name] = value
        return response
