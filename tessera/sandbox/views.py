"""The sandbox gateway's cashier page, at ``/pay/sandbox/<payment id>/?<signed terms>``.

It is the gateway's page, not the shop's: its own look, no shop navigation, no sign-in (a
real cashier knows the trade, not the shop's users). GET shows the trade from the link's
signed terms (or the trade itself once decided) and writes nothing. POST records the buyer's
choice in one statement and sends the buyer back to the shop (303 to the link's return URL);
the result reaches the shop only as signed callbacks. A link whose signature does not match
its parameters is refused with a 400 page, an unknown trade with a 404 page.
"""

from decimal import Decimal
from uuid import UUID

import segno
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tessera.core.clock import now as clock_now
from tessera.core.errors import DomainError
from tessera.core.money import format_money, to_minor_units
from tessera.sandbox import pagepay, services
from tessera.sandbox.conf import public_url
from tessera.sandbox.errors import TradeClosed, TradeNotFound
from tessera.sandbox.models import SandboxTradeStatus


def qr_svg(text: str) -> str:
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


def _amount_text(amount_minor: int, currency: str) -> str:
    per_unit = to_minor_units(Decimal(1), currency)  # 100 for CNY
    return format_money(Decimal(amount_minor) / per_unit, currency)


def _refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render(request, "sandbox/refused.html", {"message": error.message}, status=error.status)


class _SeeOther(HttpResponseRedirect):
    status_code = 303


@require_http_methods(["GET", "POST"])
def cashier(request: HttpRequest, payment_id: UUID) -> HttpResponse:
    pairs = [(name, value) for name, values in request.GET.lists() for value in values]
    try:
        terms = pagepay.terms_from_query(payment_id, pairs) if pairs else None
    except DomainError as exc:
        return _refused(request, exc)
    if request.method == "POST":
        return _press(request, payment_id, terms)
    trade = services.find_trade(payment_id)
    if trade is not None:
        terms, status, reference = pagepay.TradeTerms.of_trade(trade), trade.status, trade.reference
    elif terms is not None:
        status, reference = SandboxTradeStatus.WAITING, ""
    else:
        return _refused(request, TradeNotFound())
    amount = _amount_text(terms.amount_minor, terms.currency)
    return render(
        request,
        "sandbox/cashier.html",
        {
            "terms": terms,
            "status": status,
            "reference": reference,
            "amount": amount,
            "qr_svg": qr_svg(public_url() + request.get_full_path())
            if status == SandboxTradeStatus.WAITING
            else "",
        },
    )


def _press(request: HttpRequest, payment_id: UUID, terms) -> HttpResponse:
    here = request.get_full_path()
    choice = request.POST.get("choice", "")
    if choice not in services.CHOICES:
        messages.error(request, _("Please press one of the buttons."))
        return _SeeOther(here)
    if terms is None:
        # A link without terms names a trade the gateway opened before the buyer came.
        trade = services.find_trade(payment_id)
        if trade is None:
            return _refused(request, TradeNotFound())
        terms = pagepay.TradeTerms.of_trade(trade)
    try:
        trade = services.press_button(
            terms=terms, choice=choice, now=clock_now(), payer=request.POST.get("payer", "")
        )
    except (TradeClosed, DomainError) as exc:
        messages.error(request, str(exc.message))
        return _SeeOther(here)
    return _SeeOther(trade.return_url or here)
