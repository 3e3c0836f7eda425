"""The fan's account: orders grouped into upcoming and past, the order page (the last step
of the checkout, with tickets, calendar entry, what the after-sales policy says and the
refund requests with where their money is)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tessera.aftersales.policies import session_policy_lines
from tessera.aftersales.selectors import requests_of_order
from tessera.catalog.models import Session
from tessera.checkin.services import settings_for
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderStatus
from tessera.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from tessera.storefront import steps
from tessera.tickets import services as ticket_services
from tessera.tickets.models import Ticket, TicketStatus
from tessera.tickets.qr import qr_svg_inline

_WITH_TICKETS = (OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED)


# -- the refund and exchange policy ------------------------------------------------------------


def policy_lines(*, session: Session, now: datetime) -> list[str]:
    """What the session's after-sales policy means, sentence by sentence, in the active
    language."""
    return session_policy_lines(session=session, now=now)


# -- upcoming and past ------------------------------------------------------------------------


def is_upcoming(session: Session, now: datetime) -> bool:
    """A session is upcoming until the end of the day it starts, in its venue's time zone."""
    zone = session.layout.venue.zone_info
    return session.starts_at.astimezone(zone).date() >= now.astimezone(zone).date()


@dataclass
class AccountOrder:
    order: Order
    tickets: list
    policy: list[str]


def group_orders(items: list[Order], now: datetime) -> tuple[list[Order], list[Order]]:
    """(upcoming soonest first, past latest first); orders of the same session by number."""
    upcoming = [o for o in items if is_upcoming(o.session, now)]
    past = [o for o in items if not is_upcoming(o.session, now)]
    upcoming.sort(key=lambda o: (o.session.starts_at, o.number))
    past.sort(key=lambda o: (-o.session.starts_at.timestamp(), o.number))
    return upcoming, past


@never_cache
@login_required
def my_orders(request):
    """My account: the fan's orders, upcoming and past, with tickets and the policy."""
    now = clock.now()
    rows = list(
        Order.objects.filter(user=request.user)
        .select_related("session__event", "session__layout__venue")
        .order_by("-created_at")[:200]
    )
    tickets_by_order: dict[int, list] = {}
    for ticket in (
        Ticket.objects.filter(
            order_line__order__in=[o.pk for o in rows if o.status in _WITH_TICKETS]
        )
        .select_related("order_line")
        .order_by("id")
    ):
        tickets_by_order.setdefault(ticket.order_line.order_id, []).append(ticket)
    upcoming, past = group_orders(rows, now)

    def wrap(order):
        return AccountOrder(
            order=order,
            tickets=tickets_by_order.get(order.pk, []),
            policy=policy_lines(session=order.session, now=now),
        )

    return render(
        request,
        "storefront/my_orders.html",
        {
            "groups": [
                {
                    "id": "upcoming",
                    "title": _("Upcoming"),
                    "items": [wrap(o) for o in upcoming],
                    "empty": _("No upcoming events. Find something to go to on the home page."),
                },
                {
                    "id": "past",
                    "title": _("Past"),
                    "items": [wrap(o) for o in past],
                    "empty": _("No past events yet."),
                },
            ],
            "valid_status": TicketStatus.VALID,
            "with_tickets": _WITH_TICKETS,
            "nav": "orders",
        },
    )


# -- the order page (step 4) ------------------------------------------------------------------


def refund_state(order: Order) -> str:
    """``""``, ``"pending"`` or ``"done"``: the automatic refund of a lost sale."""
    states = set(Refund.objects.filter(payment__order=order).values_list("status", flat=True))
    if not states:
        return ""
    if RefundStatus.PENDING in states:
        return "pending"
    return "done"


def accepts_static_codes(session: Session) -> bool:
    """Whether the gates take the static QR code (and so a printed PDF) of this session's
    tickets; a session with live rotating codes only accepts them on the ticket page."""
    rules = settings_for(session)
    return not rules.uses_rotating_codes or rules.is_static_credential_allowed


def ticket_codes(tickets: list[Ticket], *, static: bool, now: datetime) -> list[dict]:
    """Each ticket with its QR code as inline SVG when static codes are accepted (empty for
    a ticket that is not valid, or when only the live code on the ticket page admits)."""
    rows = []
    for ticket in tickets:
        svg = ""
        if static and ticket.status == TicketStatus.VALID:
            svg = qr_svg_inline(
                ticket_services.credential_for(ticket=ticket, now=now),
                title=_("QR code of ticket %(number)s") % {"number": ticket.number},
            )
        rows.append({"ticket": ticket, "qr_svg": svg})
    return rows


@never_cache
@login_required
def order_detail(request, number: str):
    now = clock.now()
    try:
        order = orders.get_order_for_user(number=number[:20], user=request.user)
    except DomainError:
        raise Http404(_("No such order.")) from None
    tickets = []
    if order.status in _WITH_TICKETS:
        tickets = list(
            Ticket.objects.filter(order_line__order=order)
            .select_related("order_line")
            .order_by("id")
        )
    static_codes = accepts_static_codes(order.session)
    hold = order.hold
    is_expired = order.status == OrderStatus.EXPIRED or (
        order.status == OrderStatus.PENDING_PAYMENT and order.expires_at <= now
    )
    refund = refund_state(order) if order.status == OrderStatus.CANCELLED else ""
    is_lost = bool(refund) and order.paid_at is None
    can_recover = hold is not None and (is_expired or is_lost) and order.session.is_on_sale(now)
    # A pass's order has no hold of its own (one per covered session): it is paid from the
    # pass's page, which the order page links to.
    is_pending = order.status == OrderStatus.PENDING_PAYMENT and not is_expired and hold is not None
    is_waiting = order.status == OrderStatus.PAID or is_pending
    # The latest attempt tells a failed or abandoned payment from one still on its way.
    payment = Payment.objects.filter(order=order).order_by("-created_at").first()
    watch = {}
    if is_waiting:
        watch = {
            "order_url": reverse("api:get_order", kwargs={"number": order.number}),
            "order_status": order.status,
            "payment_url": reverse("api:get_payment", kwargs={"payment_id": payment.pk})
            if payment
            else "",
            "payment_status": payment.status if payment else "",
        }
    return render(
        request,
        "storefront/order.html",
        {
            "order": order,
            "session": order.session,
            "hold": hold,
            "lines": list(order.lines.all()),
            "tickets": tickets,
            "ticket_codes": ticket_codes(tickets, static=static_codes, now=now),
            "static_codes": static_codes,
            "valid_status": TicketStatus.VALID,
            "is_waiting": is_waiting,
            "is_pending": is_pending,
            "is_failed": is_pending
            and payment is not None
            and payment.status == PaymentStatus.FAILED,
            "watch": watch,
            "is_expired": is_expired,
            "is_lost": is_lost,
            "refund": refund,
            "can_recover": can_recover,
            "deadline": order.expires_at.astimezone(UTC).isoformat(),
            "warn_seconds": steps.WARN_SECONDS,
            "countdown_strings": steps.countdown_strings(),
            "policy": policy_lines(session=order.session, now=now),
            "refund_requests": list(requests_of_order(order)),
            "nav": "orders",
        },
    )
