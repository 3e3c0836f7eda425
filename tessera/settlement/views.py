"""The partner console's statements: the list (with a distributor's commission chart), a
statement's page, its XLSX and PDF, approve and mark paid. Scoped to the user's partner
organizations: another partner's statement is a 404, downloads too."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.partners.console import console_required
from tessera.settlement import exports, selectors, services
from tessera.settlement.errors import PaymentDetailsInvalid
from tessera.settlement.figures import tie_to_ledger
from tessera.settlement.models import PartnerRole, StatementStatus
from tessera.settlement.periods import local_day


class PaidForm(forms.Form):
    reference = forms.CharField(label=gettext_lazy("Payment reference"), max_length=80)
    paid_on = forms.DateField(
        label=gettext_lazy("Paid on"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )


def _statement(request, pk: int):
    statement = selectors.get_statement(
        pk=pk, organization_ids=[o.pk for o in request.partner_orgs]
    )
    if statement is None:
        raise Http404
    request.partner = statement.organization
    return statement


@never_cache
@console_required
def statement_list(request):
    partner = request.partner
    statements = selectors.list_statements(organization_ids=[partner.pk])
    chart = None
    if partner.kind == "distributor":
        bars = selectors.commission_by_week(organization=partner, now=clock.now())
        chart = selectors.chart_geometry(bars) if bars else None
    return render(
        request,
        "settlement/list.html",
        {"partner": partner, "statements": statements, "chart": chart},
    )


@never_cache
@console_required
def statement_detail(request, pk: int):
    statement = _statement(request, pk)
    cols = exports.columns(statement.role)
    lines = [
        {
            "label": exports.session_label(line),
            "cells": [exports.cell_text(getattr(line, n)) for n, _h in cols],
        }
        for line in statement.lines.all()
    ]
    may_settle = services.may_settle(request.user, statement.organization_id)
    return render(
        request,
        "settlement/detail.html",
        {
            "partner": statement.organization,
            "statement": statement,
            "headings": [h for _n, h in cols],
            "fields": [n for n, _h in cols],
            "lines": lines,
            "totals": [exports.cell_text(getattr(statement, n)) for n, _h in cols],
            "net_payable": exports.cell_text(statement.net_payable),
            "sign_note": exports.sign_note(statement.role),
            "tie": tie_to_ledger(statement),
            "may_approve": may_settle and statement.status == StatementStatus.DRAFT,
            "may_mark_paid": may_settle and statement.status == StatementStatus.APPROVED,
            "paid_form": PaidForm(initial={"paid_on": local_day(clock.now())}),
            "is_organizer": statement.role == PartnerRole.ORGANIZER,
        },
    )


def _download(statement, body: bytes, content_type: str, ext: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{statement.number}.{ext}"'
    return response


@never_cache
@console_required
def statement_xlsx(request, pk: int):
    statement = _statement(request, pk)
    return _download(
        statement,
        exports.render_xlsx(statement),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    )


@never_cache
@console_required
def statement_pdf(request, pk: int):
    statement = _statement(request, pk)
    return _download(statement, exports.render_pdf(statement), "application/pdf", "pdf")


def _back(statement):
    return redirect(f"/partners/statements/{statement.pk}/?org={statement.organization_id}")


@require_POST
@console_required
def statement_approve(request, pk: int):
    statement = _statement(request, pk)
    try:
        services.approve_statement(statement=statement, actor=request.user, now=clock.now())
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The statement is approved."))
    return _back(statement)


@require_POST
@console_required
def statement_paid(request, pk: int):
    statement = _statement(request, pk)
    form = PaidForm(request.POST)
    if not form.is_valid():
        messages.error(request, str(PaymentDetailsInvalid.default_message))
        return _back(statement)
    try:
        services.mark_statement_paid(
            statement=statement,
            actor=request.user,
            reference=form.cleaned_data["reference"],
            paid_on=form.cleaned_data["paid_on"],
            now=clock.now(),
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The statement is marked paid."))
    return _back(statement)
