"""Fan-facing queue pages: the queue page (join, then position, wait and progress, updated
by ``queue.js``), the status endpoint it polls, and a bare endpoint for benchmarks."""

from __future__ import annotations

import json
from urllib.parse import unquote

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.core.i18n import is_english
from tessera.inventory.admission import cookie_name
from tessera.waitingroom import services
from tessera.waitingroom.backends import get_backend
from tessera.waitingroom.errors import QueueTokenInvalid
from tessera.waitingroom.models import WaitingRoom
from tessera.waitingroom.signing import QueueToken
from tessera.waitingroom.status import check_status


def _strings() -> dict:
    return {
        "position": _("Your place in line"),
        "ahead": _("People ahead of you"),
        "wait": _("Estimated wait"),
        "minutes": _("%(n)s min"),
        "seconds": _("%(n)s s"),
        "unknown": _("a moment"),
        "opensIn": _("The sale opens in"),
        "prequeue": _(
            "You are in the pre-queue. When the sale opens, everyone here gets a place in "
            "random order: arriving early brings no advantage."
        ),
        "open": _("You are in line. Keep this page open; it updates by itself."),
        "paused": _("Admission is paused for a moment. You keep your place."),
        "admitted": _("It's your turn! Taking you to the sale…"),
        "choose": _("It's your turn! Choose the session you want to buy for:"),
        "soldOut": _("Sold out: every place has been sold."),
        "closed": _("This waiting room is closed."),
        "expired": _("Your admission time is over. Join again to get a new place."),
        "error": _("We could not check your place; trying again…"),
    }


# Chinese tickets say 周三, shorter than Django's 星期三.
_ZH_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def session_when(session) -> str:
    """When ``session`` starts, in its venue's time zone, date first: "12月30日 周三 19:30" or
    "Wed 30 Dec 19:30" (the date is what tells a room's sessions apart)."""
    local = session.starts_at.astimezone(session.layout.venue.zone_info)
    if is_english():
        return dateformat.format(local, "D j M H:i")
    return f"{local.month}月{local.day}日 {_ZH_WEEKDAYS[local.weekday()]} {local:%H:%M}"


def _choices(sessions: list) -> list[dict]:
    """The admitted fan's ways in: one per session, with the event's name when the room
    sells more than one event."""
    several_events = len({s.event_id for s in sessions}) > 1
    return [
        {
            "session": s,
            "when": session_when(s),
            "event": s.event.display_name if several_events else "",
            "url": reverse("storefront:buy", args=[s.pk]),
            "waitlist_url": reverse("waitlist:session", args=[s.pk]),
        }
        for s in sessions
    ]


@login_required
@require_http_methods(["GET", "POST"])
def queue(request, room_id: int):
    """The room's queue page; POST joins (or rejoins: the same place while it holds)."""
    room = (
        WaitingRoom.objects.filter(pk=room_id)
        .prefetch_related("sessions__event", "sessions__layout__venue")
        .first()
    )
    if room is None:
        raise Http404(_("No such waiting room."))
    now = clock.now()
    error = None
    if request.method == "POST":
        try:
            services.join_queue(room=room, user=request.user, now=now)
        except DomainError as exc:
            error = str(exc.message)
        else:
            return redirect("waitingroom:queue", room_id=room.pk)
    entry = get_backend().entry_for(room.pk, request.user.pk)
    token = (
        QueueToken(room.pk, entry.entry_id, entry.position, request.user.pk).sign()
        if entry
        else None
    )
    status = None
    if token:
        status = check_status(token, now=now)
        if status["state"] == "expired":
            token = None  # show the join button again
    sessions = sorted(room.sessions.all(), key=lambda s: (s.starts_at, s.pk))
    if status and status["admitted"] and len(sessions) == 1:
        # One session: no choice to make, straight to the sale with the pass.
        response = redirect("storefront:buy", session_id=sessions[0].pk)
        _set_pass_cookies(response, status)
        return response
    return render(
        request,
        "waitingroom/queue.html",
        {
            "room": room,
            "sessions": sessions,
            "choices": _choices(sessions),
            "events": list(dict.fromkeys(s.event.display_name for s in sessions)),
            "state": room.state_at(now),
            "token": token,
            "status": status,
            "error": error,
            "strings": _strings(),
        },
    )


def _set_pass_cookies(response, status: dict) -> None:
    if not status["admitted"]:
        return
    for session_id in status["session_ids"]:
        response.set_cookie(
            cookie_name(session_id),
            status["admission_pass"],
            expires=None,
            max_age=max(1, status["pass_expires_at"] - int(clock.now().timestamp())),
            samesite="Lax",
            httponly=True,
        )


def _token_from_query(query: str) -> str:
    # Tokens are URL-safe (digits, letters, ".", "-", "_"): no need to build a QueryDict.
    for part in query.split("&"):
        if part.startswith("t="):
            return unquote(part[2:])
    return ""


def status_response(query_string: str) -> HttpResponse:
    """The status answer of the queue token in ``query_string`` (``t=…``): JSON, and when
    admitted the pass as each session's cookie. Shared by the view below and the WSGI layer
    in ``waitingroom.wsgi`` that serves it ahead of Django's middleware.

    This is the hot path of an on-sale (every waiting fan polls it), so it skips what a
    plain JSON view would do for free: no QueryDict, no JSON encoder class."""
    try:
        result = check_status(_token_from_query(query_string), now=clock.now())
    except QueueTokenInvalid as exc:
        return JsonResponse({"error": exc.as_dict()}, status=exc.status)
    response = HttpResponse(
        json.dumps(result, separators=(",", ":")), content_type="application/json"
    )
    response["Cache-Control"] = "no-store"
    _set_pass_cookies(response, result)
    return response


@require_GET
def status(request):
    """JSON status of the queue token ``?t=``; no database read while the room's view in
    this process is fresh (see ``status_response``)."""
    return status_response(request.META.get("QUERY_STRING", ""))


@require_GET
def ping(request):
    """A bare endpoint: the benchmark's yardstick for the status check."""
    return HttpResponse(b'{"ok":true}', content_type="application/json")
