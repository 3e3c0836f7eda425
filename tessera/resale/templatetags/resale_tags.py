"""Resale entries for pages of other apps, each one line in their templates:

``{% load resale_tags %}{% resale_link session %}`` on the event and buy pages (how many
tickets are on resale), ``{% load resale_tags %}{% order_resale order user %}`` on the order
page and ``{% load resale_tags %}{% ticket_resale ticket user %}`` on a ticket's page."""

from django import template
from django.db.models import Count

from tessera.core import clock
from tessera.orders.models import OrderStatus
from tessera.resale import services
from tessera.resale.models import Listing, ListingStatus, ResalePolicy
from tessera.tickets.models import Ticket, TicketStatus

register = template.Library()

_WITH_TICKETS = (OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.PAID)


def _event_resale(render_context, event_id: int) -> dict:
    """The event's resale policies and each session's count of listings to buy, read once per
    page (the event page shows every date: one query, and one more when resale is on)."""
    cache = render_context.setdefault("resale_by_event", {})
    if event_id not in cache:
        policies = {p.session_id: p for p in ResalePolicy.objects.filter(event_id=event_id)}
        counts = {}
        if any(p.is_allowed for p in policies.values()):
            now = clock.now()
            counts = dict(
                services.live_listings(now=now)
                .filter(session__event_id=event_id)
                .exclude(reserved_until__gt=now)
                .values_list("session_id")
                .annotate(n=Count("pk"))
            )
        cache[event_id] = {"policies": policies, "counts": counts}
    return cache[event_id]


@register.inclusion_tag("resale/_session_link.html", takes_context=True)
def resale_link(context, session):
    """ "Resale tickets (n)" when the session's policy allows resale."""
    found = _event_resale(context.render_context, session.event_id)
    policies = found["policies"]
    policy = policies.get(session.pk) or policies.get(None)
    if policy is None or not policy.is_allowed:
        return {"session": None}
    return {"session": session, "count": found["counts"].get(session.pk, 0)}


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
