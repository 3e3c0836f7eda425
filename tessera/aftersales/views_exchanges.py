"""The fan's exchange pages: choose tickets and new places, see the quote, confirm, then pay
the difference at the provider's cashier or be done. They call the same services as the API
(``exchanges``); the new places are held with ``inventory.hold_best_available`` (a price
zone), or picked on the date's seat map, whose hold then leads to the quote."""

from datetime import UTC
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tessera.aftersales import exchanges
from tessera.catalog.models import PriceZone
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.orders import services as orders
from tessera.orders.models import LineStatus

WARN_SECONDS = 150  # the storefront checkout's countdown warning


def _order(request, number: str):
    try:
        return orders.get_order_for_user(number=number[:20], user=request.user)
    except DomainError:
        raise Http404(_("No such order.")) from None


def _line_ids(values) -> list[int]:
    ids = []
    for value in values:
        for part in str(value).split(","):
            if part.strip().isdigit():
                ids.append(int(part))
    return ids


def _zones(sessions, now):
    """Each session's price zones with the places free now."""
    free = {}
    for zone_id in (
        InventoryUnit.objects.filter(session__in=sessions, status=UnitStatus.AVAILABLE)
        .values_list("zone_id", flat=True)
        .iterator()
    ):
        free[zone_id] = free.get(zone_id, 0) + 1
    zones = PriceZone.objects.filter(session__in=sessions).order_by("session_id", "sort_order")
    return [
        {
            "session": session,
            "zones": [(z, free.get(z.pk, 0)) for z in zones if z.session_id == session.pk],
        }
        for session in sessions
    ]


@never_cache
@login_required
def start(request, number: str):
    """Step 1: the tickets to give back and the new places (a zone of this or another
    session; the best free seats of it are held)."""
    now = clock.now()
    order = _order(request, number)
    error = None
    try:
        sessions = exchanges.sessions_for_exchange(order, now)
    except DomainError as exc:
        sessions, error = [], exc.message
    lines = list(order.lines.filter(status=LineStatus.ACTIVE).order_by("pk"))
    chosen = _line_ids(request.POST.getlist("lines")) if request.method == "POST" else []
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action.startswith("map:") and error is None:
        if not chosen:
            error = _("Choose the tickets to exchange.")
        else:
            url = reverse("exchanges:exchange_map", args=[order.number, action[4:][:12] or "0"])
            return redirect(f"{url}?lines={','.join(str(n) for n in chosen)}")
    elif request.method == "POST" and error is None:
        zone = (
            PriceZone.objects.filter(
                pk=request.POST.get("zone", "") if request.POST.get("zone", "").isdigit() else 0,
                session__in=sessions,
            )
            .select_related("session__event")
            .first()
        )
        if not chosen:
            error = _("Choose the tickets to exchange.")
        elif zone is None:
            error = _("Choose where you want to sit.")
        else:
            try:
                hold = inventory.hold_best_available(
                    session=zone.session,
                    user=request.user,
                    quantity=len(chosen),
                    zone=zone,
                    accept_split=True,
                    now=now,
                )
            except DomainError as exc:
                error = exc.message
            else:
                url = reverse("exchanges:exchange_quote", args=[order.number, hold.pk])
                return redirect(f"{url}?lines={','.join(str(n) for n in chosen)}")
    return render(
        request,
        "aftersales/exchange_start.html",
        {
            "order": order,
            "lines": lines,
            "chosen": chosen,
            "choices": _zones(sessions, now),
            "error": error,
            "nav": "orders",
        },
        status=400 if error and request.method == "POST" else 200,
    )


@never_cache
@login_required
def pick_on_map(request, number: str, session_id: str):
    """Step 1, on the seat map: the fan picks the new seats of one session themselves; the
    hold leads to the quote (step 2) instead of the checkout."""
    now = clock.now()
    order = _order(request, number)
    try:
        sessions = exchanges.sessions_for_exchange(order, now)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("exchanges:exchange_start", number=order.number)
    session = next((s for s in sessions if str(s.pk) == session_id), None)
    active = set(order.lines.filter(status=LineStatus.ACTIVE).values_list("pk", flat=True))
    line_ids = [n for n in _line_ids(request.GET.getlist("lines")) if n in active]
    if session is None or not line_ids:
        raise Http404(_("No such order."))
    quote_url = reverse("exchanges:exchange_quote", args=[order.number, UUID(int=0)])
    lines = ",".join(str(n) for n in sorted(set(line_ids)))
    return render(
        request,
        "aftersales/exchange_map.html",
        {
            "order": order,
            "session": session,
            "count": len(set(line_ids)),
            "lines": lines,
            "seatmap_next": quote_url.replace(str(UUID(int=0)), "{hold}") + f"?lines={lines}",
            "seatmap_max": len(set(line_ids)),
            "is_on_sale": True,
            "nav": "orders",
        },
    )


@never_cache
@login_required
def quote(request, number: str, hold_id: UUID):
    """Step 2: the quote (difference and fee explained), then confirm."""
    now = clock.now()
    order = _order(request, number)
    hold = Hold.objects.filter(pk=hold_id, user=request.user).first()
    line_ids = _line_ids(request.GET.getlist("lines") or request.POST.getlist("lines"))
    error = None
    found = None
    try:
        found = exchanges.quote_exchange(
            order=order, user=request.user, line_ids=line_ids, hold=hold, now=now
        )
    except DomainError as exc:
        error = exc.message
    if request.method == "POST" and found is not None:
        if request.POST.get("action") == "release":
            inventory.release_hold(hold=hold, user=request.user, now=now)
            return redirect("exchanges:exchange_start", number=order.number)
        try:
            done = exchanges.confirm_exchange(
                order=order,
                user=request.user,
                line_ids=line_ids,
                hold=hold,
                expected_difference=request.POST.get("difference"),
                idempotency_key=request.POST.get("key", "")[:100],
                now=now,
            )
        except DomainError as exc:
            error = exc.message
        else:
            payment = exchanges.payment_for(done)
            if payment is not None and done.status != "completed":
                if not payment.cashier_url:
                    from tessera.payments import services as payments

                    payment = payments.connect_payment(payment=payment, now=now)
                return redirect(payment.cashier_url)
            messages.success(request, _("Your tickets have been exchanged."))
            return redirect("exchanges:exchange_detail", exchange_id=done.pk)
    return render(
        request,
        "aftersales/exchange_quote.html",
        {
            "order": order,
            "quote": found,
            "hold": hold,
            "line_ids": ",".join(str(n) for n in line_ids),
            "key": f"{hold_id}:{','.join(str(n) for n in line_ids)}"[:100],
            "error": error,
            "nav": "orders",
            "deadline": hold.expires_at.astimezone(UTC).isoformat() if hold else "",
            "warn_seconds": WARN_SECONDS,
            "countdown_strings": {
                "warning": _(
                    "Less than two and a half minutes left: finish now or ask for more time."
                ),
                "expired": _("Your hold has expired. Your places are free for other fans now."),
                "reloading": _("Showing your options…"),
            },
        },
        status=409 if error and request.method == "POST" else 200,
    )


@never_cache
@login_required
def detail(request, exchange_id: UUID):
    """The exchange's status: done (the new tickets), waiting for the payment, or failed."""
    now = clock.now()
    try:
        found = exchanges.get_exchange_for_user(exchange_id=exchange_id, user=request.user)
    except DomainError:
        raise Http404(_("No such exchange.")) from None
    if request.method == "POST":
        try:
            payment = exchanges.pay_difference(request=found, user=request.user, now=now)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            return redirect(payment.cashier_url)
        return redirect("exchanges:exchange_detail", exchange_id=found.pk)
    stage = found.stage_at(now)
    return render(
        request,
        "aftersales/exchange_detail.html",
        {
            "exchange": found,
            "stage": stage,
            "stage_label": exchanges.stage_label(stage),
            "old_lines": [claim.line for claim in found.lines.select_related("line")],
            "new_lines": list(found.new_order.lines.all()),
            "nav": "orders",
        },
    )
