"""After-sales: refunds of tickets — the fan's request, the organizer's decision, the money back.

A fan asks to refund some or all tickets of a paid order. The fee of each ticket is quoted by
``fees.refund_fee`` from the session's policy, the time left and the session's demand; the fan
sees it, with its reasons, before confirming, and a request whose fee is no longer the one
shown is refused (``FeeChanged``) so that nobody confirms a fee they did not see. When the
policy lets refunds through without review the request is approved at once; otherwise it
waits in the organizer's review queue.

Transactions and locks (the sale's lock order, ``tessera/sale/__init__.py``, continued)
----------------------------------------------------------------------------------------
R1  request (and automatic approval), one transaction:
      order → the request's claims on its lines (a unique constraint: one live claim per
      line) → [approval, R2]
R2  approval, one transaction (from R1, or the organizer's decision):
      order → request → order lines → places (ascending id) → tickets (ascending id) →
      attendance rows (``checkin.lock_attendance``) → insert the ledger's refund and fee,
      the provider refunds, revocations, audit → commit.
    Then, with no transaction open, the provider is asked (``payments.tasks.refund_payment``);
    a refund that fails is retried with a growing wait and, after the last attempt, waits
    for an operator (``payments.services.execute_refund``).

Invariants
----------
- A ticket is refunded at most once: one live claim per order line (unique constraint), and
  the line must still be active when the refund is approved (``orders.refund_lines``).
- An approved refund has, in one transaction: its lines refunded, their places back on sale,
  their tickets revoked (scanners refuse them after their next sync), the ledger's refund of
  the lines' prices and the fee kept. The order's ledger sum is the money its provider still
  holds for it.
- A ticket that entered at a gate is never refunded, and a ticket being refunded never
  enters: the scan and the refund take the same attendance lock, and each checks the other's
  result under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from tessera.aftersales import policies, selectors
from tessera.aftersales.errors import (
    AlreadyRequested,
    FeeChanged,
    LinesUnknown,
    OrderNotRefundable,
    ReasonRequired,
    RefundNotAllowed,
    RefundTooLate,
    RequestNotOpen,
    SessionHasPaidOrders,
    TicketUsed,
)
from tessera.aftersales.fees import NOT_REFUNDABLE, Demand, Fee, Terms, refund_fee
from tessera.aftersales.models import (
    ChangeKind,
    ExchangeRequest,
    ExchangeStatus,
    Initiator,
    RefundRequest,
    RefundRequestLine,
    RequestStatus,
    SessionChange,
)
from tessera.catalog.models import Session
from tessera.catalog.selectors import policy_for
from tessera.checkin.services import lock_attendance
from tessera.core import audit, locks
from tessera.core.errors import InvalidInput
from tessera.inventory import services as inventory
from tessera.notifications.models import Kind
from tessera.notifications.services import notify, notify_many
from tessera.orders import services as orders
from tessera.orders.models import LedgerEntry, LedgerKind, LineStatus, Order, OrderLine
from tessera.payments import services as payments
from tessera.payments.models import Payment, PaymentStatus
from tessera.tickets import services as tickets
from tessera.tickets.models import Ticket, TicketStatus

REASON_MAX = 500
MAX_LINES = 100


@dataclass(frozen=True)
class LineQuote:
    line: OrderLine
    fee: Fee
    explanation: list[str]


@dataclass(frozen=True)
class Quote:
    """What refunding these tickets would cost now, and why."""

    order: Order
    lines: list[LineQuote]
    currency: str
    price: Decimal
    fee: Decimal
    amount: Decimal
    needs_review: bool
    demand: Demand

    @property
    def line_ids(self) -> list[int]:
        return [item.line.pk for item in self.lines]


def _clean_reason(reason: str | None, *, required: bool) -> str:
    if reason is not None and not isinstance(reason, str):
        raise ReasonRequired()
    text = (reason or "").replace("\x00", "").strip()
    if len(text) > REASON_MAX or (required and not text):
        raise ReasonRequired(details={"reason": "too_long" if text else "required"})
    return text


def _line_ids(order: Order, line_ids) -> list[int]:
    """The active lines asked for (all active lines when none are named)."""
    active = dict(OrderLine.objects.filter(order=order).values_list("pk", "status"))
    if line_ids is None or line_ids == []:
        chosen = sorted(pk for pk, status in active.items() if status == LineStatus.ACTIVE)
        if not chosen:
            raise LinesUnknown()
        return chosen
    if not isinstance(line_ids, list | tuple) or len(line_ids) > MAX_LINES:
        raise LinesUnknown()
    chosen = []
    for value in line_ids:
        if isinstance(value, bool) or not isinstance(value, int):
            raise LinesUnknown(details={"lines": "integers"})
        if active.get(value) != LineStatus.ACTIVE:
            raise LinesUnknown(details={"line": value})
        chosen.append(value)
    if len(set(chosen)) != len(chosen):
        raise LinesUnknown(details={"lines": "duplicates"})
    return sorted(chosen)


def run_ticket_return_guards(ticket_ids: list[int], *, now: datetime) -> None:
    """``settings.TICKET_RETURN_GUARDS``: checks a ticket must pass before the buyer gives it
    back (refund, exchange); transfers refuse tickets offered to, or held by, someone else."""
    for path in settings.TICKET_RETURN_GUARDS:
        import_string(path)(ticket_ids=ticket_ids, now=now)


def _check_tickets(line_ids: list[int], *, now: datetime) -> list[Ticket]:
    found = list(Ticket.objects.filter(order_line_id__in=line_ids).order_by("pk"))
    run_ticket_return_guards([ticket.pk for ticket in found], now=now)
    if any(ticket.status != TicketStatus.VALID for ticket in found):
        raise LinesUnknown(details={"tickets": "revoked"})
    if selectors.entered_ticket_ids([ticket.pk for ticket in found]):
        raise TicketUsed()
    return found


def quote_refund(
    *,
    order: Order,
    line_ids: list[int] | None,
    now: datetime,
    initiator: str = Initiator.FAN,
) -> Quote:
    """The fee and the amount that would go back for these lines of the order (all its
    active lines when ``line_ids`` is None or empty), checked against the policy.

    Raises OrderNotRefundable, LinesUnknown, AlreadyRequested (a live request claims a
    line), TicketUsed, RefundNotAllowed or RefundTooLate (the policy says no).
    An organizer's refund (``initiator`` organizer) ignores the policy and has no fee.
    """
    if order.status not in orders.REFUNDABLE_ORDER_STATES:
        raise OrderNotRefundable()
    chosen = _line_ids(order, line_ids)
    if RefundRequestLine.objects.filter(line_id__in=chosen, is_claimed=True).exists():
        raise AlreadyRequested()
    _check_tickets(chosen, now=now)
    session = Session.objects.select_related("layout__venue").get(pk=order.session_id)
    policy = policy_for(session)
    terms = Terms.of(policy)
    demand = (
        selectors.demand_for(session.pk, now)
        if terms.demand is not None and initiator == Initiator.FAN
        else Demand()
    )
    if initiator == Initiator.ORGANIZER:
        terms = Terms(is_refundable=True)
    lines = list(OrderLine.objects.filter(pk__in=chosen).order_by("pk"))
    quoted = []
    for line in lines:
        fee = refund_fee(
            terms,
            price=line.price,
            currency=line.currency,
            starts_at=session.starts_at,
            now=now,
            demand=demand,
        )
        if not fee.allowed:
            if fee.refusal == NOT_REFUNDABLE:
                raise RefundNotAllowed()
            raise RefundTooLate(
                details={"deadline": policies.deadline(session, terms.cutoff_hours).isoformat()}
            )
        quoted.append(LineQuote(line, fee, policies.explain(fee, currency=line.currency)))
    price = sum((item.fee.price for item in quoted), Decimal(0))
    fee_total = sum((item.fee.fee for item in quoted), Decimal(0))
    return Quote(
        order=order,
        lines=quoted,
        currency=order.currency,
        price=price,
        fee=fee_total,
        amount=price - fee_total,
        needs_review=initiator == Initiator.FAN and policy.refunds_need_review,
        demand=demand,
    )


def _parse_fee(expected_fee) -> Decimal | None:
    if expected_fee is None:
        return None
    if isinstance(expected_fee, bool | float) or not isinstance(expected_fee, Decimal | int | str):
        raise InvalidInput(_("Send the fee you were shown as a decimal string."))
    try:
        value = Decimal(expected_fee)
    except ArithmeticError as exc:
        raise InvalidInput(_("Send the fee you were shown as a decimal string.")) from exc
    if not value.is_finite():
        raise InvalidInput(_("Send the fee you were shown as a decimal string."))
    return value


def request_refund(
    *,
    order: Order,
    user,
    line_ids: list[int] | None,
    reason: str = "",
    expected_fee=None,
    idempotency_key: str = "",
    now: datetime,
) -> RefundRequest:
    """The fan asks to refund these tickets of their order (all when none are named).

    ``expected_fee``: the total fee the fan was shown; when given and the fee now differs,
    FeeChanged (nothing is written; the fan looks at the new quote). The request is approved
    at once when the policy does not ask for review (``approve``); else it waits for the
    organizer. The same ``idempotency_key`` for the same order answers the same request.
    Raises what ``quote_refund`` raises, and InvalidInput / ReasonRequired for bad input.
    """
    if order.user_id != user.pk:
        raise orders.OrderNotFound()
    reason = _clean_reason(reason, required=False)
    wanted_fee = _parse_fee(expected_fee)
    key = (idempotency_key or "")[:100]
    if key:
        existing = RefundRequest.objects.filter(order=order, idempotency_key=key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            locked = locks.lock_rows(Order.objects).get(pk=order.pk)
            quote = quote_refund(order=locked, line_ids=line_ids, now=now)
            if wanted_fee is not None and wanted_fee != quote.fee:
                raise FeeChanged(details={"fee": str(quote.fee), "amount": str(quote.amount)})
            request = _create_request(
                quote, requested_by=user, initiator=Initiator.FAN, reason=reason, key=key, now=now
            )
            if not quote.needs_review:
                _approve(request, order=locked, actor=None, note="", now=now)
    except IntegrityError as exc:
        # Another request claimed a line first (the unique constraint), or the same key won.
        if key:
            existing = RefundRequest.objects.filter(order=order, idempotency_key=key).first()
            if existing is not None:
                return existing
        raise AlreadyRequested() from exc
    return RefundRequest.objects.get(pk=request.pk)


def _create_request(
    quote: Quote, *, requested_by, initiator: str, reason: str, key: str, now: datetime
) -> RefundRequest:
    request = RefundRequest.objects.create(
        order=quote.order,
        requested_by=requested_by,
        initiator=initiator,
        currency=quote.currency,
        price=quote.price,
        fee=quote.fee,
        amount=quote.amount,
        reason=reason,
        created_at=now,
        idempotency_key=key,
    )
    # A line claimed by another live request fails the unique constraint: the caller's
    # transaction rolls back whole.
    RefundRequestLine.objects.bulk_create(
        RefundRequestLine(
            request=request,
            line=item.line,
            price=item.fee.price,
            fee=item.fee.fee,
            percent=item.fee.percent,
            explanation=item.explanation,
        )
        for item in quote.lines
    )
    audit.record(
        action="refund.requested",
        obj=request,
        actor=requested_by,
        organization_id=_organization_id(quote.order),
        now=now,
        data={
            "order": quote.order.number,
            "lines": quote.line_ids,
            "price": str(quote.price),
            "fee": str(quote.fee),
            "initiator": initiator,
        },
    )
    return request


def _organization_id(order: Order) -> int:
    return (
        Session.objects.filter(pk=order.session_id)
        .values_list("event__organization_id", flat=True)
        .get()
    )


def _approve(request: RefundRequest, *, order: Order, actor, note: str, now: datetime) -> None:
    """R2: carry out a request. The caller's transaction holds the order's lock."""
    request = RefundRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RequestStatus.REQUESTED:
        raise RequestNotOpen()
    claims = list(request.lines.order_by("line_id"))
    line_ids = [claim.line_id for claim in claims]
    # places, then tickets, then attendance: the lock order of the module docstring
    inventory.return_sold_places(
        session_id=order.session_id, line_ids=line_ids, reason="refund", now=now, actor=actor
    )
    found = list(locks.lock_rows(Ticket.objects.filter(order_line_id__in=line_ids)).order_by("pk"))
    attendance = lock_attendance(
        session_id=order.session_id, ticket_ids=[ticket.pk for ticket in found]
    )
    if any(presence.entries for presence in attendance.values()):
        raise TicketUsed()
    for ticket in found:
        tickets.revoke_ticket(ticket=ticket, reason="refund", now=now, actor=actor)
    reason = _("Refund %(request)s") % {"request": str(request.pk)[:8]}
    orders.refund_lines(
        order=order,
        fees={claim.line_id: claim.fee for claim in claims},
        reference=f"refund-request:{request.pk.hex}",
        reason=reason,
        now=now,
    )
    if request.amount > 0 and _exchanged_from(order) is not None:
        request.refunds.set(
            refund_money(order, amount=request.amount, tag=request.pk.hex, reason=reason, now=now)
        )
    elif (
        request.amount > 0
        and Payment.objects.filter(order=order, status=PaymentStatus.SUCCEEDED).exists()
    ):
        refunds = payments.open_refunds(
            order=order, amount=request.amount, reason=reason, now=now, is_booked=True
        )
        request.refunds.set(refunds)
    request.status = RequestStatus.APPROVED
    request.decided_at = now
    request.decided_by = actor if getattr(actor, "pk", None) else None
    request.decision_note = note
    request.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    audit.record(
        action="refund.approved",
        obj=request,
        actor=actor,
        organization_id=_organization_id(order),
        now=now,
        data={
            "order": order.number,
            "lines": line_ids,
            "amount": str(request.amount),
            "fee": str(request.fee),
            "automatic": actor is None,
        },
    )
    notify(
        order.user,
        Kind.REFUND_APPROVED,
        {"order_number": order.number, "amount": f"{request.amount} {order.currency}"},
        key=f"refund_approved:{request.pk}",
        now=now,
    )


def _exchanged_from(order: Order) -> ExchangeRequest | None:
    """The completed exchange whose new places this order holds, if it is one."""
    return (
        ExchangeRequest.objects.filter(new_order_id=order.pk, status=ExchangeStatus.COMPLETED)
        .only("pk", "order_id")
        .first()
    )


def carried_left(exchange: ExchangeRequest) -> Decimal:
    """What the exchanged-from order still holds for the exchange's new tickets: the value
    the exchange carried over (a charge booked on the old order) less what refunds of the
    new tickets have drawn on it since."""
    booked = LedgerEntry.objects.filter(order_id=exchange.order_id)
    carried = booked.filter(
        kind=LedgerKind.CHARGE, reference=f"exchange:{exchange.pk.hex}"
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    drawn = booked.filter(
        kind=LedgerKind.REFUND, reference__startswith=f"carried:{exchange.pk.hex}:"
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    return carried + drawn


def refund_money(
    order: Order, *, amount: Decimal, tag: str, reason: str, now: datetime, depth: int = 0
) -> list:
    """Provider refunds of ``amount`` (already booked in ``order``'s ledger) for this order.

    Tickets received in an exchange hold value on two orders: what the fan paid on this one
    (the difference, if any) and what the order they were exchanged from carried over. This
    order's own payments give first; the rest is drawn on the order it was exchanged from
    (and so on back), booked there as a refund and here as value carried in, so each
    order's ledger still sums to what its provider holds. The caller holds this order's
    lock; older orders' locks are taken after it (the lock order of an exchange's E2).
    ``tag`` (a hex id) names the draw. Raises NotEnoughToRefund when they do not hold it."""
    locks.require_transaction()
    own = sum((left for _, left in payments.refundable_by_payment(order)), Decimal(0))
    from_own = min(amount, own)
    rest = amount - from_own
    refunds = []
    if rest > 0:
        exchange = _exchanged_from(order)
        if exchange is None or depth >= 20:
            raise payments.NotEnoughToRefund(details={"amount": str(amount)})
        old = locks.lock_rows(Order.objects).get(pk=exchange.order_id)
        if rest > carried_left(exchange):
            raise payments.NotEnoughToRefund(details={"amount": str(amount)})
        LedgerEntry.objects.create(
            order=old,
            kind=LedgerKind.REFUND,
            amount=-rest,
            currency=old.currency,
            reference=f"carried:{exchange.pk.hex}:{tag}",
            at=now,
            memo=f"refund of exchanged tickets of order {order.number}",
        )
        orders.book_carried_value(
            order=order,
            amount=rest,
            reference=f"carried-in:{tag}",
            memo=f"value carried from order {old.number}",
            now=now,
        )
        refunds += refund_money(old, amount=rest, tag=tag, reason=reason, now=now, depth=depth + 1)
    if from_own > 0:
        refunds += payments.open_refunds(
            order=order, amount=from_own, reason=reason, now=now, is_booked=True
        )
    return refunds


def approve_refund(
    *, request: RefundRequest, actor, now: datetime, note: str = ""
) -> RefundRequest:
    """The organizer approves a request from the review queue: carried out in one
    transaction (module docstring, R2). Raises RequestNotOpen, TicketUsed (it entered since),
    LinesNotRefundable (exchanged or refunded since)."""
    note = _clean_reason(note, required=False)
    with transaction.atomic():
        order = locks.lock_rows(Order.objects).get(pk=request.order_id)
        _approve(request, order=order, actor=actor, note=note, now=now)
    return RefundRequest.objects.get(pk=request.pk)


def _close_request(request: RefundRequest, *, status: str, actor, note: str, now: datetime) -> None:
    locked = RefundRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != RequestStatus.REQUESTED:
        raise RequestNotOpen()
    locked.status = status
    locked.decided_at = now
    locked.decided_by = actor if getattr(actor, "pk", None) else None
    locked.decision_note = note
    locked.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    locked.lines.update(is_claimed=False)
    audit.record(
        action=f"refund.{status}",
        obj=locked,
        actor=actor,
        organization_id=_organization_id(locked.order),
        now=now,
        data={"note": note},
    )
    if status == RequestStatus.REJECTED:
        notify(
            locked.order.user,
            Kind.REFUND_REJECTED,
            {"order_number": locked.order.number, "reason": note},
            key=f"refund_rejected:{locked.pk}",
            now=now,
        )


def reject_refund(*, request: RefundRequest, actor, reason: str, now: datetime) -> RefundRequest:
    """The organizer refuses a request, saying why (required; the fan reads it)."""
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        locks.lock_rows(Order.objects).get(pk=request.order_id)
        _close_request(request, status=RequestStatus.REJECTED, actor=actor, note=reason, now=now)
    return RefundRequest.objects.get(pk=request.pk)


def withdraw_refund(*, request: RefundRequest, user, now: datetime) -> RefundRequest:
    """The fan withdraws a request that is still waiting for review."""
    if request.order.user_id != user.pk:
        raise orders.OrderNotFound()
    with transaction.atomic():
        locks.lock_rows(Order.objects).get(pk=request.order_id)
        _close_request(request, status=RequestStatus.CANCELLED, actor=user, note="", now=now)
    return RefundRequest.objects.get(pk=request.pk)


def refund_order_in_full(
    *, order: Order, actor, reason: str, now: datetime, initiator: str = Initiator.ORGANIZER
) -> RefundRequest:
    """The organizer cancels a paid order: every active ticket is refunded in full, without a
    fee and whatever the policy says, and revoked; the money goes back. Requests still
    waiting for review are withdrawn first. ``initiator`` fan: the fan takes the full refund
    an organizer's change offered (``changes.refund_after_change``). Raises
    OrderNotRefundable, TicketUsed, ReasonRequired."""
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        locked = locks.lock_rows(Order.objects).get(pk=order.pk)
        for waiting in RefundRequest.objects.filter(order=locked, status=RequestStatus.REQUESTED):
            _close_request(
                waiting, status=RequestStatus.CANCELLED, actor=actor, note=reason, now=now
            )
        quote = quote_refund(order=locked, line_ids=None, now=now, initiator=Initiator.ORGANIZER)
        request = _create_request(
            quote, requested_by=actor, initiator=initiator, reason=reason, key="", now=now
        )
        _approve(request, order=locked, actor=actor, note=reason, now=now)
    return RefundRequest.objects.get(pk=request.pk)


def orders_needing_one_by_one(order_ids: list[int]) -> set[int]:
    """Those of these paid orders that ``refund_orders_in_full_batch`` leaves to
    ``refund_order_in_full``: a request waiting for review (withdrawn first), or places
    received in an exchange (their value is drawn on the older order)."""
    waiting = RefundRequest.objects.filter(
        order_id__in=order_ids, status=RequestStatus.REQUESTED
    ).values_list("order_id", flat=True)
    exchanged = ExchangeRequest.objects.filter(
        new_order_id__in=order_ids, status=ExchangeStatus.COMPLETED
    ).values_list("new_order_id", flat=True)
    return set(waiting) | set(exchanged)


def refund_orders_in_full_batch(
    *, orders_: list[Order], session: Session, actor, reason: str, now: datetime
) -> dict[int, RefundRequest]:
    """``refund_order_in_full`` for many paid orders of one session in a few statements (a
    session change's batch), inside the caller's transaction, which holds the orders' locks
    (ascending id). The same rows as order by order: per order an approved request with its
    lines (no fee), its places back on sale, its tickets revoked, the ledger's refund, the
    provider refunds opened (sent by one task after commit), the fan told; audited.

    All or nothing: raises, with nothing changed once the caller rolls back, what
    ``refund_order_in_full`` would raise for any of them (LinesUnknown, AlreadyRequested,
    TicketUsed, a transfer guard's error, NotEnoughToRefund…), so the caller can go order
    by order to find the one at fault. Orders of ``orders_needing_one_by_one`` must not be
    given."""
    locks.require_transaction()
    reason = _clean_reason(reason, required=True)
    if not orders_:
        return {}
    by_id = {order.pk: order for order in orders_}
    if any(order.status not in orders.REFUNDABLE_ORDER_STATES for order in orders_):
        raise OrderNotRefundable()
    line_rows = list(
        OrderLine.objects.filter(order_id__in=list(by_id), status=LineStatus.ACTIVE)
        .order_by("pk")
        .values_list("pk", "order_id", "price", "currency")
    )
    lines_of: dict[int, list[tuple[int, Decimal, str]]] = {}
    for pk, order_id, price, currency in line_rows:
        lines_of.setdefault(order_id, []).append((pk, price, currency))
    if set(lines_of) != set(by_id):
        raise LinesUnknown()
    line_ids = [row[0] for row in line_rows]
    if RefundRequestLine.objects.filter(line_id__in=line_ids, is_claimed=True).exists():
        raise AlreadyRequested()
    found = list(
        Ticket.objects.filter(order_line_id__in=line_ids).order_by("pk").values_list("pk", "status")
    )
    ticket_ids = [pk for pk, _status in found]
    run_ticket_return_guards(ticket_ids, now=now)
    if any(status != TicketStatus.VALID for _pk, status in found):
        raise LinesUnknown(details={"tickets": "revoked"})
    terms = Terms(is_refundable=True)
    requests: dict[int, RefundRequest] = {}
    claims: list[RefundRequestLine] = []
    for order_id in sorted(by_id):
        order = by_id[order_id]
        price = Decimal(0)
        request = RefundRequest(
            order=order,
            requested_by=actor if getattr(actor, "pk", None) else None,
            initiator=Initiator.ORGANIZER,
            status=RequestStatus.APPROVED,
            currency=order.currency,
            fee=Decimal(0),
            reason=reason,
            created_at=now,
            idempotency_key="",
            decided_at=now,
            decided_by=actor if getattr(actor, "pk", None) else None,
            decision_note=reason,
        )
        for pk, line_price, currency in lines_of[order_id]:
            fee = refund_fee(
                terms,
                price=line_price,
                currency=currency,
                starts_at=session.starts_at,
                now=now,
                demand=Demand(),
            )
            claims.append(
                RefundRequestLine(
                    request=request,
                    line_id=pk,
                    price=fee.price,
                    fee=fee.fee,
                    percent=fee.percent,
                    explanation=policies.explain(fee, currency=currency),
                )
            )
            price += fee.price
        request.price = price
        request.amount = price
        requests[order_id] = request
    RefundRequest.objects.bulk_create(requests.values(), batch_size=1000)
    RefundRequestLine.objects.bulk_create(claims, batch_size=1000)
    # places, then tickets, then attendance: the lock order of the module docstring
    inventory.return_sold_places(
        session_id=session.pk, line_ids=line_ids, reason="refund", now=now, actor=actor
    )
    attendance = lock_attendance(session_id=session.pk, ticket_ids=ticket_ids)
    if any(presence.entries for presence in attendance.values()):
        raise TicketUsed()
    organization_id = session.event.organization_id
    tickets.revoke_tickets(
        ticket_ids=ticket_ids,
        reason="refund",
        now=now,
        actor=actor,
        organization_id=organization_id,
    )
    memos = {
        order_id: _("Refund %(request)s") % {"request": str(request.pk)[:8]}
        for order_id, request in requests.items()
    }
    orders.refund_orders_whole(
        lines={order_id: [pk for pk, *_r in rows] for order_id, rows in lines_of.items()},
        references={o: f"refund-request:{r.pk.hex}" for o, r in requests.items()},
        reasons=memos,
        now=now,
    )
    opened = payments.open_refunds_many(
        amounts={o: r.amount for o, r in requests.items()},
        reasons=memos,
        now=now,
        is_booked=True,
    )
    Through = RefundRequest.refunds.through
    Through.objects.bulk_create(
        (
            Through(refundrequest_id=requests[order_id].pk, refund_id=refund.pk)
            for order_id, refunds in opened.items()
            for refund in refunds
        ),
        batch_size=1000,
    )
    for action, data in (
        (
            "refund.requested",
            lambda o, r: {
                "order": by_id[o].number,
                "lines": [pk for pk, *_r in lines_of[o]],
                "price": str(r.price),
                "fee": "0",
                "initiator": Initiator.ORGANIZER,
            },
        ),
        (
            "refund.approved",
            lambda o, r: {
                "order": by_id[o].number,
                "lines": [pk for pk, *_r in lines_of[o]],
                "amount": str(r.amount),
                "fee": "0",
                "automatic": actor is None,
            },
        ),
    ):
        audit.record_many(
            action=action,
            objects=[(r, data(o, r)) for o, r in requests.items()],
            actor=actor,
            organization_id=organization_id,
            now=now,
        )
    users = {
        user.pk: user
        for user in get_user_model().objects.filter(
            pk__in={o.user_id for o in orders_ if o.user_id}
        )
    }
    notify_many(
        [
            (
                users.get(by_id[o].user_id),
                Kind.REFUND_APPROVED,
                {"order_number": by_id[o].number, "amount": f"{r.amount} {by_id[o].currency}"},
                f"refund_approved:{r.pk}",
            )
            for o, r in requests.items()
        ],
        now=now,
    )
    return requests


def cancel_order(*, order: Order, actor, reason: str, now: datetime) -> Order:
    """The back office's "cancel order": an unpaid order is cancelled and its places freed;
    a paid one is refunded in full and its tickets revoked (never a cancellation that keeps
    the money or leaves the tickets valid)."""
    if order.status in orders.REFUNDABLE_ORDER_STATES:
        refund_order_in_full(order=order, actor=actor, reason=reason, now=now)
    else:
        orders.cancel_order(order=order, actor=actor, reason=reason, now=now)
    return Order.objects.get(pk=order.pk)


# -- guards -------------------------------------------------------------------------------------


def refuse_sessions_with_paid_orders(*, session: Session) -> None:
    """A session guard (``settings.SESSION_CANCEL_GUARDS``): cancelling a session is refused
    while it has paid orders, whose holders would keep tickets for nothing and no money back.
    Their refunds come first, or the session is cancelled through ``changes.start_cancellation``,
    whose change row (written in the same transaction) lets the cancellation through and
    whose job then refunds every order."""
    if SessionChange.objects.filter(session_id=session.pk, kind=ChangeKind.CANCEL).exists():
        return
    paid = Order.objects.filter(
        session_id=session.pk, status__in=orders.REFUNDABLE_ORDER_STATES
    ).count()
    if paid:
        raise SessionHasPaidOrders(details={"paid_orders": paid})
