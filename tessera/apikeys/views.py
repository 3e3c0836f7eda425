"""The partner console's key pages: ``/partners/keys/`` (list, create, revoke, rotate, the
sandbox), the one-time page of a new key, and the call log (``/partners/calls/``,
``/partners/keys/<id>/calls/``). Every row is read through ``selectors.partner_keys`` of
``request.partner``: another partner's key is a 404. Members with a write role change keys;
finance reads."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tessera.accounts.models import OrganizationKind
from tessera.apikeys import selectors, services
from tessera.apikeys.errors import KeyNotFound
from tessera.apikeys.forms import KeyForm, RotateForm
from tessera.core.clock import now as clock_now
from tessera.core.errors import DomainError
from tessera.partners.console import can_write, console_required
from tessera.partners.scopes import SCOPES


def _url(name: str, request, *args) -> str:
    return f"{reverse(name, args=args)}?org={request.partner.pk}"


def _is_distributor(request) -> bool:
    return request.partner.kind == OrganizationKind.DISTRIBUTOR


def _writer(request) -> None:
    if not _is_distributor(request) or not can_write(request.user, request.partner):
        raise PermissionDenied


def _key(request, key_id):
    try:
        return selectors.get_partner_key(request.partner, key_id)
    except KeyNotFound:
        raise Http404 from None


@never_cache
@console_required
def keys(request):
    now = clock_now()
    partner = request.partner
    channels = list(services.live_channels(partner)) if _is_distributor(request) else []
    writer = _is_distributor(request) and can_write(request.user, partner)
    form = KeyForm(channels=channels, now=now)
    status = 200
    if request.method == "POST":
        _writer(request)
        form = KeyForm(request.POST, channels=channels, now=now)
        if form.is_valid():
            data = form.cleaned_data
            try:
                row, _secret = services.create_key(
                    partner=partner,
                    name=data["name"],
                    scopes=data["scopes"],
                    rate_limit_per_minute=data["rate_limit_per_minute"],
                    expires_at=data["expires_on"],
                    channel=data["channel"],
                    sandbox=data["sandbox"],
                    actor=request.user,
                    now=now,
                )
            except DomainError as exc:
                form.add_error(None, str(exc.message))
            else:
                return redirect(_url("apikeys:shown", request, row.pk))
        status = 422
    rows = list(selectors.partner_keys(partner)) if _is_distributor(request) else []
    replaced = {k.rotated_from_id for k in rows if k.rotated_from_id}
    world = selectors.sandbox_world(partner) if _is_distributor(request) else None
    return render(
        request,
        "apikeys/keys.html",
        {
            "partner": partner,
            "is_distributor": _is_distributor(request),
            "writer": writer,
            "form": form,
            "has_channel": bool(channels),
            "keys": [
                {
                    "row": k,
                    "status": selectors.key_status(k, now, replaced),
                    "scopes": [(s, SCOPES[s]) for s in (k.scopes or []) if s in SCOPES],
                }
                for k in rows
            ],
            "world": world,
            "sandbox_sessions": list(selectors.sandbox_sessions(world)) if world else [],
            "rotate_form": RotateForm(),
        },
        status=status,
    )


@never_cache
@console_required
def shown(request, key_id):
    """The new key, once: the sealed copy is deleted as it is read."""
    row = _key(request, key_id)
    secret = services.take_reveal(key=row, user=request.user, now=clock_now())
    return render(
        request,
        "apikeys/shown.html",
        {"partner": request.partner, "key": row, "secret": secret},
    )


@require_POST
@console_required
def revoke(request, key_id):
    _writer(request)
    row = _key(request, key_id)
    services.revoke_key(key=row, actor=request.user, now=clock_now())
    messages.success(request, _("The key %(prefix)s… was revoked.") % {"prefix": row.prefix})
    return redirect(_url("apikeys:keys", request))


@require_POST
@console_required
def rotate(request, key_id):
    _writer(request)
    row = _key(request, key_id)
    form = RotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how long the old key keeps working."))
        return redirect(_url("apikeys:keys", request))
    try:
        new, _secret = services.rotate_key(
            key=row,
            overlap_hours=form.cleaned_data["overlap_hours"],
            actor=request.user,
            now=clock_now(),
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(_url("apikeys:keys", request))
    return redirect(_url("apikeys:shown", request, new.pk))


@require_POST
@console_required
def sandbox(request):
    _writer(request)
    try:
        services.create_sandbox(partner=request.partner, actor=request.user, now=clock_now())
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Your sandbox world is ready."))
    return redirect(_url("apikeys:keys", request) + "#sandbox")


@never_cache
@console_required
def key_calls(request, key_id):
    row = _key(request, key_id)
    now = clock_now()
    (log,) = selectors.call_log([row], now=now, errors=50)
    return render(
        request,
        "apikeys/key_calls.html",
        {
            "partner": request.partner,
            "key": row,
            "log": log,
            "hours": selectors.hourly_counts(row, now=now),
            "days": selectors.LOG_DAYS,
        },
    )


@never_cache
@console_required
def calls(request):
    now = clock_now()
    rows = list(selectors.partner_keys(request.partner)) if _is_distributor(request) else []
    return render(
        request,
        "apikeys/calls.html",
        {
            "partner": request.partner,
            "logs": selectors.call_log(rows, now=now, errors=5),
            "days": selectors.LOG_DAYS,
        },
    )
