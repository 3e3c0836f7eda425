"""Official resale, capped: policies, listings, the buyer's reservation and the hand-over.

A seller lists a valid, unused ticket of a paid order that is still theirs (not given away
by a transfer, none on its way) at a price of at most face value × (1 + cap). While listed,
refunds, exchanges and transfers of the ticket are refused (``guards.py``, in
``settings.TICKET_RETURN_GUARDS`` and ``settings.TRANSFER_GUARDS``) until the seller
withdraws it; a cancelled session lets them through and its listings are withdrawn.

A buyer reserves a listing (one buyer at a time, for the session's hold minutes) and pays
an order of the same place at the resale price (``orders.place_resale_order``: no hold)
through the normal payment flow. On payment, in the payment's transaction:

- ``hand_over_resold_place`` (``settings.SOLD_PLACE_HANDOVERS``, called by
  ``orders.mark_order_paid``) checks the listing is still reserved for this order and moves
  the place from the seller's line to the buyer's (``inventory.hand_over_sold_place``,
  under the buyer's account limit); ``tickets.issue_tickets`` then issues the buyer's ticket;
- ``complete_resale`` (``settings.ORDER_PAID_HOOKS``) revokes the seller's ticket under the
  attendance lock shared with the gate, refunds the seller's line (``orders.refund_lines``:
  the line's price back, the difference to the payout kept as a fee) and opens the payout as
  provider refunds of the seller's payment (``aftersales.services.refund_money``), and marks
  the listing sold. Anything refused there (ticket used, returned, listing withdrawn) raises
  ``ResaleNoLongerPossible``: the sale rolls back whole and the buyer's payment is refunded.

Money: the buyer's order books its own charge (the resale price); the seller's order books
−face value and +(face value − payout) as fee, and the provider gives back the payout, so
each order's ledger still sums to what its provider holds. The payout is price − fee, at
most the face value (a refund cannot exceed the original payment; above it the rest is
kept as fee).

Locks: reserve: listing (conditional UPDATE) → buyer's account → new order → payment.
Payment: payment → buyer's order → listing → seller's order → place → buyer's account →
[tickets issued] → seller's ticket → attendance → seller's lines → refunds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from tessera.aftersales.selectors import entered_ticket_ids
from tessera.catalog.models import Event, Session, SessionStatus
from tessera.checkin.models import Presence
from tessera.checkin.services import lock_attendance
from tessera.core import audit, locks
from tessera.core.money import round_money
from tessera.inventory import selectors as inventory_selectors
from tessera.inventory import services as inventory
from tessera.inventory.errors import LimitExceeded, PlacesNotSold, account_limit_reached
from tessera.notifications.models import Kind
from tessera.notifications.services import notify
from tessera.orders import services as orders
from tessera.orders.models import LineStatus, Order
from tessera.payments import services as payments
from tessera.payments.models import Payment, PaymentStatus
from tessera.resale.errors import (
    AlreadyListed,
    ListingNotFound,
    ListingNotWithdrawable,
    ListingUnavailable,
    OwnListing,
    PriceAboveCap,
    PriceInvalid,
    ResaleClosed,
    ResaleNoLongerPossible,
    ResaleNotAllowed,
    TicketNotFound,
    TicketNotResellable,
)
from tessera.resale.models import Listing, ListingStatus, ResalePolicy, WithdrawReason
from tessera.tickets import services as tickets
from tessera.tickets.models import Ticket, TicketStatus

PRICE_MAX = Decimal("9999999.99")
HUNDRED = Decimal(100)


# -- policies -----------------------------------------------------------------------------------


def policy_for(session: Session) -> ResalePolicy:
    """The session's own policy, else its event's, else the default (resale not allowed)."""
    found = {
        p.session_id: p
        for p in ResalePolicy.objects.filter(event_id=session.event_id).filter(
            Q(session__isnull=True) | Q(session_id=session.pk)
        )
    }
    return found.get(session.pk) or found.get(None) or ResalePolicy(event_id=session.event_id)


def _percent(value, *, field: str, maximum: Decimal) -> Decimal:
    try:
        parsed = Decimal(str(value)) if not isinstance(value, bool | float) else None
    except (InvalidOperation, ValueError):
        parsed = None
    if parsed is None or not parsed.is_finite() or not Decimal(0) <= parsed <= maximum:
        raise PriceInvalid(
            _("%(field)s must be a percentage between 0 and %(max)s.")
            % {"field": field, "max": maximum},
            details={field: "0.." + str(maximum)},
        )
    return parsed.quantize(Decimal("0.01"))


def set_resale_policy(
    *,
    event: Event,
    session: Session | None = None,
    actor,
    now: datetime,
    is_allowed: bool,
    price_cap_percent=Decimal("0"),
    fee_percent=Decimal("0"),
    close_minutes_before: int = 120,
) -> ResalePolicy:
    """Create or change the resale policy of an event (or of one of its sessions).
    Raises PriceInvalid for a percentage out of range."""
    cap = _percent(price_cap_percent, field="price_cap_percent", maximum=HUNDRED)
    fee = _percent(fee_percent, field="fee_percent", maximum=Decimal(50))
    if (
        isinstance(close_minutes_before, bool)
        or not isinstance(close_minutes_before, int)
        or not 0 <= close_minutes_before <= 60 * 24 * 30
    ):
        raise PriceInvalid(details={"close_minutes_before": "0..43200"})
    if session is not None and session.event_id != event.pk:
        raise ResaleNotAllowed(details={"session": "not of this event"})
    with transaction.atomic():
        policy, _created = ResalePolicy.objects.update_or_create(
            event=event,
            session=session,
            defaults={
                "is_allowed": bool(is_allowed),
                "price_cap_percent": cap,
                "fee_percent": fee,
                "close_minutes_before": close_minutes_before,
                "updated_at": now,
            },
        )
        audit.record(
            action="resale.policy_set",
            obj=policy,
            actor=actor,
            organization_id=event.organization_id,
            now=now,
            data={
                "session": session.pk if session else None,
                "allowed": bool(is_allowed),
                "cap": str(cap),
                "fee": str(fee),
                "close_minutes_before": close_minutes_before,
            },
        )
    return policy


# -- quotes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResaleTerms:
    face_value: Decimal
    max_price: Decimal
    fee_percent: Decimal
    currency: str
    closes_at: datetime

    def fee_for(self, price: Decimal) -> Decimal:
        return round_money(price * self.fee_percent / HUNDRED, self.currency)

    def payout_for(self, price: Decimal) -> Decimal:
        return min(price - self.fee_for(price), self.face_value)


def terms_for(ticket: Ticket) -> ResaleTerms:
    line = ticket.order_line
    session = ticket.session
    policy = policy_for(session)
    face = line.price
    return ResaleTerms(
        face_value=face,
        max_price=round_money(face * (HUNDRED + policy.price_cap_percent) / HUNDRED, line.currency),
        fee_percent=policy.fee_percent,
        currency=line.currency,
        closes_at=session.starts_at - timedelta(minutes=policy.close_minutes_before),
    )


def parse_price(value) -> Decimal:
    """A price typed or sent by a seller: a decimal string or integer, positive, at most two
    decimals, at most ``PRICE_MAX``. Raises PriceInvalid."""
    if isinstance(value, bool | float) or not isinstance(value, str | int | Decimal):
        raise PriceInvalid(details={"price": "a decimal string"})
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and (not text or len(text) > 20 or "\x00" in text):
        raise PriceInvalid(details={"price": "a decimal string"})
    try:
        price = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise PriceInvalid(details={"price": "a decimal string"}) from exc
    if not price.is_finite() or price <= 0 or price > PRICE_MAX:
        raise PriceInvalid(details={"price": f"0.01..{PRICE_MAX}"})
    if price != price.quantize(Decimal("0.01")):
        raise PriceInvalid(details={"price": "at most two decimals"})
    return price.quantize(Decimal("0.01"))


# -- what is live ------------------------------------------------------------------------------


def live_listings(*, now: datetime, session_id: int | None = None):
    """Listings a buyer may take now: listed, not closed, the session scheduled and not
    started, the seller's ticket valid and unused and its line active (checked at read, so
    correctness never waits for ``withdraw_stale_listings``)."""
    found = Listing.objects.filter(
        status=ListingStatus.LISTED,
        closes_at__gt=now,
        session__status=SessionStatus.SCHEDULED,
        session__starts_at__gt=now,
        ticket__status=TicketStatus.VALID,
        line__status=LineStatus.ACTIVE,
    ).exclude(Exists(Presence.objects.filter(ticket_id=OuterRef("ticket_id"), entries__gt=0)))
    if session_id is not None:
        found = found.filter(session_id=session_id)
    return found


def _owned_ticket(*, ticket_public_id, user) -> Ticket:
    ticket = (
        Ticket.objects.select_related("order_line__order", "session__event")
        .filter(public_id=ticket_public_id)
        .first()
        if ticket_public_id
        else None
    )
    if ticket is None or not ticket.is_held_by(user):
        raise TicketNotFound()
    return ticket


def _check_resellable(ticket: Ticket, user, *, now: datetime) -> None:
    order = ticket.order_line.order
    session = ticket.session
    if not policy_for(session).is_allowed or session.real_name_required:
        raise ResaleNotAllowed()
    if session.status != SessionStatus.SCHEDULED or now >= terms_for(ticket).closes_at:
        raise ResaleClosed()
    if (
        order.user_id != user.pk
        or ticket.holder_id not in (None, user.pk)
        or order.channel_id is not None
        or order.status not in orders.REFUNDABLE_ORDER_STATES
        or ticket.status != TicketStatus.VALID
        or ticket.order_line.status != LineStatus.ACTIVE
        or entered_ticket_ids([ticket.pk])
    ):
        raise TicketNotResellable()
    # what a ticket given back must pass (in transfer, a pass's ticket…), but this app's
    # own guard: a listed ticket is answered by AlreadyListed
    for path in settings.TICKET_RETURN_GUARDS:
        if path != "tessera.resale.guards.refuse_listed_tickets":
            import_string(path)(ticket_ids=[ticket.pk], now=now)


# -- seller ------------------------------------------------------------------------------------


def list_ticket(*, ticket_public_id, user, price, now: datetime) -> Listing:
    """The holder lists their ticket at ``price`` (at most face value × (1 + cap), checked
    here). Raises TicketNotFound (not theirs), ResaleNotAllowed, ResaleClosed,
    TicketNotResellable, TicketInTransfer, AlreadyListed, PriceInvalid, PriceAboveCap."""
    price = parse_price(price)
    ticket = _owned_ticket(ticket_public_id=ticket_public_id, user=user)
    try:
        with transaction.atomic():
            locks.lock_rows(Order.objects).get(pk=ticket.order_line.order_id)
            ticket = Ticket.objects.select_related("order_line__order", "session__event").get(
                pk=ticket.pk
            )
            _check_resellable(ticket, user, now=now)
            terms = terms_for(ticket)
            if price > terms.max_price:
                raise PriceAboveCap(
                    _("The price may be at most %(max)s %(currency)s for this ticket.")
                    % {"max": terms.max_price, "currency": terms.currency},
                    details={"max_price": str(terms.max_price)},
                )
            if Listing.objects.filter(ticket=ticket, status=ListingStatus.LISTED).exists():
                raise AlreadyListed()
            listing = Listing.objects.create(
                ticket=ticket,
                line=ticket.order_line,
                session=ticket.session,
                seller=user,
                face_value=terms.face_value,
                price=price,
                fee=terms.fee_for(price),
                payout=terms.payout_for(price),
                currency=terms.currency,
                created_at=now,
                closes_at=terms.closes_at,
            )
            audit.record(
                action="resale.listed",
                obj=listing,
                actor=user,
                organization_id=ticket.session.event.organization_id,
                now=now,
                data={"ticket": ticket.pk, "price": str(price), "max": str(terms.max_price)},
            )
    except IntegrityError as exc:  # a parallel listing of the same ticket won
        raise AlreadyListed() from exc
    return listing


def _withdraw(listing_id, *, reason: str, now: datetime, actor=None, only_free: bool) -> bool:
    """One conditional UPDATE: listed (and, with ``only_free``, not reserved) → withdrawn."""
    found = Listing.objects.filter(pk=listing_id, status=ListingStatus.LISTED)
    if only_free:
        found = found.filter(Q(reserved_until__isnull=True) | Q(reserved_until__lte=now))
    changed = found.update(status=ListingStatus.WITHDRAWN, withdraw_reason=reason, closed_at=now)
    if changed:
        audit.record(
            action="resale.withdrawn",
            obj=Listing(pk=listing_id),
            actor=actor,
            now=now,
            data={"reason": reason},
        )
    return bool(changed)


def withdraw_listing(*, listing_id, user, now: datetime, by_organizer: bool = False) -> Listing:
    """The seller (or the organizer, ``by_organizer``) withdraws a listing that no buyer is
    paying for. Raises ListingNotFound, ListingNotWithdrawable."""
    found = Listing.objects.filter(pk=listing_id)
    if not by_organizer:
        found = found.filter(seller=user)
    listing = found.first()
    if listing is None:
        raise ListingNotFound()
    with transaction.atomic():
        if not _withdraw(
            listing.pk,
            reason=WithdrawReason.ORGANIZER if by_organizer else WithdrawReason.SELLER,
            now=now,
            actor=user,
            only_free=True,
        ):
            raise ListingNotWithdrawable()
    return Listing.objects.get(pk=listing.pk)


# -- buyer -------------------------------------------------------------------------------------


def reserve_listing(*, listing_id, user, now: datetime, provider: str = "sandbox") -> Payment:
    """The buyer takes a live listing for the session's hold minutes (one buyer at a time:
    a conditional UPDATE) and gets an order of its place at the resale price with a payment
    to make at ``provider``. Asking again while the reservation lasts answers the same
    payment. Raises ListingNotFound, ListingUnavailable, OwnListing, LimitExceeded (the
    session's per-account limit), and what ``payments.open_payment`` raises."""
    listing = Listing.objects.select_related("session").filter(pk=listing_id).first()
    if listing is None:
        raise ListingNotFound()
    if listing.seller_id == user.pk:
        raise OwnListing()
    if listing.buyer_id == user.pk and listing.is_reserved_at(now) and listing.buyer_order_id:
        existing = (
            Payment.objects.filter(order_id=listing.buyer_order_id, status=PaymentStatus.CREATED)
            .order_by("-created_at")
            .first()
        )
        if existing is not None:
            return existing
    session = listing.session
    if not policy_for(session).is_allowed:
        raise ResaleNotAllowed()
    until = min(now + timedelta(minutes=session.hold_minutes), session.starts_at)
    if not live_listings(now=now).filter(pk=listing.pk).exists():
        raise ListingUnavailable()
    with transaction.atomic():
        # Only the row's own columns in the WHERE: PostgreSQL re-checks them on the row a
        # parallel buyer committed, so exactly one of them takes it.
        taken = (
            Listing.objects.filter(pk=listing.pk, status=ListingStatus.LISTED)
            .filter(Q(reserved_until__isnull=True) | Q(reserved_until__lte=now))
            .update(buyer=user, reserved_until=until)
        )
        if not taken:
            raise ListingUnavailable()
        locks.lock_account(session_id=session.pk, user_id=user.pk)
        already = inventory_selectors.count_account_units(session=session, user=user, now=now)
        reserved = (
            Listing.objects.filter(
                session=session, buyer=user, status=ListingStatus.LISTED, reserved_until__gt=now
            )
            .exclude(pk=listing.pk)
            .count()
        )
        if already + reserved + 1 > session.max_tickets_per_account:
            raise account_limit_reached(
                limit=session.max_tickets_per_account, already=already + reserved, requested=1
            )
        listing = Listing.objects.select_related("line__order__session__event").get(pk=listing.pk)
        order = orders.place_resale_order(
            user=user, source_line=listing.line, price=listing.price, expires_at=until, now=now
        )
        Listing.objects.filter(pk=listing.pk).update(buyer_order=order)
        audit.record(
            action="resale.reserved",
            obj=listing,
            actor=user,
            organization_id=listing.line.order.session.event.organization_id,
            now=now,
            data={"order": order.number, "until": until.isoformat()},
        )
        payment = payments.open_payment(order=order, provider=provider, user=user, now=now)
    return payment


def hand_over_resold_place(*, order: Order, now: datetime) -> bool:
    """``settings.SOLD_PLACE_HANDOVERS``: when ``order`` is a resale buyer's order, move its
    place from the seller's line to the order's line (in the payment's transaction). False
    for any other order. Raises ResaleNoLongerPossible (the payment is refunded) when the
    listing is no longer reserved for this order, the place no longer the seller's or the
    buyer already has as many places as allowed."""
    listing = locks.lock_rows(Listing.objects).filter(buyer_order_id=order.pk).first()
    if listing is None:
        return False
    session = Session.objects.get(pk=listing.session_id)
    if (
        listing.status != ListingStatus.LISTED
        or session.status != SessionStatus.SCHEDULED
        or session.starts_at <= now
    ):
        raise ResaleNoLongerPossible(details={"listing": str(listing.pk)})
    locks.lock_rows(Order.objects).get(pk=listing.line.order_id)
    line = order.lines.get()
    try:
        inventory.hand_over_sold_place(
            unit_id=listing.line.unit_id,
            from_line_id=listing.line_id,
            to_line_id=line.pk,
            user=order.user,
            now=now,
        )
    except (PlacesNotSold, LimitExceeded) as exc:
        raise ResaleNoLongerPossible(
            details={"listing": str(listing.pk), "reason": getattr(exc, "code", "")}
        ) from exc
    return True


def complete_resale(*, order: Order, payment, now: datetime) -> None:
    """``settings.ORDER_PAID_HOOKS``: the buyer's ticket is issued; revoke the seller's, give
    the seller's line back with the payout refunded and mark the listing sold."""
    from tessera.aftersales.services import refund_money

    listing = Listing.objects.select_for_update().filter(buyer_order_id=order.pk).first()
    if listing is None:
        return
    seller_order = locks.lock_rows(Order.objects.select_related("session__event")).get(
        pk=listing.line.order_id
    )
    ticket = locks.lock_rows(Ticket.objects).get(pk=listing.ticket_id)
    attendance = lock_attendance(session_id=listing.session_id, ticket_ids=[ticket.pk])
    if ticket.status != TicketStatus.VALID or any(p.entries for p in attendance.values()):
        raise ResaleNoLongerPossible(details={"listing": str(listing.pk), "ticket": "used"})
    tickets.revoke_ticket(ticket=ticket, reason="resale", now=now)
    reference = f"resale:{listing.pk.hex}"
    reason = _("Resale of ticket %(ticket)s to order %(order)s") % {
        "ticket": ticket.number,
        "order": order.number,
    }
    line = listing.line
    try:
        orders.refund_lines(
            order=seller_order,
            fees={line.pk: line.price - listing.payout},
            reference=reference,
            reason=reason,
            now=now,
        )
        if listing.payout > 0:
            refund_money(
                seller_order, amount=listing.payout, tag=listing.pk.hex, reason=reason, now=now
            )
    except (orders.LinesNotRefundable, payments.NotEnoughToRefund) as exc:
        raise ResaleNoLongerPossible(details={"listing": str(listing.pk)}) from exc
    Listing.objects.filter(pk=listing.pk).update(
        status=ListingStatus.SOLD, buyer=order.user, closed_at=now
    )
    # The seller hears of it as the refund it is: the payout goes back the way they paid and
    # the resold ticket no longer admits.
    notify(
        seller_order.user,
        Kind.REFUND_APPROVED,
        {"order_number": seller_order.number, "amount": f"{listing.payout} {listing.currency}"},
        key=f"resale_sold:{listing.pk}",
        now=now,
    )
    audit.record(
        action="resale.sold",
        obj=listing,
        organization_id=seller_order.session.event.organization_id,
        now=now,
        data={
            "order": order.number,
            "seller_order": seller_order.number,
            "price": str(listing.price),
            "fee": str(listing.fee),
            "payout": str(listing.payout),
        },
    )


# -- housekeeping ------------------------------------------------------------------------------


def withdraw_stale_listings(*, now: datetime, batch_size: int = 500) -> int:
    """Withdraw listings that can no longer sell (``PERIODIC_TASKS``): the ticket used at the
    gate, refunded, exchanged or given away; the session cancelled or about to start
    (listings close ``close_minutes_before``). A listing a buyer is paying for is left to
    its payment, except when its ticket was used or returned. Returns how many."""
    listed = Listing.objects.filter(status=ListingStatus.LISTED)
    live = live_listings(now=now).values("pk")
    stale = list(
        listed.exclude(pk__in=live)
        .select_related("ticket", "line", "session")
        .order_by("closes_at")[:batch_size]
    )
    entered = entered_ticket_ids([item.ticket_id for item in stale])
    done = 0
    for item in stale:
        if item.ticket_id in entered:
            reason, only_free = WithdrawReason.USED, False
        elif item.ticket.status != TicketStatus.VALID or item.line.status != LineStatus.ACTIVE:
            reason, only_free = WithdrawReason.RETURNED, False
        elif item.session.status != SessionStatus.SCHEDULED:
            reason, only_free = WithdrawReason.SESSION, False
        else:
            reason, only_free = WithdrawReason.CLOSED, True
        with transaction.atomic():
            done += _withdraw(item.pk, reason=reason, now=now, only_free=only_free)
    return done


def shown_status(listing: Listing, now: datetime) -> str:
    """The listing's status as its seller reads it: listed, reserved (a buyer is paying),
    sold, withdrawn — a listing that can no longer sell reads as withdrawn at once."""
    if listing.status != ListingStatus.LISTED:
        return listing.status
    if not live_listings(now=now).filter(pk=listing.pk).exists():
        return ListingStatus.WITHDRAWN
    return "reserved" if listing.is_reserved_at(now) else ListingStatus.LISTED
