"""The fan's pass pages: passes on sale, a pass's page with its buy form, my passes, and
one pass with its sessions, seats, QR code and the release of a match. They call the same
services as the API."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tessera.core import clock
from tessera.core.dates import local_moment
from tessera.core.errors import DomainError
from tessera.orders.models import OrderStatus
from tessera.passes import selectors, services
from tessera.passes.models import CreditKind, EntryStatus, PassStatus
from tessera.payments.models import Payment, PaymentStatus
from tessera.tickets.qr import qr_svg_inline

_MAX_ID = 2**63 - 1


def _money(amount: Decimal, currency: str) -> str:
    return f"¥{amount:,.2f}" if currency == "CNY" else f"{amount:,.2f} {currency}"


def _when(session) -> str:
    return local_moment(session.starts_at, session.layout.venue.zone_info)


def _policy_text(product) -> str:
    if product.credit_kind == CreditKind.FIXED:
        return _("Release a match before it starts: %(amount)s credit per released match.") % {
            "amount": _money(product.credit_value, product.currency)
        }
    return _("Release a match before it starts: %(percent)s%% of its share as credit.") % {
        "percent": f"{product.credit_value.normalize():f}"
    }


def _product_rows(product) -> list[dict]:
    return [
        {
            "event": c.session.event.display_name,
            "venue": c.session.layout.venue.display_name,
            "when": _when(c.session),
            "starts_at": c.session.starts_at,
            "zone": c.zone.display_name,
        }
        for c in product.coverage.all()
    ]


def product_list(request):
    """Passes on sale, and the signed-in fan's own passes."""
    now = clock.now()
    products = list(selectors.list_products_on_sale(now=now))
    mine = list(selectors.list_passes(user=request.user)) if request.user.is_authenticated else []
    return render(
        request,
        "passes/list.html",
        {
            "products": [
                {
                    "product": p,
                    "price": _money(p.price, p.currency),
                    "rows": _product_rows(p),
                }
                for p in products
            ],
            "mine": mine,
        },
    )


def _product_or_404(product_id: int, now):
    if product_id > _MAX_ID:
        raise Http404
    product = selectors.list_products_on_sale(now=now).filter(pk=product_id).first()
    if product is None:
        raise Http404
    return product


@never_cache
@require_http_methods(["GET", "POST"])
def product_detail(request, product_id: int):
    """A pass on sale: what it covers, the price and the policy; buying it (signed in)
    takes a place in every session and sends the fan to pay."""
    now = clock.now()
    product = _product_or_404(product_id, now)
    error = ""
    holder_name = request.POST.get("holder_name", "") if request.method == "POST" else ""
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")
        try:
            bought = services.buy_pass(
                product_id=product.pk,
                user=request.user,
                provider="sandbox",
                holder_name=holder_name[:80],
                now=now,
            )
        except DomainError as exc:
            error = str(exc.message)
        else:
            return redirect(
                bought.payment.cashier_url or reverse("passes:pass", args=[bought.sold_pass.pk])
            )
    return render(
        request,
        "passes/product.html",
        {
            "product": product,
            "price": _money(product.price, product.currency),
            "rows": _product_rows(product),
            "policy": _policy_text(product),
            "error": error,
            "holder_name": holder_name,
        },
        status=409 if error else 200,
    )


@never_cache
@login_required
def pass_detail(request, pass_id: int):
    """One of my passes: its sessions with their seats, the QR code that every covered
    gate accepts, the credits, and a release button per match still to come."""
    if pass_id > _MAX_ID:
        raise Http404
    now = clock.now()
    try:
        sold = selectors.get_pass(user=request.user, pass_id=pass_id)
    except DomainError as exc:
        raise Http404 from exc
    credential = selectors.pass_credential(sold)
    entries = []
    credits = Decimal("0.00")
    for e in sold.entries.all():
        credit = getattr(e, "credit", None)
        if credit is not None:
            credits += credit.amount
        entries.append(
            {
                "entry": e,
                "event": e.session.event.display_name,
                "venue": e.session.layout.venue.display_name,
                "when": _when(e.session),
                "place": e.order_line.place_label,
                "zone": e.order_line.zone_name,
                "is_released": e.status == EntryStatus.RELEASED,
                "is_refunded": e.status == EntryStatus.REFUNDED,
                "credit": _money(credit.amount, credit.currency) if credit else "",
                "can_release": sold.status == PassStatus.ACTIVE
                and e.status == EntryStatus.ACTIVE
                and e.session.starts_at > now,
            }
        )
    return_quote = None
    if sold.status == PassStatus.ACTIVE:
        try:
            quote = services.quote_return(pass_=sold, now=now)
        except DomainError:
            quote = None
        if quote is not None:
            return_quote = {
                "refund": _money(quote.refund, quote.currency),
                "fee": _money(quote.fee, quote.currency) if quote.fee else "",
                "sessions": quote.sessions,
            }
    pay_url, is_lapsed = "", False
    if sold.status == PassStatus.PENDING:
        order = sold.order
        if order.status == OrderStatus.PENDING_PAYMENT and order.expires_at > now:
            payment = (
                Payment.objects.filter(order=order, status=PaymentStatus.CREATED)
                .order_by("-created_at")
                .first()
            )
            pay_url = payment.cashier_url if payment else ""
        else:
            is_lapsed = True
    return render(
        request,
        "passes/pass.html",
        {
            "pay_url": pay_url,
            "is_lapsed": is_lapsed,
            "sold": sold,
            "entries": entries,
            "qr": qr_svg_inline(credential, title=_("Pass QR code")) if credential else "",
            "credential": credential,
            "credits": _money(credits, sold.product.currency),
            "policy": _policy_text(sold.product),
            "return_quote": return_quote,
        },
    )


@require_POST
@login_required
def release(request, pass_id: int):
    """Release one match of my pass (``session`` in the form)."""
    if pass_id > _MAX_ID:
        raise Http404
    raw = request.POST.get("session", "")
    if not raw.isdigit() or len(raw) > 18:
        messages.error(request, _("Choose a match of this pass to release."))
        return redirect("passes:pass", pass_id=pass_id)
    try:
        credit = services.release_match(
            pass_id=pass_id, session_id=int(raw), user=request.user, now=clock.now()
        )
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("The match is released: its place is back on sale and %(credit)s is credited.")
            % {"credit": _money(credit.amount, credit.currency)},
        )
    return redirect("passes:pass", pass_id=pass_id)


@require_POST
@login_required
def return_pass(request, pass_id: int):
    """Return my whole pass before its first match (the form asks the fan to confirm)."""
    if pass_id > _MAX_ID:
        raise Http404
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm that you return the whole pass."))
        return redirect("passes:pass", pass_id=pass_id)
    try:
        result = services.return_pass(pass_id=pass_id, user=request.user, now=clock.now())
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _(
                "Your pass is returned: %(amount)s goes back to the payment you made; its "
                "places are back on sale."
            )
            % {"amount": _money(result.refund, result.currency)},
        )
    return redirect("passes:pass", pass_id=pass_id)
