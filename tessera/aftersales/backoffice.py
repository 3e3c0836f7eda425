"""Reads of the back office of orders (``aftersales.admin``): an order's timeline, orders
stuck in payment, refund (and later exchange) rates per event, and the rows of the finance
exports. Every function takes a queryset already scoped to the user's organizations, or
ids drawn from one; none writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from tessera.aftersales.models import (
    ExchangeLine,
    ExchangeRequest,
    ExchangeStatus,
    Initiator,
    RefundRequest,
    RequestStatus,
)
from tessera.catalog.models import Event
from tessera.checkin.models import Scan
from tessera.core.models import AuditEntry
from tessera.core.money import round_money
from tessera.orders.models import (
    LedgerEntry,
    LedgerKind,
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
)
from tessera.payments.models import CallbackLog, Payment, PaymentStatus, Refund
from tessera.tickets.models import Ticket

# An order whose payment has waited this long without a callback, or that was paid this long
# ago without its tickets, is listed for an operator.
STUCK_AFTER_MINUTES = getattr(settings, "TESSERA_STUCK_PAYMENT_MINUTES", 15)

SOLD_ORDER_STATES = (
    OrderStatus.PAID,
    OrderStatus.FULFILLED,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.REFUNDED,
)


# -- the timeline of an order ---------------------------------------------------------------


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # audit, callback, scan
    action: str
    actor: str
    detail: str


def _detail(data: dict) -> str:
    return ", ".join(f"{key}: {value}" for key, value in sorted((data or {}).items()))


def order_timeline(order: Order) -> list[TimelineItem]:
    """Everything that happened to the order, oldest first: the audit entries of the order,
    its hold, payments, refunds, tickets and refund requests; the providers' callbacks; the
    gate scans of its tickets; exchanges from or into it."""
    ticket_ids = list(Ticket.objects.filter(order_line__order=order).values_list("pk", flat=True))
    payment_ids = list(Payment.objects.filter(order=order).values_list("pk", flat=True))
    refund_ids = list(Refund.objects.filter(payment__order=order).values_list("pk", flat=True))
    request_ids = list(RefundRequest.objects.filter(order=order).values_list("pk", flat=True))
    exchange_ids = list(
        ExchangeRequest.objects.filter(Q(order=order) | Q(new_order=order)).values_list(
            "pk", flat=True
        )
    )
    objects = [
        ("orders.order", [order.pk]),
        ("inventory.hold", [order.hold_id] if order.hold_id else []),
        ("tickets.ticket", ticket_ids),
        ("payments.payment", payment_ids),
        ("payments.refund", refund_ids),
        ("aftersales.refundrequest", request_ids),
        ("aftersales.exchangerequest", exchange_ids),
    ]
    match = Q(pk__in=[])
    for object_type, ids in objects:
        if ids:
            match |= Q(object_type=object_type, object_id__in=[str(i) for i in ids])
    items = [
        TimelineItem(
            at=entry.at,
            kind="audit",
            action=entry.action,
            actor=str(entry.actor) if entry.actor_id else "",
            detail=_detail(entry.data),
        )
        for entry in AuditEntry.objects.filter(match).select_related("actor").order_by("at", "id")
    ]
    items += [
        TimelineItem(
            at=log.received_at,
            kind="callback",
            action=f"callback.{log.outcome}",
            actor=log.get_provider_display(),
            detail=log.detail or log.get_outcome_display(),
        )
        for log in CallbackLog.objects.filter(payment_id__in=payment_ids)
    ]
    items += [
        TimelineItem(
            at=scan.scanned_at,
            kind="scan",
            action=f"scan.{scan.direction}",
            actor=str(scan.gate) if scan.gate_id else "",
            detail=(_("accepted") if scan.is_accepted else _("refused"))
            + f" ({scan.reason}) · #{scan.ticket_id}",
        )
        for scan in Scan.objects.filter(ticket_id__in=ticket_ids).select_related("gate")
    ]
    return sorted(items, key=lambda item: item.at)  # stable: same instant keeps log order


# -- orders stuck in payment ----------------------------------------------------------------


def _cutoff(now: datetime, minutes: int | None) -> datetime:
    return now - timedelta(minutes=STUCK_AFTER_MINUTES if minutes is None else minutes)


def waiting_for_callback(orders: QuerySet, *, now: datetime, minutes: int | None = None):
    """Orders awaiting payment with a payment opened before the cutoff from which no
    callback ever came."""
    silent = Payment.objects.filter(
        order=OuterRef("pk"),
        status=PaymentStatus.CREATED,
        created_at__lt=_cutoff(now, minutes),
    ).exclude(Exists(CallbackLog.objects.filter(payment=OuterRef("pk"))))
    return orders.filter(Exists(silent), status=OrderStatus.PENDING_PAYMENT)


def paid_not_fulfilled(orders: QuerySet, *, now: datetime, minutes: int | None = None):
    """Orders paid before the cutoff whose tickets were never issued, and orders still
    awaiting payment although a payment of theirs succeeded at the provider."""
    cutoff = _cutoff(now, minutes)
    succeeded = Payment.objects.filter(
        order=OuterRef("pk"), status=PaymentStatus.SUCCEEDED, completed_at__lt=cutoff
    )
    return orders.filter(
        Q(status=OrderStatus.PAID, paid_at__lt=cutoff)
        | Q(Exists(succeeded), status=OrderStatus.PENDING_PAYMENT)
    )


def stuck_counts(orders: QuerySet, *, now: datetime) -> dict[str, int]:
    return {
        "waiting": waiting_for_callback(orders, now=now).count(),
        "unfulfilled": paid_not_fulfilled(orders, now=now).count(),
    }


# -- refund and exchange rates per event ----------------------------------------------------


@dataclass
class EventRates:
    event_id: int
    event_name: str
    currency: str
    sold: int = 0
    refunded: int = 0
    refund_amount: Decimal = Decimal("0.00")
    fees_kept: Decimal = Decimal("0.00")
    exchanged: int = 0
    exchange_fees: Decimal = Decimal("0.00")

    @property
    def refund_rate(self) -> Decimal | None:
        if not self.sold:
            return None
        return (Decimal(self.refunded * 100) / self.sold).quantize(Decimal("0.1"))

    @property
    def exchange_rate(self) -> Decimal | None:
        if not self.sold:
            return None
        return (Decimal(self.exchanged * 100) / self.sold).quantize(Decimal("0.1"))


def _exchanged_by_event(orders: QuerySet) -> dict[tuple[int, str], dict]:
    """Tickets given back in completed exchanges and the exchange fees kept, per (event,
    currency) of the orders they were given back from."""
    rows = (
        ExchangeLine.objects.filter(
            request__order__in=orders, request__status=ExchangeStatus.COMPLETED
        )
        .values("request__order__session__event_id", "request__currency")
        .annotate(n=Count("pk"), fee=Sum("fee"))
    )
    return {
        (row["request__order__session__event_id"], row["request__currency"]): row for row in rows
    }


def rates_by_event(orders: QuerySet) -> list[EventRates]:
    """Per event of the (scoped) orders: tickets sold (lines of paid orders, refunded ones
    included; lines given back in an exchange are void and their new places count instead),
    refunded, refunded money and fees kept (approved requests), tickets given back in
    completed exchanges and the exchange fees kept. Sorted by event name."""
    sold_orders = orders.filter(status__in=SOLD_ORDER_STATES)
    lines = (
        OrderLine.objects.filter(order__in=sold_orders)
        .exclude(status=LineStatus.VOID)
        .values("order__session__event_id", "order__session__event__name", "currency")
        .annotate(
            sold=Count("pk"),
            refunded=Count("pk", filter=Q(status=LineStatus.REFUNDED)),
        )
    )
    found: dict[tuple[int, str], EventRates] = {}
    for row in lines:
        key = (row["order__session__event_id"], row["currency"])
        found[key] = EventRates(
            event_id=key[0],
            event_name=row["order__session__event__name"],
            currency=row["currency"],
            sold=row["sold"],
            refunded=row["refunded"],
        )
    money = (
        RefundRequest.objects.filter(order__in=orders, status=RequestStatus.APPROVED)
        .values("order__session__event_id", "currency")
        .annotate(amount=Sum("amount"), fee=Sum("fee"))
    )
    for row in money:
        rates = found.get((row["order__session__event_id"], row["currency"]))
        if rates is not None:
            rates.refund_amount = round_money(row["amount"] or Decimal(0), rates.currency)
            rates.fees_kept = round_money(row["fee"] or Decimal(0), rates.currency)
    for key, row in _exchanged_by_event(orders).items():
        rates = found.get(key)
        if rates is not None:
            rates.exchanged = row["n"]
            rates.exchange_fees = round_money(row["fee"] or Decimal(0), rates.currency)
    names = {e.pk: e.display_name for e in Event.objects.filter(pk__in={k[0] for k in found})}
    for rates in found.values():
        rates.event_name = names.get(rates.event_id, rates.event_name)
    return sorted(found.values(), key=lambda r: (r.event_name, r.currency))


# -- finance exports ------------------------------------------------------------------------


def _local(value: datetime | None):
    return timezone.localtime(value) if value else None


def order_rows(orders: QuerySet) -> tuple[list[str], list[list]]:
    header = [
        _("order number"),
        _("event"),
        _("session starts at"),
        _("status"),
        _("buyer"),
        _("email"),
        _("mobile phone"),
        _("channel"),
        _("payment"),
        _("total"),
        _("charged"),
        _("refunded"),
        _("currency"),
        _("created at"),
        _("paid at"),
    ]
    sums = {
        row["order_id"]: row
        for row in LedgerEntry.objects.filter(order__in=orders)
        .values("order_id")
        .annotate(
            charged=Sum("amount", filter=Q(kind=LedgerKind.CHARGE)),
            refunded=Sum("amount", filter=Q(kind=LedgerKind.REFUND)),
        )
    }
    methods: dict[int, list[str]] = {}
    for payment in Payment.objects.filter(order__in=orders, status__in=("succeeded", "refunded")):
        label = payment.get_provider_display()
        method = (payment.options or {}).get("method")
        methods.setdefault(payment.order_id, []).append(f"{label} ({method})" if method else label)
    rows = []
    for order in orders.select_related("session__event", "user", "channel").order_by("created_at"):
        money = sums.get(order.pk, {})
        rows.append(
            [
                order.number,
                order.session.event.display_name,
                _local(order.session.starts_at),
                order.get_status_display(),
                str(order.user),
                order.email,
                order.phone,
                order.channel.code if order.channel_id else "",
                "; ".join(methods.get(order.pk, [])),
                order.total,
                round_money(money.get("charged") or Decimal(0), order.currency),
                round_money(-(money.get("refunded") or Decimal(0)), order.currency),
                order.currency,
                _local(order.created_at),
                _local(order.paid_at),
            ]
        )
    return header, rows


def ticket_rows(orders: QuerySet) -> tuple[list[str], list[list]]:
    header = [
        _("order number"),
        _("ticket"),
        _("event"),
        _("session starts at"),
        _("section"),
        _("row"),
        _("seat"),
        _("price zone"),
        _("price"),
        _("currency"),
        _("holder"),
        _("status"),
        _("credential version"),
        _("issued at"),
        _("revoked at"),
    ]
    tickets = (
        Ticket.objects.filter(order_line__order__in=orders)
        .select_related("order_line__order", "session__event")
        .order_by("order_line__order__created_at", "order_line_id")
    )
    rows = [
        [
            t.order_line.order.number,
            str(t.public_id),
            t.session.event.display_name,
            _local(t.session.starts_at),
            t.order_line.section_code,
            t.order_line.row_label,
            t.order_line.seat_label,
            t.order_line.zone_name,
            t.order_line.price,
            t.order_line.currency,
            t.holder_name,
            t.get_status_display(),
            t.version,
            _local(t.issued_at),
            _local(t.revoked_at),
        ]
        for t in tickets
    ]
    return header, rows


def aftersales_rows(orders: QuerySet) -> tuple[list[str], list[list]]:
    """Refund requests and exchanges of the orders, one row each, oldest first."""
    header = [
        _("kind"),
        _("request"),
        _("order number"),
        _("event"),
        _("asked by"),
        _("status"),
        _("tickets"),
        _("price of the tickets"),
        _("fee"),
        _("amount back"),
        _("difference to pay"),
        _("order of the new places"),
        _("currency"),
        _("reason given"),
        _("decision note"),
        _("requested at"),
        _("decided at"),
    ]
    requests = (
        RefundRequest.objects.filter(order__in=orders)
        .select_related("order__session__event")
        .annotate(tickets=Count("lines"))
        .prefetch_related("refunds")
    )
    rows = [
        (
            r.created_at,
            [
                _("Refund"),
                str(r.pk),
                r.order.number,
                r.order.session.event.display_name,
                r.get_initiator_display(),
                r.get_stage_display(),
                r.tickets,
                r.price,
                r.fee,
                r.amount,
                Decimal("0.00"),
                "",
                r.currency,
                r.reason,
                r.decision_note,
                _local(r.created_at),
                _local(r.decided_at),
            ],
        )
        for r in requests
    ]
    exchanges = (
        ExchangeRequest.objects.filter(order__in=orders)
        .select_related("order__session__event", "new_order")
        .annotate(tickets=Count("lines"))
    )
    rows += [
        (
            x.created_at,
            [
                _("Exchange"),
                str(x.pk),
                x.order.number,
                x.order.session.event.display_name,
                Initiator.FAN.label,
                x.get_status_display(),
                x.tickets,
                x.old_price,
                x.fee,
                x.amount_back,
                x.amount_due,
                x.new_order.number if x.new_order_id else "",
                x.currency,
                "",
                "",
                _local(x.created_at),
                _local(x.completed_at),
            ],
        )
        for x in exchanges
    ]
    rows.sort(key=lambda item: item[0])
    return header, [row for _at, row in rows]


EXPORTS = {
    "orders": order_rows,
    "tickets": ticket_rows,
    "aftersales": aftersales_rows,
}
