"""The fan's notification pages: the inbox (with its unread count in the site header), the
choice of channels, and the one-click unsubscribe from news and offers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.notifications import services
from tessera.notifications.compose import compose

PAGE_SIZE = 20


def unread_count(request) -> dict:
    """Context processor: ``inbox_unread`` for signed-in people, counted only when a
    template reads it (one indexed COUNT)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread": SimpleLazyObject(lambda: services.unread_count(user))}


@login_required
@never_cache
def inbox(request):
    now = clock.now()
    page = Paginator(services.inbox_of(request.user).select_related("user"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    items = [
        {
            "message": m,
            "c": compose(m, now=now, with_tickets=False, language=get_language()),
            "is_unread": m.read_at is None,
        }
        for m in page.object_list
    ]
    return render(
        request,
        "notifications/inbox.html",
        {
            "items": items,
            "page": page,
            "nav": "inbox",
            "unread": services.unread_count(request.user),
        },
    )


@login_required
@require_POST
def mark_read(request):
    ids = request.POST.getlist("message")
    clean = [int(i) for i in ids if str(i).isdigit() and len(str(i)) < 19]
    count = services.mark_read(
        user=request.user, message_ids=clean if ids else None, now=clock.now()
    )
    if count:
        messages.success(request, _("Marked as read."))
    return redirect("notifications:inbox")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request):
    preference = services.preference_of(request.user)
    if request.method == "POST":
        services.set_preferences(
            user=request.user,
            sms_enabled=request.POST.get("sms_enabled") == "on",
            marketing_email=request.POST.get("marketing_email") == "on",
            marketing_sms=request.POST.get("marketing_sms") == "on",
            now=clock.now(),
        )
        messages.success(request, _("Your choices are saved."))
        return redirect("notifications:preferences")
    return render(
        request,
        "notifications/preferences.html",
        {
            "nav": "inbox",
            "sms_enabled": bool(preference and preference.sms_enabled),
            "marketing_email": preference is None or preference.marketing_email,
            "marketing_sms": bool(preference and preference.marketing_sms),
        },
    )


@csrf_exempt  # the signed token is the credential; mail clients POST here (RFC 8058)
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    if request.method == "GET":
        return render(request, "notifications/unsubscribe.html", {"token": token, "done": False})
    try:
        user = services.unsubscribe_marketing(token=token, now=clock.now())
    except DomainError as exc:
        return render(
            request,
            "notifications/unsubscribe.html",
            {"token": token, "done": False, "error": exc.message},
            status=400,
        )
    return render(request, "notifications/unsubscribe.html", {"done": True, "email": user.email})
