"""The verify page of the account area: ask for a code, type it in."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.ratelimit import verification
from tessera.ratelimit.errors import RateLimited
from tessera.ratelimit.limits import enforce
from tessera.ratelimit.models import Channel, VerifiedContact


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _field(request, name: str, limit: int = 254) -> str:
    value = request.POST.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    """Verify a phone or email: POST ``action=send`` asks for a code, ``action=confirm``
    checks it (then back to ``next``, e.g. the buy page that sent the fan here)."""
    user = request.user
    channel = request.POST.get("channel") or request.GET.get("channel") or Channel.PHONE
    if channel not in Channel.values:
        channel = Channel.PHONE
    address = _field(request, "address") or (user.phone if channel == Channel.PHONE else user.email)
    next_url = _next_url(request)
    error, status, sent_to = None, 200, None
    retry_after = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "send":
                row = verification.request_code(
                    user=user,
                    channel=channel,
                    address=address,
                    now=clock.now(),
                    environ=request.META,
                )
                sent_to = verification.masked(row.channel, row.address)
            elif action == "confirm":
                enforce(request.META, "verify_confirm", account=user.pk)
                verification.confirm_code(
                    user=user, channel=channel, code=_field(request, "code", 12), now=clock.now()
                )
                messages.success(
                    request,
                    _("Your mobile phone is verified.")
                    if channel == Channel.PHONE
                    else _("Your email address is verified."),
                )
                return redirect(next_url or "ratelimit:verify")
        except RateLimited as exc:
            error, status, retry_after = str(exc.message), 429, exc.retry_after
        except DomainError as exc:
            error, status = str(exc.message), exc.status if exc.status < 500 else 503
            if action == "confirm":
                sent_to = verification.masked(channel, address)
    contacts = VerifiedContact.objects.filter(user=user).order_by("verified_at")
    response = render(
        request,
        "ratelimit/verify.html",
        {
            "channel": channel,
            "address": address,
            "next": next_url,
            "error": error,
            "sent_to": sent_to,
            "contacts": [
                {
                    "label": Channel(c.channel).label,
                    "address": verification.masked(c.channel, c.address),
                    "verified_at": c.verified_at,
                }
                for c in contacts
            ],
            "channels": Channel.choices,
        },
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response
