"""Resale entries for pages of other apps, each one line in their templates:

``{% load resale_tags %}{% resale_link session %}`` on the event and buy pages (how many
tickets are on resale), ``{% load resale_tags %}{% order_resale order user %}`` on the order
page and ``{% load resale_tags %}{% ticket_resale ticket user %}`` on a ticket's page."""

from django import template

from tessera.core import clock
from tessera.orders.models import OrderStatus
from tessera.resale import services
from tessera.resale.models import Listing, ListingStatus
from tessera.tickets.models import Ticket, TicketStatus

register = template.Library()

_WITH_TICKETS = (OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.PAID)


@register.inclusion_tag("resale/_session_link.html")
def resale_link(session):
    """ "Resale tickets (n)" when the session's policy allows resale."""
    if not services.policy_for(session).is_allowed:
        return {"session": None}
    now = clock.now()
    count = (
        services.live_listings(now=now, session_id=session.pk)
        .exclude(reserved_until__gt=now)
        .count()
    )
    return {"session": session, "count": count}


@register.inclusion_tag("resale/_order_resale.html")
def order_resale(order, user):
    """Each valid ticket of the order the buyer holds: "Sell on the official resale", or
    "Listed" with a link to the listings."""
    if order.status not in _WITH_TICKETS or not getattr(user, "is_authenticated", False):
        return {"rows": []}
    if not services.policy_for(order.session).is_allowed:
        return {"rows": []}
    found = list(
        Ticket.objects.filter(order_line__order=order, status=TicketStatus.VALID)
        .select_related("order_line__order")
        .order_by("order_line_id")
    )
    listed = set(
        Listing.objects.filter(
            ticket_id__in=[t.pk for t in found], status=ListingStatus.LISTED
        ).values_list("ticket_id", flat=True)
    )
    rows = [{"ticket": t, "is_listed": t.pk in listed} for t in found if t.is_held_by(user)]
    return {"rows": rows}


@register.inclusion_tag("resale/_ticket_resale.html")
def ticket_resale(ticket, user):
    if ticket is None or not ticket.is_held_by(user) or ticket.status != TicketStatus.VALID:
        return {"ticket": None}
    if not services.policy_for(ticket.session).is_allowed:
        return {"ticket": None}
    listed = Listing.objects.filter(ticket=ticket, status=ListingStatus.LISTED).exists()
    return {"ticket": ticket, "is_listed": listed}
