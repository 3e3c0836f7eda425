"""Importing providers' statements, reconciling a day, resolving what differs.

Each entry point is one transaction and audited. Reconciling reads orders, the ledger,
payments, refunds, tickets and scans; it writes only this app's rows. Resolutions change
other apps' data through their services (tickets.issue_tickets / revoke_tickets,
payments.open_refunds / settle_refund_by_hand).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from tessera.checkin.models import Direction, Scan
from tessera.core import audit
from tessera.orders.models import LedgerEntry, LedgerKind, LineStatus, Order, OrderStatus
from tessera.payments.models import Payment, PaymentStatus, Provider, Refund, RefundStatus
from tessera.reconciliation import parsers
from tessera.reconciliation.errors import (
    ActionNotAllowed,
    MismatchClosed,
    NoteRequired,
    StatementInvalid,
    UnknownStatementProvider,
)
from tessera.reconciliation.generators import day_window, expected_fee, fee_rate
from tessera.reconciliation.models import (
    Action,
    DayStatus,
    FileFormat,
    Mismatch,
    MismatchKind,
    MismatchStatus,
    ProviderStatement,
    ProviderStatementRow,
    ReconciliationDay,
    RowKind,
)
from tessera.tickets.models import Ticket, TicketStatus

PROVIDERS = (Provider.ALIPAY, Provider.WECHAT, Provider.SANDBOX)
_PAID = (
    OrderStatus.PAID,
    OrderStatus.FULFILLED,
    OrderStatus.PARTIALLY_REFUNDED,
)
_TAKEN = (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED)

# Which actions resolve which kinds (besides "mark explained", which resolves any).
ACTIONS: dict[str, tuple[str, ...]] = {
    MismatchKind.PAID_WITHOUT_TICKETS: (Action.ISSUE_TICKETS,),
    MismatchKind.TICKETS_WITHOUT_PAYMENT: (Action.REVOKE_TICKETS,),
    MismatchKind.REFUNDED_BUT_TICKETS_LIVE: (Action.REVOKE_TICKETS,),
    MismatchKind.DUPLICATE_CHARGE: (Action.REFUND_CHARGE,),
    MismatchKind.PROVIDER_REFUND_WITHOUT_OURS: (Action.BOOK_REFUND,),
}


def actions_for(mismatch: Mismatch) -> list[str]:
    """The actions that may resolve ``mismatch`` now (none once it is not open)."""
    if mismatch.status != MismatchStatus.OPEN:
        return []
    found = list(ACTIONS.get(mismatch.kind, ()))
    if Action.REFUND_CHARGE in found and mismatch.payment_id is None:
        found.remove(Action.REFUND_CHARGE)
    if Action.BOOK_REFUND in found and mismatch.refund_id is None:
        found.remove(Action.BOOK_REFUND)
    return [*found, Action.EXPLAIN]


# -- import -----------------------------------------------------------------------------------


def _format_for(provider: str, text: str) -> str:
    if provider == Provider.ALIPAY:
        return FileFormat.ALIPAY
    if provider == Provider.WECHAT:
        return FileFormat.WECHAT
    detected = parsers.detect_format(text)
    if detected is None:
        raise StatementInvalid(
            _("Line 1: this is neither an Alipay nor a WeChat Pay trade bill."),
            details={"line": 1},
        )
    return detected


def import_statement(
    *, provider: str, day_on: date, data: bytes, file_name: str = "", actor=None, now: datetime
) -> tuple[ProviderStatement, bool]:
    """Store ``provider``'s statement file of ``day_on``; returns (statement, created).

    The same file again (same SHA-256) changes nothing and returns the current statement. A
    different file replaces the day's current one (kept, marked replaced; audited). Every
    line must lie within the day (Asia/Shanghai). Raises StatementInvalid naming the line
    (nothing stored), UnknownStatementProvider.
    """
    if provider not in PROVIDERS:
        raise UnknownStatementProvider(details={"provider": str(provider)[:20]})
    digest = hashlib.sha256(data if isinstance(data, bytes) else b"").hexdigest()
    text, _encoding = parsers.decode(data)
    parsed = parsers.parse(data, _format_for(provider, text))
    start, end = day_window(day_on)
    for row in parsed.rows:
        if not start <= row.occurred_at < end:
            raise StatementInvalid(
                _("Line %(line)d: %(at)s is not on %(day)s.")
                % {
                    "line": row.line_no,
                    "at": row.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
                    "day": day_on.isoformat(),
                },
                details={"line": row.line_no},
            )
    if parsed.period_start is not None and parsed.period_start.date() != day_on:
        raise StatementInvalid(
            _("Line 3: this is the statement of %(other)s, not of %(day)s.")
            % {"other": parsed.period_start.date().isoformat(), "day": day_on.isoformat()},
            details={"line": 3},
        )
    with transaction.atomic(durable=True):
        day, _created = ReconciliationDay.objects.select_for_update().get_or_create(
            provider=provider, day_on=day_on
        )
        current = ProviderStatement.objects.filter(
            provider=provider, statement_on=day_on, is_current=True
        ).first()
        if current is not None and current.sha256 == digest:
            return current, False
        if current is not None:
            current.is_current = False
            current.replaced_at = now
            current.save(update_fields=["is_current", "replaced_at"])
        statement = ProviderStatement.objects.create(
            provider=provider,
            file_format=parsed.file_format,
            statement_on=day_on,
            sha256=digest,
            file_name=(file_name or "")[:200],
            encoding=parsed.encoding,
            content=parsed.text,
            row_count=len(parsed.rows),
            charge_total=parsed.charge_total,
            refund_total=parsed.refund_total,
            fee_total=parsed.fee_total,
            imported_at=now,
            imported_by=actor if getattr(actor, "pk", None) else None,
        )
        ProviderStatementRow.objects.bulk_create(
            (
                ProviderStatementRow(
                    statement=statement,
                    line_no=row.line_no,
                    kind=row.kind,
                    trade_no=row.trade_no,
                    merchant_order_no=row.merchant_order_no,
                    refund_no=row.refund_no,
                    provider_refund_no=row.provider_refund_no,
                    amount=row.amount,
                    fee=row.fee,
                    currency=row.currency,
                    occurred_at=row.occurred_at,
                    subject=row.subject,
                )
                for row in parsed.rows
            ),
            batch_size=1000,
        )
        day.statement = statement
        day.save(update_fields=["statement"])
        audit.record(
            action="reconciliation.statement_replaced"
            if current is not None
            else "reconciliation.statement_imported",
            obj=statement,
            actor=actor,
            now=now,
            data={
                "provider": provider,
                "day": day_on.isoformat(),
                "sha256": digest,
                "rows": len(parsed.rows),
                **({"replaced": current.sha256, "replaced_id": current.pk} if current else {}),
            },
        )
    return statement, True


# -- reconciling a day ------------------------------------------------------------------------


@dataclass
class Found:
    key: str
    kind: str
    order: Order | None = None
    payment_id: uuid.UUID | None = None
    refund_id: uuid.UUID | None = None
    trade_no: str = ""
    merchant_order_no: str = ""
    refund_no: str = ""
    our_amount: Decimal | None = None
    provider_amount: Decimal | None = None
    currency: str = "CNY"
    detail: str = ""
    params: dict = field(default_factory=dict)
    ticket_ids: list[int] = field(default_factory=list)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None


def _neighbour_rows(provider: str, day_on: date, kind: str) -> set[str]:
    """Merchant numbers (orders for charges, refunds for refunds) in the current statements
    of the day before and after: a row there is a timing difference at midnight."""
    rows = ProviderStatementRow.objects.filter(
        statement__provider=provider,
        statement__is_current=True,
        statement__statement_on__in=(day_on - timedelta(days=1), day_on + timedelta(days=1)),
        kind=kind,
    )
    field_name = "merchant_order_no" if kind == RowKind.CHARGE else "refund_no"
    return set(rows.values_list(field_name, flat=True))


def find_mismatches(
    *, provider: str, day_on: date, statement: ProviderStatement
) -> tuple[list[Found], dict]:
    """Compare the day's three flows; returns what differs and the day's figures. Reads only."""
    start, end = day_window(day_on)
    found: list[Found] = []
    rows = list(statement.rows.all())
    charges = [r for r in rows if r.kind == RowKind.CHARGE]
    refunds = [r for r in rows if r.kind == RowKind.REFUND]

    # Our side of the day.
    our_payments = list(
        Payment.objects.filter(
            provider=provider, status__in=_TAKEN, completed_at__gte=start, completed_at__lt=end
        ).select_related("order")
    )
    our_refunds = list(
        Refund.objects.filter(
            payment__provider=provider,
            status=RefundStatus.SUCCEEDED,
            completed_at__gte=start,
            completed_at__lt=end,
        ).select_related("payment__order")
    )
    # The payments and refunds the provider's rows name, whatever day we recorded them.
    named_payment_ids = {pid for r in rows if (pid := _uuid(r.merchant_order_no))}
    payments = {
        p.id.hex: p
        for p in Payment.objects.filter(pk__in=named_payment_ids, provider=provider).select_related(
            "order"
        )
    }
    for p in our_payments:
        payments.setdefault(p.id.hex, p)
    named_refund_ids = {rid for r in refunds if (rid := _uuid(r.refund_no))}
    refunds_by_no = {
        r.pk.hex: r
        for r in Refund.objects.filter(
            pk__in=named_refund_ids, payment__provider=provider
        ).select_related("payment__order")
    }
    charged = dict(
        LedgerEntry.objects.filter(
            kind=LedgerKind.CHARGE, payment_id__in=[p.pk for p in payments.values()]
        ).values_list("payment_id", "amount")
    )

    # Money: the provider's charges.
    by_no: dict[str, list] = defaultdict(list)
    for row in charges:
        by_no[row.merchant_order_no].append(row)
    rate = fee_rate(provider)
    for number, its_rows in sorted(by_no.items()):
        row = its_rows[0]
        payment = payments.get(number)
        total = sum((r.amount for r in its_rows), Decimal(0))
        if len(its_rows) > 1:
            found.append(
                Found(
                    key=f"dup-row:{number}",
                    kind=MismatchKind.DUPLICATE_CHARGE,
                    order=payment.order if payment else None,
                    payment_id=None,
                    trade_no=row.trade_no,
                    merchant_order_no=number,
                    our_amount=_taken(payment) if payment else None,
                    provider_amount=total,
                    detail=gettext_noop("%(count)s charges at the provider for one payment"),
                    params={"count": len(its_rows)},
                )
            )
        if payment is None or payment.status not in _TAKEN:
            found.append(
                Found(
                    key=f"charge:{number}",
                    kind=MismatchKind.PROVIDER_CHARGE_WITHOUT_ORDER,
                    order=payment.order if payment else None,
                    payment_id=payment.pk if payment else None,
                    trade_no=row.trade_no,
                    merchant_order_no=number,
                    provider_amount=row.amount,
                    detail=gettext_noop("our payment is %(status)s")
                    if payment
                    else gettext_noop("no payment of ours"),
                    params={"status": payment.status} if payment else {},
                )
            )
            continue
        taken = _taken(payment)
        ledger = charged.get(payment.pk)
        if row.amount != taken or (ledger is not None and ledger != row.amount) or ledger is None:
            found.append(
                Found(
                    key=f"amount:{number}",
                    kind=MismatchKind.AMOUNT_DIFFERS,
                    order=payment.order,
                    payment_id=payment.pk,
                    trade_no=row.trade_no,
                    merchant_order_no=number,
                    our_amount=ledger if ledger is not None else taken,
                    provider_amount=row.amount,
                    currency=payment.currency,
                    detail=gettext_noop("the ledger has no charge")
                    if ledger is None
                    else gettext_noop("charge"),
                )
            )
        elif rate is not None and row.fee != expected_fee(provider, row.amount):
            found.append(
                Found(
                    key=f"fee:{number}",
                    kind=MismatchKind.FEE_DIFFERS,
                    order=payment.order,
                    payment_id=payment.pk,
                    trade_no=row.trade_no,
                    merchant_order_no=number,
                    our_amount=expected_fee(provider, row.amount),
                    provider_amount=row.fee,
                    detail=gettext_noop("contract rate %(rate)s"),
                    params={"rate": str(rate)},
                )
            )
    # An order charged more than once (two payments), the extra not given back.
    by_order: dict[int, list[Payment]] = defaultdict(list)
    for number in by_no:
        payment = payments.get(number)
        if payment is not None and payment.status in _TAKEN:
            by_order[payment.order_id].append(payment)
    for _order_id, its_payments in by_order.items():
        if len(its_payments) < 2:
            continue
        order = its_payments[0].order
        for extra in its_payments:
            if extra.pk == _paying_payment(order):
                continue
            given = extra.refunds.exclude(status=RefundStatus.FAILED).aggregate(s=Sum("amount"))[
                "s"
            ] or Decimal(0)
            if given < _taken(extra):
                found.append(
                    Found(
                        key=f"dup-order:{extra.id.hex}",
                        kind=MismatchKind.DUPLICATE_CHARGE,
                        order=order,
                        payment_id=extra.pk,
                        trade_no=extra.provider_reference,
                        merchant_order_no=extra.id.hex,
                        our_amount=given,
                        provider_amount=_taken(extra),
                        detail=gettext_noop("order %(order)s paid by %(count)s payments"),
                        params={"order": order.number, "count": len(its_payments)},
                    )
                )
    # Our charges the provider does not show (nor the day before or after).
    neighbours = _neighbour_rows(provider, day_on, RowKind.CHARGE)
    for payment in our_payments:
        number = payment.id.hex
        if number not in by_no and number not in neighbours:
            found.append(
                Found(
                    key=f"missing:{number}",
                    kind=MismatchKind.ORDER_PAID_MISSING_AT_PROVIDER,
                    order=payment.order,
                    payment_id=payment.pk,
                    trade_no=payment.provider_reference,
                    merchant_order_no=number,
                    our_amount=_taken(payment),
                    currency=payment.currency,
                )
            )

    # Money: refunds.
    provider_refund_nos = set()
    for row in refunds:
        provider_refund_nos.add(row.refund_no)
        refund = refunds_by_no.get(row.refund_no)
        if refund is None or refund.status != RefundStatus.SUCCEEDED:
            payment = payments.get(row.merchant_order_no)
            found.append(
                Found(
                    key=f"refund:{row.refund_no}",
                    kind=MismatchKind.PROVIDER_REFUND_WITHOUT_OURS,
                    order=(refund.payment.order if refund else payment.order if payment else None),
                    payment_id=refund.payment_id if refund else (payment.pk if payment else None),
                    refund_id=refund.pk if refund else None,
                    trade_no=row.trade_no,
                    merchant_order_no=row.merchant_order_no,
                    refund_no=row.refund_no,
                    provider_amount=row.amount,
                    our_amount=refund.amount if refund else None,
                    detail=gettext_noop("our refund is %(status)s")
                    if refund
                    else gettext_noop("no refund of ours"),
                    params={"status": refund.status} if refund else {},
                )
            )
        elif refund.amount != row.amount:
            found.append(
                Found(
                    key=f"refund-amount:{row.refund_no}",
                    kind=MismatchKind.AMOUNT_DIFFERS,
                    order=refund.payment.order,
                    payment_id=refund.payment_id,
                    refund_id=refund.pk,
                    trade_no=row.trade_no,
                    merchant_order_no=row.merchant_order_no,
                    refund_no=row.refund_no,
                    our_amount=refund.amount,
                    provider_amount=row.amount,
                    detail=gettext_noop("refund"),
                )
            )
    neighbours = _neighbour_rows(provider, day_on, RowKind.REFUND)
    for refund in our_refunds:
        number = refund.pk.hex
        if number not in provider_refund_nos and number not in neighbours:
            found.append(
                Found(
                    key=f"refund-missing:{number}",
                    kind=MismatchKind.REFUND_MISSING_AT_PROVIDER,
                    order=refund.payment.order,
                    payment_id=refund.payment_id,
                    refund_id=refund.pk,
                    trade_no=refund.payment.provider_reference,
                    merchant_order_no=refund.payment_id.hex,
                    refund_no=number,
                    our_amount=refund.amount,
                    currency=refund.currency,
                )
            )

    # Orders and tickets of every order the day touched.
    orders = {p.order_id: p.order for p in payments.values() if p.status in _TAKEN}
    for refund in [*our_refunds, *refunds_by_no.values()]:
        orders.setdefault(refund.payment.order_id, refund.payment.order)
    # Tickets issued that day for orders paying (or meant to pay) at this provider.
    issued_orders = Order.objects.filter(
        lines__ticket__issued_at__gte=start,
        lines__ticket__issued_at__lt=end,
        payments__provider=provider,
    ).distinct()
    for order in issued_orders:
        orders.setdefault(order.pk, order)
    figures_tickets = _tickets_flow(list(orders.values()), found)

    figures = {
        "orders_paid": len({p.order_id for p in our_payments}),
        "orders_refunded": len({r.payment.order_id for r in our_refunds}),
        "our_charges": str(sum((_taken(p) for p in our_payments), Decimal("0.00"))),
        "our_refunds": str(sum((r.amount for r in our_refunds), Decimal("0.00"))),
        "provider_charges": str(statement.charge_total),
        "provider_refunds": str(statement.refund_total),
        "provider_fees": str(statement.fee_total),
        "provider_rows": statement.row_count,
        **figures_tickets,
    }
    return found, figures


def _taken(payment: Payment) -> Decimal:
    return payment.amount if payment.received_amount is None else payment.received_amount


def _paying_payment(order: Order):
    """The payment whose charge paid the order: the ledger's first charge with a payment."""
    return (
        LedgerEntry.objects.filter(order=order, kind=LedgerKind.CHARGE, payment_id__isnull=False)
        .order_by("at", "id")
        .values_list("payment_id", flat=True)
        .first()
    )


def _tickets_flow(orders: list[Order], found: list[Found]) -> dict:
    """Tickets against orders: live tickets exactly for the active lines of paid orders,
    and no refunded ticket admitted at a gate. Appends to ``found``; returns the counts."""
    ids = [o.pk for o in orders]
    tickets = list(
        Ticket.objects.filter(order_line__order_id__in=ids).values_list(
            "pk", "order_line_id", "order_line__order_id", "order_line__status", "status"
        )
    )
    from tessera.orders.models import OrderLine

    lines = list(OrderLine.objects.filter(order_id__in=ids).values_list("pk", "order_id", "status"))
    charged = set(
        LedgerEntry.objects.filter(order_id__in=ids, kind=LedgerKind.CHARGE).values_list(
            "order_id", flat=True
        )
    )
    ticket_of_line = {t[1]: t for t in tickets}
    admitted = set(
        Scan.objects.filter(
            ticket_id__in=[t[0] for t in tickets], is_accepted=True, direction=Direction.ENTRY
        ).values_list("ticket_id", flat=True)
    )
    for order in sorted(orders, key=lambda o: o.pk):
        its_lines = [ln for ln in lines if ln[1] == order.pk]
        live = [t for t in tickets if t[2] == order.pk and t[4] == TicketStatus.VALID]
        paid = order.status in _PAID and order.pk in charged
        if paid:
            missing = [
                ln[0]
                for ln in its_lines
                if ln[2] == LineStatus.ACTIVE
                and (ln[0] not in ticket_of_line or ticket_of_line[ln[0]][4] != TicketStatus.VALID)
            ]
            if missing:
                found.append(
                    Found(
                        key=f"no-tickets:{order.number}",
                        kind=MismatchKind.PAID_WITHOUT_TICKETS,
                        order=order,
                        our_amount=order.total,
                        detail=gettext_noop("%(count)s of %(all)s places without a live ticket"),
                        params={"count": len(missing), "all": len(its_lines)},
                    )
                )
            stale = [t[0] for t in live if t[3] != LineStatus.ACTIVE]
            if stale:
                found.append(
                    Found(
                        key=f"live-refunded:{order.number}",
                        kind=MismatchKind.REFUNDED_BUT_TICKETS_LIVE,
                        order=order,
                        ticket_ids=stale,
                        detail=gettext_noop("%(count)s refunded places with live tickets"),
                        params={"count": len(stale)},
                    )
                )
        elif order.status == OrderStatus.REFUNDED and live:
            found.append(
                Found(
                    key=f"live-refunded:{order.number}",
                    kind=MismatchKind.REFUNDED_BUT_TICKETS_LIVE,
                    order=order,
                    ticket_ids=[t[0] for t in live],
                    detail=gettext_noop("%(count)s live tickets of a refunded order"),
                    params={"count": len(live)},
                )
            )
        elif order.status != OrderStatus.REFUNDED and live:
            found.append(
                Found(
                    key=f"unpaid-tickets:{order.number}",
                    kind=MismatchKind.TICKETS_WITHOUT_PAYMENT,
                    order=order,
                    ticket_ids=[t[0] for t in live],
                    detail=gettext_noop("the order is %(status)s")
                    if order.pk in charged
                    else gettext_noop("the order is %(status)s, with no charge in the ledger"),
                    params={"status": order.status},
                )
            )
        scanned_refunded = [
            t[0]
            for t in tickets
            if t[2] == order.pk and t[3] != LineStatus.ACTIVE and t[0] in admitted
        ]
        if scanned_refunded:
            found.append(
                Found(
                    key=f"scanned:{order.number}",
                    kind=MismatchKind.REFUNDED_BUT_SCANNED,
                    order=order,
                    ticket_ids=scanned_refunded,
                    detail=gettext_noop("%(count)s refunded tickets admitted"),
                    params={"count": len(scanned_refunded)},
                )
            )
    return {
        "tickets_issued": len(tickets),
        "tickets_live": sum(1 for t in tickets if t[4] == TicketStatus.VALID),
        "tickets_revoked": sum(1 for t in tickets if t[4] == TicketStatus.REVOKED),
        "tickets_scanned": len(admitted),
    }


def reconcile_day(*, provider: str, day_on: date, now: datetime, actor=None) -> ReconciliationDay:
    """Reconcile ``provider``'s ``day_on`` against its current statement. Safe to run again:
    mismatches are keyed; those found again stay (explained ones stay explained; resolved or
    cleared ones open again); open ones no longer found are cleared. The day is reconciled
    when it has a statement and no open mismatch. Without a statement the day stays open
    and nothing is compared."""
    if provider not in PROVIDERS:
        raise UnknownStatementProvider(details={"provider": str(provider)[:20]})
    with transaction.atomic(durable=True):
        day, _created = ReconciliationDay.objects.select_for_update().get_or_create(
            provider=provider, day_on=day_on
        )
        statement = ProviderStatement.objects.filter(
            provider=provider, statement_on=day_on, is_current=True
        ).first()
        day.statement = statement
        if statement is None:
            day.ran_at = now
            day.status = DayStatus.OPEN
            day.save(update_fields=["statement", "ran_at", "status"])
            return day
        found, figures = find_mismatches(provider=provider, day_on=day_on, statement=statement)
        existing = {m.key: m for m in day.mismatches.all()}
        seen = set()
        created = reopened = 0
        for item in found:
            if item.key in seen:
                continue
            seen.add(item.key)
            values = {
                "kind": item.kind,
                "order": item.order,
                "organization_id": item.order.session.event.organization_id if item.order else None,
                "payment_id": item.payment_id,
                "refund_id": item.refund_id,
                "trade_no": item.trade_no[:80],
                "merchant_order_no": item.merchant_order_no[:80],
                "refund_no": item.refund_no[:80],
                "our_amount": item.our_amount,
                "provider_amount": item.provider_amount,
                "currency": item.currency,
                "detail": item.detail[:300],
                "detail_params": item.params,
                "ticket_ids": item.ticket_ids,
                "last_seen_at": now,
            }
            mismatch = existing.get(item.key)
            if mismatch is None:
                Mismatch.objects.create(day=day, key=item.key, found_at=now, **values)
                created += 1
                continue
            for name, value in values.items():
                setattr(mismatch, name, value)
            if mismatch.status in (MismatchStatus.RESOLVED, MismatchStatus.CLEARED):
                mismatch.status = MismatchStatus.OPEN
                reopened += 1
            mismatch.save()
        cleared = [
            m.pk
            for key, m in existing.items()
            if key not in seen and m.status == MismatchStatus.OPEN
        ]
        Mismatch.objects.filter(pk__in=cleared).update(status=MismatchStatus.CLEARED)
        day.figures = figures
        day.ran_at = now
        _settle_day(day, now=now)
        audit.record(
            action="reconciliation.day_run",
            obj=day,
            actor=actor,
            now=now,
            data={
                "provider": provider,
                "day": day_on.isoformat(),
                "found": len(seen),
                "new": created,
                "reopened": reopened,
                "cleared": len(cleared),
                "open": day.open_count,
                "status": day.status,
            },
        )
    return day


def _settle_day(day: ReconciliationDay, *, now: datetime) -> None:
    day.open_count = day.mismatches.filter(status=MismatchStatus.OPEN).count()
    if day.statement_id and day.open_count == 0:
        if day.status != DayStatus.RECONCILED:
            day.reconciled_at = now
        day.status = DayStatus.RECONCILED
    else:
        day.status = DayStatus.OPEN
        day.reconciled_at = None
    day.save(
        update_fields=["statement", "figures", "ran_at", "open_count", "status", "reconciled_at"]
    )


def reconcile_due_days(*, now: datetime, lookback_days: int = 3) -> list[ReconciliationDay]:
    """The periodic task's work: every day of the last ``lookback_days`` (yesterday first)
    whose current statement was imported after its last run is reconciled again."""
    from tessera.reconciliation.parsers import BEIJING

    today = now.astimezone(BEIJING).date()
    done = []
    for back in range(1, lookback_days + 1):
        day_on = today - timedelta(days=back)
        for statement in ProviderStatement.objects.filter(statement_on=day_on, is_current=True):
            day = ReconciliationDay.objects.filter(
                provider=statement.provider, day_on=day_on
            ).first()
            if day is None or day.ran_at is None or day.ran_at < statement.imported_at:
                done.append(reconcile_day(provider=statement.provider, day_on=day_on, now=now))
    return done


# -- resolving ----------------------------------------------------------------------------------


def resolve_mismatch(
    *, mismatch: Mismatch, action: str, actor, now: datetime, note: str = ""
) -> Mismatch:
    """Resolve an open mismatch with ``action``: issue the order's missing tickets
    (``tickets.issue_tickets``), revoke the live tickets listed (``tickets.revoke_tickets``),
    refund an extra charge (``payments.open_refunds``, sent after commit), book a refund the
    provider made that ours did not record (``payments.settle_refund_by_hand``), or mark it
    explained (``note`` required). Audited; the day becomes reconciled when nothing is left
    open. Raises MismatchClosed, ActionNotAllowed, NoteRequired, and the services' errors
    (nothing changes then)."""
    from tessera.payments import services as payments
    from tessera.tickets import services as tickets

    note = (note or "").replace("\x00", "").strip()
    if len(note) > 500:
        raise NoteRequired(details={"note": "too_long"})
    with transaction.atomic(durable=True):
        locked = (
            Mismatch.objects.select_for_update(of=("self",))
            .select_related("day", "order")
            .get(pk=mismatch.pk)
        )
        if locked.status != MismatchStatus.OPEN:
            raise MismatchClosed
        if action not in actions_for(locked):
            raise ActionNotAllowed(details={"action": str(action)[:30], "kind": locked.kind})
        if action == Action.EXPLAIN and not note:
            raise NoteRequired(details={"note": "required"})
        result: dict = {}
        if action == Action.ISSUE_TICKETS:
            issued = tickets.issue_tickets(order=locked.order, now=now)
            if any(t.status != TicketStatus.VALID for t in issued):
                # A revoked ticket's line has its ticket: it cannot be issued again.
                raise ActionNotAllowed(details={"tickets": "revoked"})
            result["tickets"] = [t.pk for t in issued]
        elif action == Action.REVOKE_TICKETS:
            result["revoked"] = tickets.revoke_tickets(
                ticket_ids=list(locked.ticket_ids),
                reason="reconciliation",
                now=now,
                actor=actor,
                organization_id=locked.organization_id,
            )
        elif action == Action.REFUND_CHARGE:
            payment = Payment.objects.select_related("order").get(pk=locked.payment_id)
            amount = (locked.provider_amount or Decimal(0)) - (locked.our_amount or Decimal(0))
            refunds = payments.open_refunds(
                order=payment.order,
                amount=amount,
                reason="charged twice (reconciliation)",
                now=now,
                is_booked=False,
            )
            result["refunds"] = [r.pk.hex for r in refunds]
        elif action == Action.BOOK_REFUND:
            refund = Refund.objects.get(pk=locked.refund_id)
            if refund.status == RefundStatus.PENDING:
                raise ActionNotAllowed(details={"refund": "pending"})
            payments.settle_refund_by_hand(
                refund=refund,
                actor=actor,
                reference=f"statement {locked.refund_no}"[:80],
                now=now,
            )
            result["refund"] = refund.pk.hex
        locked.status = (
            MismatchStatus.EXPLAINED if action == Action.EXPLAIN else MismatchStatus.RESOLVED
        )
        locked.action = action
        locked.note = note
        locked.resolved_at = now
        locked.resolved_by = actor if getattr(actor, "pk", None) else None
        locked.save(update_fields=["status", "action", "note", "resolved_at", "resolved_by"])
        day = ReconciliationDay.objects.select_for_update().get(pk=locked.day_id)
        _settle_day(day, now=now)
        audit.record(
            action="reconciliation.mismatch_resolved",
            obj=locked,
            actor=actor,
            now=now,
            organization_id=locked.organization_id,
            data={"kind": locked.kind, "action": action, "note": note[:200], **result},
        )
    return locked
