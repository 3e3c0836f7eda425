"""After-sales: exchanges (改签) — tickets of a paid order given back for other places of the
same event: other seats of the same session, or places of another session when the policy
allows it, within the policy's window.

The fan first holds the new places (a hold of their own, ``inventory.hold_*``), then asks for
a quote: the new places' prices − the old tickets' prices + the policy's exchange fee per
ticket. Confirming creates the exchange and an order of the new places whose total is what
the fan still owes (``orders.place_exchange_order``):

- nothing owed (even, or money back): the exchange is carried out at once (E2) and any money
  back is refunded through the provider;
- something owed: the order is paid through the normal payment flow (the sandbox cashier);
  when the payment completes, ``complete_paid_exchange`` (a ``settings.ORDER_PAID_HOOKS``
  hook) carries out the exchange in the payment's transaction. If the payment fails or its
  time runs out nothing changes: the old tickets stay valid and the hold runs out.

Money (the ledger per order still sums to what its provider holds for it)
------------------------------------------------------------------------
Old order: ``refund_lines`` closes the lines given back (status void) and books a refund of
their prices and the fee kept (the exchange fee, at most each line's price); a charge without
a payment (``orders.book_carried_value``) books the part of that money that now pays for
the new places, and the rest goes back to the fan through provider refunds booked at once.
New order: its own payment's charge (the difference), or a zero charge on account.

Transactions and locks (the sale's and the refunds' lock order, continued)
--------------------------------------------------------------------------
E1  confirm, one transaction: old order → [E2 when nothing is owed]; else insert the
    exchange, its lines, the new order with its lines, the payment (cashier URL prepared
    locally) → commit. Two confirms of one order wait on the order's lock.
E2  the exchange itself, one transaction (from E1, or from the payment's completion: payment
    → new order → hold → new places → new tickets, then): old order → exchange → old order
    lines → old places (ascending id) → old tickets (ascending id) → attendance rows →
    insert refunds, ledger rows, revocations, audit → commit.
    A refund (R1/R2) takes the old order first too; whichever commits first wins, the other
    finds the lines no longer active (a payment of the loser's difference is refunded).

Invariants
----------
- The new places are sold and their tickets issued in the same transaction that voids the
  old lines, puts their places back on sale and revokes their tickets: at no moment does a
  fan hold both or neither.
- A place is sold to at most one line (the hold's conditional UPDATEs); the loser of a race
  for the same new places fails to hold them and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tessera.aftersales import selectors
from tessera.aftersales.errors import (
    ExchangeAlreadyRequested,
    ExchangeNoLongerPossible,
    ExchangeNotAllowed,
    ExchangeNotFound,
    ExchangeNotPayable,
    ExchangeOtherEvent,
    ExchangeOtherSessionNotAllowed,
    ExchangePlacesInvalid,
    ExchangeQuoteChanged,
    ExchangeRefundPending,
    ExchangeTicketUsed,
    ExchangeTooLate,
    LinesUnknown,
)
from tessera.aftersales.models import (
    ExchangeLine,
    ExchangeRequest,
    ExchangeStage,
    ExchangeStatus,
    RefundRequestLine,
)
from tessera.catalog.models import AfterSalesPolicy, Session, SessionStatus
from tessera.catalog.selectors import policy_for
from tessera.checkin.services import lock_attendance
from tessera.core import audit, locks
from tessera.core.errors import InvalidInput
from tessera.core.money import round_money
from tessera.inventory import services as inventory
from tessera.inventory.errors import PlacesNotSold
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.notifications.models import Kind
from tessera.notifications.services import notify
from tessera.orders import services as orders
from tessera.orders.models import LineStatus, Order, OrderLine, OrderStatus
from tessera.payments import services as payments
from tessera.payments.models import Payment, PaymentStatus
from tessera.tickets import services as tickets
from tessera.tickets.models import Ticket, TicketStatus

MAX_LINES = 100


@dataclass(frozen=True)
class NewPlace:
    unit_id: int
    label: str
    zone_name: str
    price: Decimal


@dataclass(frozen=True)
class ExchangeQuote:
    """What exchanging these tickets for the hold's places would cost now, and why."""

    order: Order
    lines: list[OrderLine]
    hold: Hold
    session: Session
    places: list[NewPlace]
    currency: str
    old_price: Decimal
    new_price: Decimal
    fee_per_ticket: Decimal
    fee: Decimal
    amount_due: Decimal
    amount_back: Decimal
    deadline: datetime

    @property
    def line_ids(self) -> list[int]:
        return [line.pk for line in self.lines]

    @property
    def difference(self) -> Decimal:
        """Positive: the fan pays; negative: the fan gets money back."""
        return self.amount_due - self.amount_back


def exchange_deadline(session: Session, policy: AfterSalesPolicy) -> datetime:
    return session.starts_at - timedelta(hours=policy.exchange_cutoff_hours)


def check_exchangeable(order: Order, now: datetime) -> AfterSalesPolicy:
    """The policy of the order's session when its tickets may be exchanged now. Raises
    ExchangeNotAllowed (the policy says no, or the order is not paid) or ExchangeTooLate."""
    if order.status not in orders.REFUNDABLE_ORDER_STATES:
        raise ExchangeNotAllowed()
    session = Session.objects.select_related("layout__venue").get(pk=order.session_id)
    policy = policy_for(session)
    if not policy.is_exchangeable or session.status != SessionStatus.SCHEDULED:
        raise ExchangeNotAllowed()
    if now >= exchange_deadline(session, policy):
        raise ExchangeTooLate(details={"deadline": exchange_deadline(session, policy).isoformat()})
    return policy


def sessions_for_exchange(order: Order, now: datetime) -> list[Session]:
    """The sessions the order's tickets may be exchanged into now: its own, and the event's
    other sessions on sale when the policy allows (soonest first)."""
    policy = check_exchangeable(order, now)
    found = Session.objects.filter(pk=order.session_id)
    if policy.exchange_to_other_sessions:
        found = Session.objects.filter(
            event_id=order.session.event_id, status=SessionStatus.SCHEDULED, starts_at__gt=now
        )
    return [
        session
        for session in found.select_related("layout__venue", "event").order_by("starts_at")
        if session.is_on_sale(now)
    ]


def _chosen_lines(order: Order, line_ids) -> list[OrderLine]:
    if not isinstance(line_ids, list | tuple) or not line_ids or len(line_ids) > MAX_LINES:
        raise LinesUnknown()
    if any(isinstance(v, bool) or not isinstance(v, int) for v in line_ids):
        raise LinesUnknown(details={"lines": "integers"})
    if len(set(line_ids)) != len(line_ids):
        raise LinesUnknown(details={"lines": "duplicates"})
    lines = list(
        OrderLine.objects.filter(order=order, pk__in=line_ids, status=LineStatus.ACTIVE).order_by(
            "pk"
        )
    )
    if len(lines) != len(line_ids):
        found = {line.pk for line in lines}
        raise LinesUnknown(details={"lines": sorted(set(line_ids) - found)})
    return lines


def _live_exchange_of(line_ids: list[int], now: datetime) -> bool:
    return ExchangeLine.objects.filter(
        line_id__in=line_ids,
        request__status=ExchangeStatus.AWAITING_PAYMENT,
        request__new_order__status=OrderStatus.PENDING_PAYMENT,
        request__new_order__expires_at__gt=now,
    ).exists()


def _check_tickets(line_ids: list[int], *, now: datetime) -> None:
    from tessera.aftersales.services import run_ticket_return_guards

    found = list(Ticket.objects.filter(order_line_id__in=line_ids))
    run_ticket_return_guards([t.pk for t in found], now=now)
    if len(found) != len(line_ids) or any(t.status != TicketStatus.VALID for t in found):
        raise LinesUnknown(details={"tickets": "not valid"})
    if selectors.entered_ticket_ids([t.pk for t in found]):
        raise ExchangeTicketUsed()


def quote_exchange(
    *, order: Order, user, line_ids: list[int], hold: Hold, now: datetime
) -> ExchangeQuote:
    """The difference to pay (or to get back) to exchange these tickets of the fan's order
    for the places of the fan's hold.

    Raises OrderNotFound (not the fan's order), ExchangeNotAllowed, ExchangeTooLate,
    LinesUnknown, ExchangeTicketUsed, ExchangeRefundPending, ExchangeAlreadyRequested,
    ExchangeOtherEvent, ExchangeOtherSessionNotAllowed or ExchangePlacesInvalid.
    """
    if order.user_id != user.pk:
        raise orders.OrderNotFound()
    policy = check_exchangeable(order, now)
    lines = _chosen_lines(order, line_ids)
    ids = [line.pk for line in lines]
    if RefundRequestLine.objects.filter(line_id__in=ids, is_claimed=True).exists():
        raise ExchangeRefundPending()
    if _live_exchange_of(ids, now):
        raise ExchangeAlreadyRequested()
    _check_tickets(ids, now=now)
    if hold is None or hold.user_id != user.pk:
        raise ExchangePlacesInvalid(details={"hold": "unknown"})
    session = Session.objects.select_related("event", "layout__venue").get(pk=hold.session_id)
    if session.event_id != order.session.event_id:
        raise ExchangeOtherEvent()
    if session.pk != order.session_id and not policy.exchange_to_other_sessions:
        raise ExchangeOtherSessionNotAllowed()
    if (
        hold.status != HoldStatus.ACTIVE
        or not hold.is_live(now)
        or hold.quantity != len(lines)
        or Order.objects.filter(hold=hold).exists()
    ):
        raise ExchangePlacesInvalid(details={"hold": "not usable", "tickets": len(lines)})
    units = list(
        InventoryUnit.objects.filter(hold=hold, status=UnitStatus.HELD, hold_expires_at__gt=now)
        .select_related("zone", "section", "seat__row")
        .order_by("section__sort_order", "seat__row__sort_order", "seat__position", "id")
    )
    if len(units) != hold.quantity or any(u.zone.currency != order.currency for u in units):
        raise ExchangePlacesInvalid(details={"hold": "places"})
    currency = order.currency
    places = [
        NewPlace(
            unit_id=u.pk,
            label=(
                f"{u.section.display_name} · {u.seat.row.label} · {u.seat.label}"
                if u.seat
                else u.section.display_name
            ),
            zone_name=u.zone.display_name,
            price=round_money(u.zone.price, currency),
        )
        for u in units
    ]
    old_price = sum((line.price for line in lines), Decimal(0))
    new_price = sum((place.price for place in places), Decimal(0))
    fee_per = round_money(policy.exchange_fee, currency)
    fee = fee_per * len(lines)
    difference = new_price + fee - old_price
    return ExchangeQuote(
        order=order,
        lines=lines,
        hold=hold,
        session=session,
        places=places,
        currency=currency,
        old_price=old_price,
        new_price=new_price,
        fee_per_ticket=fee_per,
        fee=fee,
        amount_due=max(difference, Decimal("0.00")),
        amount_back=max(-difference, Decimal("0.00")),
        deadline=exchange_deadline(order.session, policy),
    )


def _parse_amount(value) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise InvalidInput(_("Send the difference you were shown as a decimal string."))
    try:
        parsed = Decimal(value)
    except ArithmeticError as exc:
        raise InvalidInput(_("Send the difference you were shown as a decimal string.")) from exc
    if not parsed.is_finite():
        raise InvalidInput(_("Send the difference you were shown as a decimal string."))
    return parsed


def confirm_exchange(
    *,
    order: Order,
    user,
    line_ids: list[int],
    hold: Hold,
    expected_difference=None,
    provider: str = "sandbox",
    idempotency_key: str = "",
    now: datetime,
) -> ExchangeRequest:
    """The fan confirms the exchange quoted by ``quote_exchange`` (E1).

    ``expected_difference``: the difference the fan was shown (positive: to pay, negative:
    to get back); when it no longer holds, ExchangeQuoteChanged and nothing is written. With
    nothing to pay the exchange is done at once (E2); otherwise the new order awaits its
    payment at ``provider`` (``payment_for``). The same ``idempotency_key`` for the same
    order answers the same exchange. Raises what ``quote_exchange`` raises.
    """
    wanted = _parse_amount(expected_difference)
    key = (idempotency_key or "")[:100]
    if order.user_id != user.pk:
        raise orders.OrderNotFound()
    if key:
        existing = ExchangeRequest.objects.filter(order=order, idempotency_key=key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            locked = locks.lock_rows(Order.objects.select_related("session")).get(pk=order.pk)
            hold = Hold.objects.filter(pk=getattr(hold, "pk", None)).first()
            quote = quote_exchange(order=locked, user=user, line_ids=line_ids, hold=hold, now=now)
            if wanted is not None and wanted != quote.difference:
                raise ExchangeQuoteChanged(
                    details={
                        "difference": str(quote.difference),
                        "amount_due": str(quote.amount_due),
                        "amount_back": str(quote.amount_back),
                    }
                )
            new_order = orders.place_exchange_order(
                hold=quote.hold,
                user=user,
                total=quote.amount_due,
                attendees=[line.attendee_name for line in quote.lines],
                now=now,
            )
            request = ExchangeRequest.objects.create(
                order=locked,
                new_order=new_order,
                user=user,
                currency=quote.currency,
                old_price=quote.old_price,
                new_price=quote.new_price,
                fee=quote.fee,
                amount_due=quote.amount_due,
                amount_back=quote.amount_back,
                created_at=now,
                idempotency_key=key,
            )
            ExchangeLine.objects.bulk_create(
                ExchangeLine(
                    request=request,
                    line=line,
                    price=line.price,
                    fee=min(quote.fee_per_ticket, line.price),
                )
                for line in quote.lines
            )
            audit.record(
                action="exchange.requested",
                obj=request,
                actor=user,
                organization_id=quote.session.event.organization_id,
                now=now,
                data={
                    "order": locked.number,
                    "new_order": new_order.number,
                    "lines": quote.line_ids,
                    "difference": str(quote.difference),
                    "fee": str(quote.fee),
                },
            )
            if quote.amount_due > 0:
                payments.open_payment(order=new_order, provider=provider, user=user, now=now)
            else:
                orders.mark_order_paid(
                    order=new_order,
                    payment_id=None,
                    amount=Decimal("0.00"),
                    currency=new_order.currency,
                    reference=f"exchange:{request.pk.hex}"[:80],
                    now=now,
                )
                tickets.issue_tickets(order=new_order, now=now)
                orders.fulfil_order(order=new_order, now=now)
                _exchange(request, order=locked, new_order=new_order, now=now)
    except IntegrityError as exc:
        if key:
            existing = ExchangeRequest.objects.filter(order=order, idempotency_key=key).first()
            if existing is not None:
                return existing
        raise ExchangeAlreadyRequested() from exc
    return ExchangeRequest.objects.get(pk=request.pk)


def _exchange(request: ExchangeRequest, *, order: Order, new_order: Order, now: datetime) -> None:
    """E2, old side: the new order is paid (its places sold, its tickets issued) in this
    transaction; give back the old tickets. The caller holds the old order's lock."""
    request = ExchangeRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != ExchangeStatus.AWAITING_PAYMENT:
        raise ExchangeNoLongerPossible()
    claims = list(request.lines.order_by("line_id"))
    line_ids = [claim.line_id for claim in claims]
    reference = f"exchange:{request.pk.hex}"
    reason = _("Exchange %(request)s for order %(order)s") % {
        "request": str(request.pk)[:8],
        "order": new_order.number,
    }
    try:
        price, fee_kept = orders.refund_lines(
            order=order,
            fees={claim.line_id: claim.fee for claim in claims},
            reference=reference,
            reason=reason,
            now=now,
            line_status=LineStatus.VOID,
        )
        inventory.return_sold_places(
            session_id=order.session_id, line_ids=line_ids, reason="exchange", now=now
        )
    except (orders.LinesNotRefundable, PlacesNotSold) as exc:
        raise ExchangeNoLongerPossible() from exc
    found = list(locks.lock_rows(Ticket.objects.filter(order_line_id__in=line_ids)).order_by("pk"))
    attendance = lock_attendance(session_id=order.session_id, ticket_ids=[t.pk for t in found])
    if any(presence.entries for presence in attendance.values()) or any(
        t.status != TicketStatus.VALID for t in found
    ):
        raise ExchangeNoLongerPossible()
    for ticket in found:
        tickets.revoke_ticket(ticket=ticket, reason="exchange", now=now, actor=request.user)
    # What the old tickets' money still pays for: the new places and the fee, at most what
    # is left of it after the fee kept.
    fee_rest = request.fee - fee_kept
    carried = min(price - fee_kept, request.new_price + fee_rest)
    if carried > 0:
        orders.book_carried_value(
            order=order,
            amount=carried,
            reference=reference,
            memo=f"exchanged for order {new_order.number}",
            now=now,
        )
    if request.amount_back > 0 and ExchangeRequest.objects.filter(new_order_id=order.pk).exists():
        # tickets that came from an earlier exchange: the money back is drawn along it
        from tessera.aftersales.services import refund_money

        request.refunds.set(
            refund_money(
                order, amount=request.amount_back, tag=request.pk.hex, reason=reason, now=now
            )
        )
    elif request.amount_back > 0 and (
        Payment.objects.filter(order=order, status=PaymentStatus.SUCCEEDED).exists()
    ):
        refunds = payments.open_refunds(
            order=order, amount=request.amount_back, reason=reason, now=now, is_booked=True
        )
        request.refunds.set(refunds)
    request.status = ExchangeStatus.COMPLETED
    request.completed_at = now
    request.save(update_fields=["status", "completed_at"])
    audit.record(
        action="exchange.completed",
        obj=request,
        actor=request.user,
        organization_id=order.session.event.organization_id,
        now=now,
        data={
            "order": order.number,
            "new_order": new_order.number,
            "lines": line_ids,
            "amount_due": str(request.amount_due),
            "amount_back": str(request.amount_back),
            "fee": str(request.fee),
        },
    )
    notify(
        request.user,
        Kind.EXCHANGE_COMPLETED,
        {"order_number": new_order.number},
        key=f"exchange_completed:{request.pk}",
        now=now,
    )


def complete_paid_exchange(*, order: Order, payment, now: datetime) -> None:
    """``settings.ORDER_PAID_HOOKS``: when ``order`` is the new order of an exchange awaiting
    its payment, carry out the exchange (E2) in the payment's transaction, which has sold
    the new places and issued their tickets. Raises ExchangeNoLongerPossible (an
    ``OrderNotPayable``: the sale rolls back and the payment is refunded) when the tickets
    given back were refunded, exchanged or used meanwhile."""
    request = (
        ExchangeRequest.objects.filter(new_order_id=order.pk).values_list("pk", "order_id").first()
    )
    if request is None:
        return
    request_id, old_order_id = request
    old = locks.lock_rows(Order.objects.select_related("session__event")).get(pk=old_order_id)
    _exchange(ExchangeRequest(pk=request_id), order=old, new_order=order, now=now)


def pay_difference(*, request: ExchangeRequest, user, provider: str = "sandbox", now: datetime):
    """A new payment of the difference of an exchange still awaiting it (after a failed or
    abandoned one). Raises ExchangeNotFound, ExchangeNotPayable, and what
    ``payments.start_payment`` raises."""
    if request.user_id != user.pk:
        raise ExchangeNotFound()
    if request.stage_at(now) != "awaiting_payment":
        raise ExchangeNotPayable()
    open_payment = (
        Payment.objects.filter(order_id=request.new_order_id, status=PaymentStatus.CREATED)
        .exclude(cashier_url="")
        .order_by("-created_at")
        .first()
    )
    if open_payment is not None:
        return open_payment
    return payments.start_payment(order=request.new_order, provider=provider, user=user, now=now)


def get_exchange_for_user(*, exchange_id, user) -> ExchangeRequest:
    found = (
        ExchangeRequest.objects.select_related(
            "order__session__event",
            "new_order__session__layout__venue",
            "new_order__session__event",
        )
        .filter(pk=exchange_id, user=user)
        .first()
    )
    if found is None:
        raise ExchangeNotFound()
    return found


def payment_for(request: ExchangeRequest) -> Payment | None:
    """The newest payment of the exchange's difference (None when nothing was due)."""
    return Payment.objects.filter(order_id=request.new_order_id).order_by("-created_at").first()


def exchanges_of_order(order: Order):
    return (
        ExchangeRequest.objects.filter(order=order)
        .select_related("new_order")
        .order_by("-created_at")
    )


def stage_label(stage: str) -> str:
    return ExchangeStage(stage).label
