"""The official resale over HTTP: list a ticket, withdraw, your listings, browse a session's
listings, buy one (a reservation and a payment to make at the cashier).

Every endpoint but browsing needs a signed-in account; errors answer
``{"error": {code, message, details}}`` in the user's language.
"""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ninja import Field, Router, Schema, Status
from ninja.security import django_auth

from tessera.catalog.models import Session
from tessera.core.clock import now as clock_now
from tessera.core.errors import NotFound
from tessera.core.schemas import ErrorOut, InputSchema
from tessera.resale import services
from tessera.resale.models import Listing

router = Router(tags=["resale"])

_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
LIST_MAX = 200


class ListingIn(InputSchema):
    ticket: UUID
    price: str = Field(..., min_length=1, max_length=32, description="decimal string, e.g. 380.00")


class ListingOut(Schema):
    id: UUID
    status: str
    session_id: int
    event_name: str
    starts_at: datetime
    place: str
    zone: str
    face_value: Decimal
    price: Decimal
    currency: str
    fee: Decimal | None = None
    payout: Decimal | None = None
    closes_at: datetime
    ticket: UUID | None = None


class PurchaseOut(Schema):
    listing: UUID
    order_number: str
    amount: Decimal
    currency: str
    reserved_until: datetime
    payment_id: UUID
    cashier_url: str


def _out(listing: Listing, now: datetime, *, for_seller: bool) -> dict:
    line = listing.line
    session = listing.session
    body = {
        "id": listing.pk,
        "status": services.shown_status(listing, now) if for_seller else "listed",
        "session_id": session.pk,
        "event_name": session.event.display_name,
        "starts_at": session.starts_at,
        "place": line.place_label,
        "zone": line.zone_name,
        "face_value": listing.face_value,
        "price": listing.price,
        "currency": listing.currency,
        "closes_at": listing.closes_at,
    }
    if for_seller:
        body |= {"fee": listing.fee, "payout": listing.payout, "ticket": listing.ticket.public_id}
    return body


def _loaded(listing_id) -> Listing:
    return Listing.objects.select_related("line", "session__event", "ticket").get(pk=listing_id)


@router.post(
    "/resale/listings",
    auth=django_auth,
    response={201: ListingOut, **_ERRORS},
    summary="List a ticket for resale",
)
def create_listing(request, payload: ListingIn):
    """Offer one of your tickets on the official resale at ``price`` — at most its face
    value plus the organizer's cap. The fee and what you will be paid are in the answer."""
    now = clock_now()
    listing = services.list_ticket(
        ticket_public_id=payload.ticket, user=request.auth, price=payload.price, now=now
    )
    return Status(201, _out(_loaded(listing.pk), now, for_seller=True))


@router.get(
    "/resale/listings/mine",
    auth=django_auth,
    response={200: list[ListingOut], **_ERRORS},
    summary="Your resale listings",
)
def my_listings(request):
    """Your listings, newest first (at most 200)."""
    now = clock_now()
    found = Listing.objects.filter(seller=request.auth).select_related(
        "line", "session__event", "ticket"
    )[:LIST_MAX]
    return [_out(item, now, for_seller=True) for item in found]


@router.post(
    "/resale/listings/{listing_id}/withdraw",
    auth=django_auth,
    response={200: ListingOut, **_ERRORS},
    summary="Withdraw a listing",
)
def withdraw(request, listing_id: UUID):
    """Take your ticket off the resale (not while a buyer is paying for it)."""
    now = clock_now()
    listing = services.withdraw_listing(listing_id=listing_id, user=request.auth, now=now)
    return _out(_loaded(listing.pk), now, for_seller=True)


@router.get(
    "/sessions/{session_id}/resale",
    response={200: list[ListingOut], **_ERRORS},
    summary="Resale tickets of a session",
)
def browse(request, session_id: int):
    """Tickets of the session on the official resale that no buyer is paying for, cheapest
    first (at most 200)."""
    now = clock_now()
    if not Session.objects.filter(pk=session_id).exists():
        raise NotFound()
    found = (
        services.live_listings(now=now, session_id=session_id)
        .exclude(reserved_until__gt=now)
        .select_related("line", "session__event")
        .order_by("price", "created_at")[:LIST_MAX]
    )
    return [_out(item, now, for_seller=False) for item in found]


@router.post(
    "/resale/listings/{listing_id}/buy",
    auth=django_auth,
    response={201: PurchaseOut, **_ERRORS},
    summary="Buy a resale ticket",
)
def buy_listing(request, listing_id: UUID):
    """Reserve the listing for you for the session's hold minutes and open its payment at
    the sandbox cashier (``cashier_url``). The ticket is yours once the payment completes;
    the session's per-account limit applies."""
    now = clock_now()
    payment = services.reserve_listing(listing_id=listing_id, user=request.auth, now=now)
    listing = Listing.objects.get(pk=listing_id)
    return Status(
        201,
        {
            "listing": listing.pk,
            "order_number": payment.order.number,
            "amount": payment.amount,
            "currency": payment.currency,
            "reserved_until": listing.reserved_until,
            "payment_id": payment.pk,
            "cashier_url": payment.cashier_url,
        },
    )
