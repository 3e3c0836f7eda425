"""The fan's refund page: choose tickets of an order, see the fee of each and why, confirm;
and withdrawing a request that waits for the organizer. The order page lists the requests
with where their money is."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tessera.aftersales import changes, selectors, services
from tessera.aftersales.models import RefundRequest
from tessera.aftersales.policies import session_policy_lines
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.core.money import format_money
from tessera.orders import services as orders
from tessera.orders.models import LineStatus
from tessera.tickets.models import Ticket, TicketStatus


def _own_order(request, number: str):
    try:
        return orders.get_order_for_user(number=number[:20], user=request.user)
    except DomainError:
        raise Http404(_("No such order.")) from None


def _chosen(request) -> list[int]:
    chosen = []
    for value in request.POST.getlist("line")[:100]:
        if not value.isdigit() or len(value) > 12:
            raise DomainError(_("Choose tickets of this order that are still valid."))
        chosen.append(int(value))
    return chosen


@never_cache
@login_required
def refund(request, number: str):
    """GET: the tickets that can be refunded. POST "quote": the fee of the chosen ones,
    explained, with a confirm button carrying that fee. POST "confirm": the request (refused
    with the new figures when the fee changed since the quote)."""
    now = clock.now()
    order = _own_order(request, number)
    tickets = {
        ticket.order_line_id: ticket
        for ticket in Ticket.objects.filter(order_line__order=order, status=TicketStatus.VALID)
    }
    lines = [
        line
        for line in order.lines.order_by("pk")
        if line.status == LineStatus.ACTIVE and line.pk in tickets
    ]
    context = {
        "order": order,
        "session": order.session,
        "lines": lines,
        "policy": session_policy_lines(session=order.session, now=now),
        "chosen": [],
        "quote": None,
        "error": "",
        "key": uuid.uuid4().hex,
        "nav": "orders",
    }
    if request.method == "POST":
        try:
            chosen = _chosen(request)
            context["chosen"] = chosen
            if not chosen:
                raise DomainError(_("Choose at least one ticket to refund."))
            if request.POST.get("step") == "confirm":
                made = services.request_refund(
                    order=order,
                    user=request.user,
                    line_ids=chosen,
                    reason=request.POST.get("reason", ""),
                    expected_fee=request.POST.get("expected_fee", ""),
                    idempotency_key=request.POST.get("key", "")[:100],
                    now=now,
                )
                if made.stage == "requested":
                    messages.success(
                        request,
                        _("Your refund request has been sent to the organizer for review."),
                    )
                else:
                    messages.success(
                        request,
                        _("Your refund has been approved; %(amount)s is on its way back to you.")
                        % {"amount": format_money(made.amount, made.currency)},
                    )
                return redirect("storefront:order", number=order.number)
            context["quote"] = services.quote_refund(order=order, line_ids=chosen, now=now)
        except DomainError as exc:
            context["error"] = str(exc.message)
            if exc.code == "refund_fee_changed":
                try:
                    context["quote"] = services.quote_refund(
                        order=order, line_ids=context["chosen"], now=now
                    )
                except DomainError:
                    context["quote"] = None
    status = 200 if not context["error"] else 409
    return render(request, "aftersales/refund.html", context, status=status)


@require_POST
@login_required
def withdraw(request, number: str, request_id):
    order = _own_order(request, number)
    found = RefundRequest.objects.filter(pk=request_id, order=order).first()
    if found is None:
        raise Http404(_("No such refund request."))
    try:
        services.withdraw_refund(request=found, user=request.user, now=clock.now())
        messages.success(request, _("Your refund request has been withdrawn."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("storefront:order", number=order.number)


def requests_for_order_page(order) -> list[RefundRequest]:
    """The order's refund requests, newest first, for the order page."""
    return list(selectors.requests_of_order(order))


@never_cache
@login_required
@require_POST
def change_refund(request, number: str):
    """The fan takes the full refund a postponement offers (``changes.refund_after_change``)."""
    order = _own_order(request, number)
    try:
        changes.refund_after_change(order=order, user=request.user, now=clock.now())
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Your order is refunded in full; the money goes back the way you paid.")
        )
    return redirect("storefront:order", number=order.number)
