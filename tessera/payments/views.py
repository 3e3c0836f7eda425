"""The sandbox gateway's cashier page, at ``/pay/sandbox/<payment id>/``.

It is the gateway's page, not the shop's: its own look, no shop navigation, no sign-in (a
real cashier knows the trade, not our users). Pressing a button records the buyer's choice;
the result reaches the shop only as a signed callback from a background task.
"""

from uuid import UUID

import segno
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tessera.core.clock import now as clock_now
from tessera.core.money import format_money
from tessera.payments import sandbox_gateway
from tessera.payments.conf import public_url
from tessera.payments.models import SandboxTrade
from tessera.payments.providers.base import minor_to_decimal


def _qr_svg(text: str) -> str:
    return segno.make(text, error="m").svg_inline(
        scale=1,
        border=4,
        omitsize=True,
        dark="#000",
        light="#fff",
        title=_("Scan to pay"),
        svgclass="cashier-qr",
        lineclass=None,
    )


@require_http_methods(["GET", "POST"])
def sandbox_cashier(request: HttpRequest, payment_id: UUID) -> HttpResponse:
    trade = SandboxTrade.objects.filter(payment_id=payment_id).first()
    if trade is None:
        raise Http404
    if request.method == "POST":
        choice = request.POST.get("choice", "")
        if choice not in ("pay", "fail"):
            messages.error(request, _("Please press one of the buttons."))
        else:
            try:
                sandbox_gateway.press_button(payment_id=payment_id, choice=choice, now=clock_now())
            except sandbox_gateway.TradeClosed as exc:
                messages.error(request, str(exc.message))
        return redirect("payments:sandbox_cashier", payment_id=payment_id)
    cashier = public_url() + reverse("payments:sandbox_cashier", args=[payment_id])
    return render(
        request,
        "payments/sandbox_cashier.html",
        {
            "trade": trade,
            "amount": format_money(
                minor_to_decimal(trade.amount_minor, trade.currency), trade.currency
            ),
            "qr_svg": _qr_svg(cashier),
        },
    )
