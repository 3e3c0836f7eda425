"""The hold guard (``settings.HOLD_GUARDS``) and the storefront's redirect to the queue."""

from __future__ import annotations

from datetime import datetime

from django.shortcuts import redirect
from django.urls import reverse

from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.inventory import admission
from tessera.waitingroom.errors import (
    AdmissionExpired,
    AdmissionForeign,
    AdmissionInvalid,
    AdmissionRequired,
)
from tessera.waitingroom.selectors import get_room_for_session, room_governing
from tessera.waitingroom.signing import AdmissionPass


def check_pass(*, room, user, admission_pass: str | None, now: datetime) -> AdmissionPass:
    """The valid pass of ``user`` for ``room``; raises AdmissionRequired, AdmissionInvalid,
    AdmissionForeign (another account's or another on-sale's) or AdmissionExpired."""
    if not admission_pass:
        raise AdmissionRequired()
    parsed = AdmissionPass.verify(admission_pass)
    if parsed is None:
        raise AdmissionInvalid()
    if parsed.room_id != room.pk or parsed.user_id != getattr(user, "pk", None):
        raise AdmissionForeign()
    if parsed.expires <= now.timestamp():
        raise AdmissionExpired()
    return parsed


def require_admission(*, session, user, admission_pass: str | None, now: datetime) -> None:
    """Hold guard: a session governed by a waiting room needs the buyer's valid pass."""
    room = room_governing(session.pk)
    if room is None:
        return
    check_pass(room=room, user=user, admission_pass=admission_pass, now=now)


def waitingroom_redirect(request, session):
    """A redirect to the queue for a fan without a valid pass, else None (no room, or a
    good pass). Used at the top of the storefront's buy view."""
    room = get_room_for_session(session.pk)
    if room is None:
        return None
    given = admission.pass_from_request(request, session.pk)
    try:
        check_pass(room=room, user=request.user, admission_pass=given, now=clock.now())
    except DomainError:
        return redirect(reverse("waitingroom:queue", args=[room.pk]))
    return None
