"""The partner pages: the console's overview and members, the public application page, the
platform operators' review, and an invitation's accept page.

Views parse a form, call one service and redirect; a refused request shows the service's
message (next to the field it names) and changes nothing. Console pages act only on
``request.partner`` (``console.console_required``), never on an organization id taken from
a form.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tessera.accounts.middleware import is_verified
from tessera.accounts.models import Role, TwoFactorDevice
from tessera.accounts.selectors import is_platform_operator
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.core.money import format_money
from tessera.partners import charts, selectors, services
from tessera.partners.console import console_required, role_in
from tessera.partners.errors import InvitationForSomeoneElse
from tessera.partners.forms import (
    RULE_ROWS,
    ApplicationForm,
    ApprovalForm,
    InvitationForm,
    InvitationIdForm,
    MemberForm,
    RejectionForm,
    RoleForm,
)
from tessera.partners.models import ApplicationStatus, PartnerApplication
from tessera.partners.services import ContractTerms, RuleTerms


def _show_errors(form, error: DomainError) -> None:
    """The service's refusal next to the fields it names, else above the form."""
    placed = False
    for name, message in (error.details or {}).items():
        if name in form.fields and isinstance(message, str) and " " in message:
            form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, str(error.message))


def _money(value, currency: str = "CNY") -> str:
    return format_money(value, currency)


# -- console overview ----------------------------------------------------------------------


@never_cache
@console_required
def home(request):
    partner = request.partner
    now = clock.now()
    days = selectors.sales_per_day(organization=partner, now=now)
    labels = [formats.date_format(d.day, "m-d") for d in days]
    day_labels = [formats.date_format(d.day, "SHORT_DATE_FORMAT") for d in days]
    tickets_total = sum(d.tickets for d in days)
    gross_total = sum((d.gross for d in days), start=days[0].gross * 0)
    tickets_chart = charts.bar_chart(
        [d.tickets for d in days],
        labels,
        integer=True,
        titles=[
            _("%(day)s: %(n)s tickets") % {"day": label, "n": d.tickets}
            for label, d in zip(day_labels, days, strict=True)
        ],
    )
    gross_chart = charts.bar_chart(
        [d.gross for d in days],
        labels,
        titles=[
            _("%(day)s: %(amount)s") % {"day": label, "amount": _money(d.gross)}
            for label, d in zip(day_labels, days, strict=True)
        ],
    )
    contract = selectors.get_contract(partner)
    rows = [
        (label, d.tickets, _money(d.gross))
        for label, d in zip(day_labels, days, strict=True)
        if d.tickets or d.gross
    ]
    return render(
        request,
        "partners/console/home.html",
        {
            "partner": partner,
            "orgs": request.partner_orgs,
            "tickets_chart": tickets_chart,
            "gross_chart": gross_chart,
            "tickets_total": tickets_total,
            "gross_total": _money(gross_total),
            "rows": rows,
            "contract": contract,
            "credit_limit": _money(contract.credit_limit, contract.currency) if contract else "",
            "role": role_in(request.user, partner),
        },
    )


# -- members -------------------------------------------------------------------------------


@never_cache
@console_required
@require_http_methods(["GET", "POST"])
def members(request):
    partner = request.partner
    now = clock.now()
    role = role_in(request.user, partner)
    may_manage = role in services.MANAGING_ROLES
    invite_form = InvitationForm(prefix="invite")
    back = f"{reverse('partners:members')}?org={partner.pk}"
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied
        action = request.POST.get("action", "")
        try:
            if action == "invite":
                invite_form = InvitationForm(request.POST, prefix="invite")
                if invite_form.is_valid():
                    invitation, _token = services.invite_member(
                        organization=partner,
                        actor=request.user,
                        email=invite_form.cleaned_data["email"],
                        role=invite_form.cleaned_data["role"],
                        now=now,
                        language=get_language() or "",
                    )
                    messages.success(
                        request,
                        _("Invitation sent to %(email)s.") % {"email": invitation.email},
                    )
                    return redirect(back)
            elif action in ("role", "remove", "revoke"):
                form_class = {"role": RoleForm, "remove": MemberForm}.get(action, InvitationIdForm)
                form = form_class(request.POST)
                if not form.is_valid():
                    messages.error(request, _("Please choose a member and a role."))
                    return redirect(back)
                data = form.cleaned_data
                if action == "role":
                    services.change_role(
                        organization=partner,
                        membership_id=data["membership"],
                        role=data["role"],
                        actor=request.user,
                        now=now,
                    )
                    messages.success(request, _("The role is changed."))
                elif action == "remove":
                    services.remove_member(
                        organization=partner,
                        membership_id=data["membership"],
                        actor=request.user,
                        now=now,
                    )
                    messages.success(request, _("The member is removed."))
                else:
                    services.revoke_invitation(
                        organization=partner,
                        invitation_id=data["invitation"],
                        actor=request.user,
                        now=now,
                    )
                    messages.success(request, _("The invitation is withdrawn."))
                return redirect(back)
            else:
                messages.error(request, _("Unknown action."))
                return redirect(back)
        except DomainError as error:
            if action == "invite":
                _show_errors(invite_form, error)
            else:
                messages.error(request, str(error.message))
                return redirect(back)
    return render(
        request,
        "partners/console/members.html",
        {
            "partner": partner,
            "members": selectors.list_members(partner),
            "invitations": selectors.list_invitations(partner, now=now) if may_manage else [],
            "invite_form": invite_form,
            "may_manage": may_manage,
            "is_owner": role == Role.OWNER,
            "roles": Role.choices,
            "me": request.user,
        },
        status=400 if invite_form.errors else 200,
    )


# -- the application -----------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def apply(request):
    applications = selectors.applications_of(request.user)
    pending = next((a for a in applications if a.status == ApplicationStatus.SUBMITTED), None)
    form = ApplicationForm(request.POST or None)
    status = 200
    if request.method == "POST" and pending is None:
        if form.is_valid():
            try:
                services.submit_application(
                    applicant=request.user, now=clock.now(), **form.cleaned_data
                )
            except DomainError as error:
                _show_errors(form, error)
            else:
                messages.success(request, _("Thank you: your application is waiting for review."))
                return redirect("partners:apply")
        status = 400
    return render(
        request,
        "partners/apply.html",
        {"form": form, "applications": applications, "pending": pending},
        status=status,
    )


# -- review (platform operators) ----------------------------------------------------------


def _operator_only(request):
    """Platform operators only, with the back office's two-step rule: a verified session,
    else to the code (or its setup) first. Returns a redirect when one is due."""
    if not request.user.is_authenticated or not is_platform_operator(request.user):
        raise PermissionDenied
    if is_verified(request):
        return None
    query = urlencode({"next": request.get_full_path()})
    if TwoFactorDevice.objects.filter(user=request.user, confirmed_at__isnull=False).exists():
        return redirect(f"{reverse('accounts:two_factor_verify')}?{query}")
    if settings.TWO_FACTOR_REQUIRED_FOR_OPERATORS:
        return redirect(f"{reverse('accounts:two_factor')}?{query}")
    return None


@never_cache
@login_required
def review_list(request):
    if gate := _operator_only(request):
        return gate
    status = request.GET.get("status", ApplicationStatus.SUBMITTED)
    if status not in ApplicationStatus.values and status != "all":
        status = ApplicationStatus.SUBMITTED
    return render(
        request,
        "partners/review_list.html",
        {
            "applications": selectors.list_applications(status=status),
            "status": status,
            "statuses": ApplicationStatus.choices,
        },
    )


def _terms(data) -> ContractTerms:
    rules = [
        RuleTerms(
            basis=data[f"rule{i}_basis"],
            value=data[f"rule{i}_value"],
            min_tickets=data[f"rule{i}_min_tickets"] or 0,
        )
        for i in range(RULE_ROWS)
        if data.get(f"rule{i}_basis")
    ]
    return ContractTerms(
        platform_fee_percent=data["platform_fee_percent"],
        settlement_cycle=data["settlement_cycle"],
        starts_on=data["starts_on"],
        ends_on=data.get("ends_on"),
        credit_limit=data["credit_limit"],
        prepaid=data.get("prepaid", False),
        rules=rules,
    )


def _initial_slug(application: PartnerApplication) -> str:
    from django.utils.text import slugify

    return (slugify(application.legal_name_en) or f"partner-{application.pk}")[:40].strip("-")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def review(request, application_id: int):
    if gate := _operator_only(request):
        return gate
    application = (
        PartnerApplication.objects.select_related("applicant", "organization", "decided_by")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise Http404(_("No such application."))
    now = clock.now()
    local_today = now.astimezone(selectors.sales_zone()).date()
    approval = ApprovalForm(
        prefix="approve",
        initial={
            "slug": _initial_slug(application),
            "platform_fee_percent": "5.00",
            "settlement_cycle": "monthly",
            "credit_limit": "0",
            "starts_on": local_today,
        },
    )
    rejection = RejectionForm(prefix="reject")
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                approval = ApprovalForm(request.POST, prefix="approve")
                if approval.is_valid():
                    organization = services.approve_application(
                        application_id=application.pk,
                        actor=request.user,
                        slug=approval.cleaned_data["slug"],
                        terms=_terms(approval.cleaned_data),
                        now=now,
                    )
                    messages.success(
                        request,
                        _("Approved: %(name)s is a partner now.")
                        % {"name": organization.display_name},
                    )
                    return redirect("partners:review", application.pk)
            elif action == "reject":
                rejection = RejectionForm(request.POST, prefix="reject")
                if rejection.is_valid():
                    services.reject_application(
                        application_id=application.pk,
                        actor=request.user,
                        reason=rejection.cleaned_data["reason"],
                        now=now,
                    )
                    messages.success(request, _("The application is rejected."))
                    return redirect("partners:review", application.pk)
        except DomainError as error:
            target = approval if action == "approve" else rejection
            if error.code == "terms_invalid":
                for name, message in error.details.items():
                    field = f"{name}_value" if name.startswith("rule") else name
                    approval.add_error(field if field in approval.fields else None, message)
            else:
                _show_errors(target, error)
        status = 400
    return render(
        request,
        "partners/review.html",
        {
            "application": application,
            "bank": services.bank_summary(application),
            "approval": approval,
            "rejection": rejection,
            "is_open": application.status == ApplicationStatus.SUBMITTED,
        },
        status=status,
    )


# -- an invitation ------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    now = clock.now()
    error = None
    found = None
    try:
        found = services.find_invitation(token)
        services.check_open(found, now)
    except DomainError as exc:
        error = exc
    if error is None and request.method == "POST" and request.user.is_authenticated:
        try:
            membership = services.accept_invitation(token=token, user=request.user, now=now)
        except DomainError as exc:
            error = exc
        else:
            messages.success(
                request,
                _("Welcome to %(name)s.") % {"name": membership.organization.display_name},
            )
            return redirect(f"{reverse('partners:console')}?org={membership.organization_id}")
    wrong_person = (
        error is None
        and request.user.is_authenticated
        and (request.user.email or "").strip().lower() != found.email.lower()
    )
    if wrong_person:
        error = InvitationForSomeoneElse()
    return render(
        request,
        "partners/invitation.html",
        {
            "invitation": found if error is None or wrong_person else None,
            "error": error,
            "wrong_person": wrong_person,
            "role_label": Role(found.role).label if found and found.role in Role.values else "",
            "here": request.path,
        },
        status=error.status if error else 200,
    )
