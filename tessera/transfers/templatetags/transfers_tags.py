"""Transfer entries for pages of other apps, each one line in their templates:

``{% load transfers_tags %}{% order_transfers order user %}`` on the order page,
``{% load transfers_tags %}{% ticket_transfer ticket user %}`` on a ticket's page, and
``{% load transfers_tags %}{% transferred_to_me user %}`` on the account page."""

from django import template

from tessera.catalog.selectors import policy_for
from tessera.core import clock
from tessera.orders.models import OrderStatus
from tessera.tickets.models import Ticket, TicketStatus
from tessera.transfers import selectors, services

register = template.Library()

_WITH_TICKETS = (OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.PAID)


@register.inclusion_tag("transfers/_order_transfers.html")
def order_transfers(order, user):
    """Each valid ticket of the order: "Transfer", the transfer on its way (with cancel), or
    to whom it went. Nothing when the policy allows no transfer and none was made."""
    if order.status not in _WITH_TICKETS or not getattr(user, "is_authenticated", False):
        return {"rows": []}
    now = clock.now()
    found = list(
        Ticket.objects.filter(order_line__order=order, status=TicketStatus.VALID)
        .select_related("order_line__order", "holder")
        .order_by("order_line_id")
    )
    latest = selectors.transfers_of_tickets([t.pk for t in found])
    policy = policy_for(order.session)
    allowed = policy.is_transferable and policy.max_transfers > 0
    if not allowed and not latest:
        return {"rows": []}
    rows = []
    for ticket in found:
        transfer = latest.get(ticket.pk)
        is_open = transfer is not None and transfer.is_open_at(now)
        rows.append(
            {
                "ticket": ticket,
                "is_held": ticket.is_held_by(user),
                "holder_name": services.display_name(ticket.holder) if ticket.holder else "",
                "open": transfer if is_open and transfer.sender_id == user.pk else None,
                "recipient": (
                    services.display_name(transfer.recipient)
                    if is_open and transfer.recipient
                    else ""
                ),
            }
        )
    return {"rows": rows, "allowed": allowed, "next": f"/orders/{order.number}/"}


@register.inclusion_tag("transfers/_received.html")
def transferred_to_me(user):
    """Tickets given to the account by transfers, and how many offers wait for it."""
    if not getattr(user, "is_authenticated", False):
        return {"tickets": [], "offers": 0}
    now = clock.now()
    return {
        "tickets": selectors.list_tickets_given_to(user),
        "offers": len(selectors.list_offers_to(user, now=now)),
    }


@register.inclusion_tag("transfers/_ticket_transfer.html")
def ticket_transfer(ticket, user):
    """On the ticket's page, for the account holding it: "Transfer this ticket", or the
    transfer on its way with its cancel button. Nothing when the policy allows none."""
    if ticket is None or ticket.status != TicketStatus.VALID or not ticket.is_held_by(user):
        return {"show": False}
    now = clock.now()
    transfer = selectors.transfers_of_tickets([ticket.pk]).get(ticket.pk)
    is_open = transfer is not None and transfer.is_open_at(now) and transfer.sender_id == user.pk
    policy = policy_for(ticket.session)
    allowed = policy.is_transferable and policy.max_transfers > 0
    if not (allowed or is_open):
        return {"show": False}
    return {
        "show": True,
        "ticket": ticket,
        "open": transfer if is_open else None,
        "recipient": (
            services.display_name(transfer.recipient) if is_open and transfer.recipient else ""
        ),
        "next": f"/tickets/{ticket.public_id}/",
    }
