"""Pages of the group and box sales.

The contact's: the request form of a session, the list of their requests and one request
(its quote: accept and pay; its tickets: names before the cut-off). The organizer's: the
requests of their organization in the partner console (quote or decline). The seat map's:
buying a box whole. Views parse the form, call one service and redirect or render; a
refused request shows the service's message and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.groupsales import selectors, services
from tessera.groupsales.errors import RequestNotFound, SessionNotFound
from tessera.groupsales.models import BoxOffer, GroupRequest, GroupStatus
from tessera.inventory.admission import pass_from_request
from tessera.partners.console import can_write, console_required

_FIELDS = (
    "zone",
    "quantity",
    "budget",
    "company_name",
    "invoice_title",
    "tax_number",
    "invoice_address",
    "invoice_phone",
    "invoice_bank",
    "invoice_email",
    "notes",
)


def _local(session, moment):
    return moment.astimezone(session.layout.venue.zone_info) if moment else None


def _session_or_404(session_id: int):
    try:
        return selectors.get_public_session(session_id)
    except SessionNotFound:
        raise Http404(_("No such session.")) from None


@login_required
@require_http_methods(["GET", "POST"])
def request_form(request, session_id: int):
    """A company's or group's request for a block of places of one session."""
    now = clock.now()
    session = _session_or_404(session_id)
    values = {name: request.POST.get(name, "") for name in _FIELDS}
    errors: dict = {}
    error = None
    if request.method == "POST":
        try:
            made = services.submit_group_request(
                session=session, contact=request.user, data=values, now=now
            )
        except DomainError as exc:
            error = str(exc.message)
            errors = exc.details
        else:
            messages.success(
                request, _("Your request was sent; the organizer will answer with a quote.")
            )
            return redirect("groupsales:detail", request_id=made.pk)
    else:
        values["invoice_email"] = request.user.email
    return render(
        request,
        "groupsales/request_form.html",
        {
            "session": session,
            "zones": list(session.price_zones.all()),
            "values": values,
            "errors": errors,
            "error": error,
            "is_open": services._is_open(session, now) and not session.real_name_required,
        },
        status=422 if error else 200,
    )


@login_required
def my_requests(request):
    """The signed-in contact's group requests."""
    rows = list(selectors.list_requests_of_contact(request.user)[:200])
    return render(request, "groupsales/list.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def detail(request, request_id: int):
    """One of the contact's requests: the quote (accept and pay) and the tickets' names."""
    now = clock.now()
    try:
        group = selectors.get_request_of_contact(request_id=request_id, user=request.user)
    except RequestNotFound:
        raise Http404(_("No such group request.")) from None
    error = None
    errors: dict = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "accept":
                order = services.accept_quote(request=group, user=request.user, now=now)
                return redirect("storefront:checkout_payment", hold_id=order.hold_id)
            if action == "names":
                names = {
                    key.removeprefix("name_"): value
                    for key, value in request.POST.items()
                    if key.startswith("name_")
                }
                count = services.name_group_tickets(
                    request=group, user=request.user, names=names, now=now
                )
                messages.success(request, _("%(n)d tickets named.") % {"n": count})
                return redirect("groupsales:detail", request_id=group.pk)
        except DomainError as exc:
            error = str(exc.message)
            errors = exc.details
        group = selectors.get_request_of_contact(request_id=request_id, user=request.user)
    names = selectors.ticket_names(group)
    tickets = [
        {"ticket": t, "name": names.get(t.pk, ""), "line": t.order_line}
        for t in services.group_tickets(group)
    ]
    status = group.effective_status
    return render(
        request,
        "groupsales/detail.html",
        {
            "group": group,
            "session": group.session,
            "status": status,
            "status_label": group.get_effective_status_display(),
            "pay_by": _local(group.session, group.pay_by_at),
            "names_by": _local(group.session, group.names_by_at),
            "can_accept": status == GroupStatus.QUOTED and group.pay_by_at > now,
            "can_pay": status == GroupStatus.ORDERED and group.pay_by_at > now,
            "can_name": status == GroupStatus.PAID
            and group.names_by_at is not None
            and now < group.names_by_at,
            "tickets": tickets,
            "error": error,
            "errors": errors,
        },
        status=422 if error else 200,
    )


def _parse_local(value: str, session) -> datetime | None:
    try:
        naive = datetime.strptime(value.strip()[:16], "%Y-%m-%dT%H:%M")
    except (ValueError, AttributeError):
        return None
    return naive.replace(tzinfo=session.layout.venue.zone_info)


@console_required
@require_http_methods(["GET", "POST"])
def manage(request):
    """The organizer's group requests (its organization in the console): quote or decline."""
    now = clock.now()
    partner = request.partner
    writable = can_write(request.user, partner)
    error = None
    errors: dict = {}
    failed_id = None
    if request.method == "POST":
        raw_id = request.POST.get("request", "")
        group = None
        if raw_id.isdigit() and len(raw_id) < 19:
            group = selectors.list_requests_of_organization(partner.pk).filter(pk=int(raw_id))
            group = group.first()
        if group is None or not writable:
            raise Http404(_("No such group request."))
        action = request.POST.get("action")
        try:
            if action == "quote":
                services.quote_group_request(
                    request=group,
                    actor=request.user,
                    unit_price=request.POST.get("unit_price", ""),
                    pay_by_at=_parse_local(request.POST.get("pay_by", ""), group.session),
                    names_by_at=_parse_local(request.POST.get("names_by", ""), group.session),
                    now=now,
                )
                messages.success(request, _("Quote sent; the places are held for the group."))
            elif action == "decline":
                services.decline_group_request(
                    request=group,
                    actor=request.user,
                    reason=request.POST.get("reason", ""),
                    now=now,
                )
                messages.success(request, _("Request declined."))
            return redirect(reverse("groupsales:manage") + f"?org={partner.pk}")
        except DomainError as exc:
            error = str(exc.message)
            errors = exc.details
            failed_id = group.pk
    rows = list(selectors.list_requests_of_organization(partner.pk)[:200])
    for row in rows:
        row.local_starts = _local(row.session, row.session.starts_at)
        row.pay_by_local = _local(row.session, row.pay_by_at)
    return render(
        request,
        "groupsales/manage.html",
        {
            "partner": partner,
            "rows": rows,
            "writable": writable,
            "error": error,
            "errors": errors,
            "failed_id": failed_id,
            "posted": request.POST if error else {},
        },
        status=422 if error else 200,
    )


@login_required
@require_POST
def buy_box(request, offer_id: int):
    """Buy a box whole (from the seat map): all its places held, an order placed, then the
    normal payment step."""
    now = clock.now()
    offer = BoxOffer.objects.filter(pk=offer_id).select_related("session").first()
    if offer is None:
        raise Http404(_("No such box on sale."))
    try:
        order = services.buy_box(
            offer=offer,
            user=request.user,
            now=now,
            admission_pass=pass_from_request(request, offer.session_id),
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("storefront:buy", session_id=offer.session_id)
    return redirect("storefront:checkout_payment", hold_id=order.hold_id)


__all__ = ["GroupRequest", "buy_box", "detail", "manage", "my_requests", "request_form"]
