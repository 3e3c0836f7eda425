"""The help centre pages, the large text switch and the fan's help preference."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tessera.accounts.models import Organization, OrganizationKind
from tessera.core.clock import now as clock_now
from tessera.support import bot, services
from tessera.support.markdown import render_html
from tessera.support.models import FaqEntry, Topic

LARGE_TEXT_COOKIE = "tessera_large_text"
LARGE_TEXT_MAX_AGE = 400 * 24 * 3600  # a browser keeps a cookie at most 400 days
QUERY_MAX = 200


def _entries(organization: Organization | None):
    entries = FaqEntry.objects.filter(is_published=True, organization__isnull=True)
    if organization is not None:
        entries = FaqEntry.objects.filter(is_published=True, organization=organization)
    return list(entries.order_by("topic", "sort_order", "pk"))


def _grouped(entries) -> list[dict]:
    labels = dict(Topic.choices)
    groups: dict[str, list] = {}
    for entry in entries:
        groups.setdefault(entry.topic, []).append(
            {"entry": entry, "html": render_html(entry.display_answer)}
        )
    order = [value for value, _label in Topic.choices]
    return [
        {"topic": topic, "label": labels.get(topic, topic), "items": groups[topic]}
        for topic in order
        if topic in groups
    ]


def help_centre(request, slug: str | None = None):
    """The platform's questions (and, on an organizer's page, the organizer's own first),
    by topic; ``q`` searches them."""
    organization = None
    if slug is not None:
        organization = get_object_or_404(
            Organization, slug=slug, is_active=True, kind=OrganizationKind.ORGANIZER
        )
    query = request.GET.get("q", "")
    query = query.replace("\x00", "").strip()[:QUERY_MAX] if isinstance(query, str) else ""
    results = []
    if query:
        index, by_pk = bot.index_for(organization.pk if organization else None)
        results = [
            {"entry": by_pk[hit.key], "html": render_html(by_pk[hit.key].display_answer)}
            for hit in index.search(query, limit=5)
            if hit.key in by_pk
        ]
    return render(
        request,
        "support/help.html",
        {
            "nav": "help",
            "organization": organization,
            "support_organization": organization,
            "own_groups": _grouped(_entries(organization)) if organization else [],
            "groups": _grouped(_entries(None)),
            "query": query,
            "results": results,
        },
    )


def _back(request) -> str:
    target = request.POST.get("next", "")
    if isinstance(target, str) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@require_POST
def large_text(request):
    """Turn the large text mode on (``on`` = 1) or off for this device, and for the account
    when signed in; back to the page it came from."""
    on = request.POST.get("on") == "1"
    if request.user.is_authenticated:
        services.set_preference(user=request.user, large_text=on, now=clock_now())
    response = HttpResponseRedirect(_back(request))
    response.set_cookie(
        LARGE_TEXT_COOKIE,
        "1" if on else "0",
        max_age=LARGE_TEXT_MAX_AGE,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=True,
    )
    return response


@login_required
@require_POST
def assistance(request):
    """The fan asks for (or no longer wants) elder-friendly help: the large text mode is
    suggested and support answers them first."""
    wanted = request.POST.get("wanted") == "1"
    services.set_preference(user=request.user, needs_assistance=wanted, now=clock_now())
    return HttpResponseRedirect(_back(request))
