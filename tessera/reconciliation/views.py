"""The reconciliation's pages: days with their counts, a day's mismatches and their actions.

Platform operators (finance) see every day's figures and every mismatch, import statements,
run days and resolve mismatches. Members of other organizations see only the mismatches of
their own organizations' orders, read-only, and no platform-wide figures.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tessera.accounts.selectors import is_platform_operator, list_organization_ids
from tessera.core.clock import now as clock_now
from tessera.core.errors import DomainError
from tessera.reconciliation import generators, services
from tessera.reconciliation.forms import DayForm, ImportForm, ResolveForm
from tessera.reconciliation.models import (
    Action,
    DayStatus,
    Mismatch,
    MismatchStatus,
    ReconciliationDay,
)
from tessera.reconciliation.services import PROVIDERS, actions_for


class Viewer:
    def __init__(self, user):
        self.user = user
        self.is_platform = is_platform_operator(user)
        self.org_ids = [] if self.is_platform else list_organization_ids(user)

    def mismatches(self, queryset):
        if self.is_platform:
            return queryset
        return queryset.filter(organization_id__in=self.org_ids)


def _viewer(request) -> Viewer | None:
    if not request.user.is_authenticated:
        return None
    viewer = Viewer(request.user)
    if not viewer.is_platform and not viewer.org_ids:
        raise PermissionDenied
    return viewer


def _days_context(request, viewer: Viewer, form: ImportForm | None = None) -> dict:
    scope = Q() if viewer.is_platform else Q(mismatches__organization_id__in=viewer.org_ids)
    days = ReconciliationDay.objects.select_related("statement").annotate(
        seen=Count("mismatches", filter=scope, distinct=True),
        open=Count(
            "mismatches",
            filter=scope & Q(mismatches__status=MismatchStatus.OPEN),
            distinct=True,
        ),
    )
    if not viewer.is_platform:
        days = days.filter(seen__gt=0)
    provider = request.GET.get("provider", "")
    if provider in PROVIDERS:
        days = days.filter(provider=provider)
    return {
        "viewer": viewer,
        "days": list(days.order_by("-day_on", "provider")[:120]),
        "form": form or ImportForm(initial={"provider": "sandbox"}),
        "run_form": DayForm(),
        "providers": PROVIDERS,
        "chosen_provider": provider if provider in PROVIDERS else "",
        "reconciled": DayStatus.RECONCILED,
    }


@never_cache
def days(request):
    viewer = _viewer(request)
    if viewer is None:
        return redirect_to_login(request.get_full_path())
    return render(request, "reconciliation/days.html", _days_context(request, viewer))


def _operator(request) -> Viewer:
    viewer = _viewer(request)
    if viewer is None or not viewer.is_platform:
        raise PermissionDenied
    return viewer


def _day_url(provider: str, day_on: date) -> str:
    return reverse("reconciliation:day", kwargs={"provider": provider, "day": day_on.isoformat()})


@never_cache
@require_POST
def import_file(request):
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("reconciliation:days"))
    viewer = _operator(request)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(
            request, "reconciliation/days.html", _days_context(request, viewer, form), status=422
        )
    provider, day_on = form.cleaned_data["provider"], form.cleaned_data["day"]
    now = clock_now()
    if form.cleaned_data.get("generate"):
        data = generators.statement_file(provider=provider, day_on=day_on, source="sandbox")
        name = f"sandbox_{day_on:%Y%m%d}_业务明细.csv"
    else:
        upload = form.cleaned_data["file"]
        data = upload.read()
        name = upload.name
    try:
        statement, created = services.import_statement(
            provider=provider, day_on=day_on, data=data, file_name=name, actor=request.user, now=now
        )
        services.reconcile_day(provider=provider, day_on=day_on, now=now, actor=request.user)
    except DomainError as exc:
        form.add_error(None, str(exc.message))
        return render(
            request, "reconciliation/days.html", _days_context(request, viewer, form), status=422
        )
    if created:
        messages.success(
            request,
            _("Imported %(rows)d lines and reconciled the day.") % {"rows": statement.row_count},
        )
    else:
        messages.info(request, _("This file was imported already; the day was reconciled again."))
    return redirect(_day_url(provider, day_on))


@never_cache
@require_POST
def run(request):
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("reconciliation:days"))
    viewer = _operator(request)
    form = DayForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "reconciliation/days.html",
            {**_days_context(request, viewer), "run_form": form},
            status=422,
        )
    provider, day_on = form.cleaned_data["provider"], form.cleaned_data["day"]
    services.reconcile_day(provider=provider, day_on=day_on, now=clock_now(), actor=request.user)
    messages.success(request, _("The day was reconciled again."))
    return redirect(_day_url(provider, day_on))


def _parse_day(provider: str, day: str) -> date:
    if provider not in PROVIDERS or len(day) != 10:
        raise Http404
    try:
        return date.fromisoformat(day)
    except ValueError as exc:
        raise Http404 from exc


@never_cache
def day(request, provider: str, day: str):
    viewer = _viewer(request)
    if viewer is None:
        return redirect_to_login(request.get_full_path())
    day_on = _parse_day(provider, day)
    record = (
        ReconciliationDay.objects.select_related("statement")
        .filter(provider=provider, day_on=day_on)
        .first()
    )
    if record is None:
        raise Http404
    mismatches = list(
        viewer.mismatches(record.mismatches.all())
        .select_related("order", "organization", "resolved_by")
        .order_by("status", "kind", "id")
    )
    if not viewer.is_platform and not mismatches:
        raise Http404
    for mismatch in mismatches:
        mismatch.allowed = actions_for(mismatch) if viewer.is_platform else []
        mismatch.allowed_labels = [(a, Action(a).label) for a in mismatch.allowed]
    shown_status = record.status
    if not viewer.is_platform:
        shown_status = (
            DayStatus.OPEN
            if any(m.status == MismatchStatus.OPEN for m in mismatches)
            else DayStatus.RECONCILED
        )
    return render(
        request,
        "reconciliation/day.html",
        {
            "viewer": viewer,
            "record": record,
            "shown_status": shown_status,
            "shown_status_label": DayStatus(shown_status).label,
            "mismatches": mismatches,
            "open_count": sum(1 for m in mismatches if m.status == MismatchStatus.OPEN),
            "figures": record.figures if viewer.is_platform else {},
            "explain": Action.EXPLAIN,
        },
    )


@never_cache
@require_POST
def resolve(request, pk: int):
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("reconciliation:days"))
    _operator(request)
    mismatch = Mismatch.objects.select_related("day").filter(pk=pk).first()
    if mismatch is None:
        raise Http404
    back = _day_url(mismatch.day.provider, mismatch.day.day_on)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an action; a note has at most 500 characters."))
        return redirect(back)
    try:
        services.resolve_mismatch(
            mismatch=mismatch,
            action=form.cleaned_data["action"],
            note=form.cleaned_data["note"],
            actor=request.user,
            now=clock_now(),
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(back)
    messages.success(request, _("The mismatch is resolved."))
    return redirect(back)
