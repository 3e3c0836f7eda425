"""The resale's pages: the seller's "sell this ticket" form and "my listings" (with
withdraw), a session's resale tickets for buyers (buy → the sandbox cashier). They call the
same services as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tessera.catalog.models import Session
from tessera.core import clock
from tessera.core.dates import local_moment
from tessera.core.errors import DomainError
from tessera.resale import services
from tessera.resale.models import Listing, ListingStatus
from tessera.tickets.models import Ticket
from tessera.tickets.selectors import summarize_ticket

STATUS_LABELS = {
    "listed": gettext_lazy("Listed"),
    "reserved": gettext_lazy("A buyer is paying"),
    "sold": gettext_lazy("Sold"),
    "withdrawn": gettext_lazy("Withdrawn"),
}


def _held_ticket(public_id, user) -> Ticket:
    ticket = (
        Ticket.objects.select_related(
            "order_line__order", "session__event", "session__layout__venue"
        )
        .filter(public_id=public_id)
        .first()
    )
    if ticket is None or not ticket.is_held_by(user):
        raise Http404
    return ticket


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def sell(request, public_id):
    """List one of my tickets: the price (at most the cap), the fee and what I get."""
    now = clock.now()
    ticket = _held_ticket(public_id, request.user)
    terms = services.terms_for(ticket)
    policy = services.policy_for(ticket.session)
    price = request.POST.get("price", str(terms.face_value)) if request.method == "POST" else ""
    error = ""
    if request.method == "POST":
        try:
            services.list_ticket(
                ticket_public_id=ticket.public_id, user=request.user, price=price, now=now
            )
        except DomainError as exc:
            error = str(exc.message)
        else:
            messages.success(request, _("Your ticket is listed on the official resale."))
            return redirect("resale:mine")
    live = Listing.objects.filter(ticket=ticket, status=ListingStatus.LISTED).first()
    return render(
        request,
        "resale/sell.html",
        {
            "ticket": ticket,
            "summary": summarize_ticket(ticket),
            "terms": terms,
            "policy": policy,
            "price": price or str(terms.max_price),
            "error": error,
            "live": live,
            "closes_text": local_moment(terms.closes_at, ticket.session.layout.venue.zone_info),
            "nav": "orders",
        },
        status=422 if error else 200,
    )


@never_cache
@login_required
def mine(request):
    """My listings with their status; withdraw the ones no buyer is paying for."""
    now = clock.now()
    found = Listing.objects.filter(seller=request.user).select_related(
        "line", "session__event", "session__layout__venue", "ticket"
    )[:100]
    rows = []
    for listing in found:
        status = services.shown_status(listing, now)
        rows.append(
            {
                "listing": listing,
                "status": status,
                "status_label": STATUS_LABELS.get(status, status),
                "starts_text": local_moment(
                    listing.session.starts_at, listing.session.layout.venue.zone_info
                ),
                "can_withdraw": status == "listed",
            }
        )
    return render(request, "resale/mine.html", {"rows": rows, "nav": "orders"})


@require_POST
@login_required
def withdraw(request, listing_id):
    try:
        services.withdraw_listing(listing_id=listing_id, user=request.user, now=clock.now())
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The listing is withdrawn; your ticket is yours as before."))
    return redirect("resale:mine")


@never_cache
def session_listings(request, session_id: int):
    """A session's tickets on the official resale, cheapest first."""
    now = clock.now()
    session = get_object_or_404(
        Session.objects.select_related("event", "layout__venue"), pk=session_id
    )
    found = list(
        services.live_listings(now=now, session_id=session.pk)
        .exclude(reserved_until__gt=now)
        .select_related("line")
        .order_by("price", "created_at")[:200]
    )
    policy = services.policy_for(session)
    return render(
        request,
        "resale/session.html",
        {
            "session": session,
            "listings": found,
            "policy": policy,
            "starts_text": local_moment(session.starts_at, session.layout.venue.zone_info),
        },
    )


@require_POST
def buy(request, listing_id):
    """Reserve the listing and go to the cashier."""
    listing = get_object_or_404(Listing, pk=listing_id)
    if not request.user.is_authenticated:
        messages.info(request, _("Sign in to buy a resale ticket."))
        return redirect(f"/accounts/login/?next=/resale/sessions/{listing.session_id}/")
    try:
        payment = services.reserve_listing(
            listing_id=listing.pk, user=request.user, now=clock.now()
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("resale:session", session_id=listing.session_id)
    return redirect(payment.cashier_url)
