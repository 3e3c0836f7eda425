"""What the distributor API writes: cancelling (refunding) tickets of a channel's order.

The order itself is placed by ``sale.channels.channel_order``; this module only turns a
channel's cancellation into the after-sales refund of the fan's path, so the same policy,
fees, locks and ledger rules apply (``aftersales.services``, R1/R2 of its docstring).
"""

from __future__ import annotations

from datetime import datetime

from tessera.accounts.models import User
from tessera.aftersales import services as aftersales
from tessera.aftersales.errors import LinesUnknown
from tessera.aftersales.models import RefundRequest
from tessera.orders.models import Order
from tessera.orders.services import OrderNotFound
from tessera.tickets.models import Ticket

MAX_TICKETS = aftersales.MAX_LINES


def line_ids_of_tickets(*, order: Order, ticket_ids: list[int] | None) -> list[int] | None:
    """The order lines of these tickets of ``order`` (None: every line still active).
    Raises LinesUnknown when a ticket is not the order's, or named twice."""
    if not ticket_ids:
        return None
    if len(ticket_ids) > MAX_TICKETS or len(set(ticket_ids)) != len(ticket_ids):
        raise LinesUnknown(details={"ticket_ids": "duplicates or too many"})
    found = dict(
        Ticket.objects.filter(pk__in=ticket_ids, order_line__order=order).values_list(
            "pk", "order_line_id"
        )
    )
    missing = [t for t in ticket_ids if t not in found]
    if missing:
        raise LinesUnknown(details={"ticket_ids": missing})
    return sorted(found[t] for t in ticket_ids)


def cancel_channel_order(
    *,
    principal,
    order: Order,
    ticket_ids: list[int] | None,
    reason: str,
    idempotency_key: str,
    now: datetime,
) -> RefundRequest:
    """Refund these tickets of the channel's order (all still valid when none are named)
    within the session's after-sales policy, on the channel's account: approved at once
    when the policy needs no review, else waiting for the organizer. The refund is booked on
    the order (the ledger's refund of the prices and the fee kept); a channel order has no
    provider payment, so nothing is sent to a provider. The same ``idempotency_key`` for the
    same order answers the same request.

    Raises OrderNotFound when the order is not the principal's channel's; what
    ``aftersales.services.request_refund`` raises (OrderNotRefundable, LinesUnknown,
    AlreadyRequested, TicketUsed, RefundNotAllowed, RefundTooLate, ReasonRequired)."""
    if order.channel_id != principal.channel_id:
        raise OrderNotFound()
    line_ids = line_ids_of_tickets(order=order, ticket_ids=ticket_ids)
    account = User.objects.get(pk=principal.account_id)
    return aftersales.request_refund(
        order=order,
        user=account,
        line_ids=line_ids,
        reason=reason,
        idempotency_key=idempotency_key,
        now=now,
    )
