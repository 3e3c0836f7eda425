"""Everything that writes the waiting list (the package docstring has the design and the
lock order). Entry points are keyword-only, take ``now`` and run in one transaction (the
hook runs in its caller's) with an audit entry."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.urls import reverse

from tessera.catalog.models import EventStatus, PriceZone, Session
from tessera.core import audit, locks
from tessera.core.errors import DomainError, InvalidInput
from tessera.inventory import selectors as inventory_selectors
from tessera.inventory import services as inventory
from tessera.inventory.models import HoldStatus
from tessera.notifications.models import Kind
from tessera.notifications.services import notify
from tessera.waitlist.errors import (
    AlreadyWaiting,
    EntryNotFound,
    PlacesStillOnSale,
    QuantityNotAllowed,
    WaitlistClosed,
    ZoneNotFound,
)
from tessera.waitlist.guards import offering
from tessera.waitlist.models import (
    EntryStatus,
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
)

MAX_PRICE = Decimal("9999999999.99")


def offer_minutes() -> int:
    return int(getattr(settings, "WAITLIST_OFFER_MINUTES", 15))


def _lock_list(session_id: int) -> None:
    locks.lock_name(f"waitlist:{session_id}")


def is_open(session: Session, now: datetime) -> bool:
    """Whether the session's list takes fans and offers places: published, on sale, not
    started."""
    return (
        session.event.status == EventStatus.PUBLISHED
        and session.is_on_sale(now)
        and session.starts_at > now
    )


def quantity_limit(*, session: Session, user, now: datetime) -> int:
    """Places the fan may still wait for: the per-order limit, and the per-account limit
    less the places they already hold or bought."""
    owned = inventory_selectors.count_account_units(session=session, user=user, now=now)
    return max(0, min(session.max_tickets_per_order, session.max_tickets_per_account - owned))


def eligible_zones(*, session_id: int, zone_id: int | None, max_price) -> list[PriceZone]:
    """The zones an entry accepts, best first (the zones' order)."""
    zones = PriceZone.objects.filter(session_id=session_id).order_by("sort_order", "-price", "id")
    if zone_id is not None:
        return [z for z in zones if z.pk == zone_id]
    if max_price is not None:
        return [z for z in zones if z.price <= max_price]
    return list(zones)


def _parse_quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        try:
            quantity = int(str(quantity).strip())
        except (TypeError, ValueError) as exc:
            raise InvalidInput(details={"quantity": "a positive whole number required"}) from exc
    if quantity < 1:
        raise InvalidInput(details={"quantity": "a positive whole number required"})
    return quantity


def _parse_price(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        price = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(details={"max_price": "a price required"}) from exc
    if not price.is_finite() or price <= 0 or price > MAX_PRICE:
        raise InvalidInput(details={"max_price": "a positive price required"})
    return price.quantize(Decimal("0.01"))


def join_waitlist(
    *,
    session: Session,
    user,
    quantity,
    now: datetime,
    zone_id: int | None = None,
    max_price=None,
) -> WaitlistEntry:
    """Put the fan on the session's waiting list for ``quantity`` places of ``zone_id``, or
    of any zone priced at most ``max_price`` (neither: any zone).

    Raises WaitlistClosed (not on sale), ZoneNotFound, InvalidInput (quantity, price),
    QuantityNotAllowed (over the per-order limit or what the account may still buy),
    PlacesStillOnSale (enough such places are free now) or AlreadyWaiting.
    """
    if not is_open(session, now):
        raise WaitlistClosed()
    quantity = _parse_quantity(quantity)
    price = _parse_price(max_price)
    if zone_id is not None and (
        isinstance(zone_id, bool)
        or not PriceZone.objects.filter(pk=zone_id, session=session).exists()
    ):
        raise ZoneNotFound()
    zones = eligible_zones(session_id=session.pk, zone_id=zone_id, max_price=price)
    if not zones:
        raise ZoneNotFound()
    with transaction.atomic():
        _lock_list(session.pk)
        locks.lock_account(session_id=session.pk, user_id=user.pk)
        limit = quantity_limit(session=session, user=user, now=now)
        if quantity > limit:
            raise QuantityNotAllowed(
                QuantityNotAllowed.default_message % {"limit": limit},
                details={"limit": limit, "requested": quantity},
            )
        if WaitlistEntry.objects.filter(
            session=session, user=user, status__in=[EntryStatus.WAITING, EntryStatus.OFFERED]
        ).exists():
            raise AlreadyWaiting()
        free = inventory_selectors.availability_by_zone(session=session, now=now)
        if any(free.get(z.pk, 0) >= quantity for z in zones):
            raise PlacesStillOnSale()
        try:
            with transaction.atomic():
                entry = WaitlistEntry.objects.create(
                    session=session,
                    user=user,
                    zone_id=zone_id,
                    max_price=price if zone_id is None else None,
                    currency=zones[0].currency,
                    quantity=quantity,
                    created_at=now,
                )
        except IntegrityError as exc:  # the unique live entry (the lock makes this rare)
            raise AlreadyWaiting() from exc
        inventory.queue_returns(session_id=session.pk, now=now)
        audit.record(
            action="waitlist.joined",
            obj=entry,
            actor=user,
            organization_id=session.event.organization_id,
            now=now,
            data={"zone": zone_id, "max_price": str(price) if price else None, "places": quantity},
        )
    return entry


def leave_waitlist(*, entry: WaitlistEntry, user, now: datetime) -> WaitlistEntry:
    """Take the fan off the list; an offer not yet ordered is declined and its places go to
    the next fan (``release_hold`` calls the hook). Leaving twice changes nothing. Raises
    EntryNotFound (another account's entry)."""
    if entry.user_id != user.pk:
        raise EntryNotFound()
    with transaction.atomic():
        _lock_list(entry.session_id)
        locked = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.status not in (EntryStatus.WAITING, EntryStatus.OFFERED):
            return locked
        locked.status = EntryStatus.LEFT
        locked.closed_at = now
        locked.save(update_fields=["status", "closed_at"])
        offer = (
            WaitlistOffer.objects.select_for_update(of=("self",))
            .select_related("hold")
            .filter(entry=locked, status=OfferStatus.OPEN)
            .first()
        )
        if offer is not None and (offer.hold is None or offer.hold.status == HoldStatus.ACTIVE):
            _close_offer(offer, status=OfferStatus.DECLINED, now=now)
            if offer.hold is not None:
                inventory.release_hold(hold=offer.hold, user=None, now=now)
        audit.record(
            action="waitlist.left",
            obj=locked,
            actor=user,
            organization_id=locked.session.event.organization_id,
            now=now,
            data={"offer": offer.pk if offer else None},
        )
    return locked


def _close_offer(offer: WaitlistOffer, *, status: str, now: datetime) -> None:
    WaitlistOffer.objects.filter(pk=offer.pk, status=OfferStatus.OPEN).update(
        status=status, closed_at=now
    )
    offer.status, offer.closed_at = status, now


def offer_returned_places(*, session_id: int, now: datetime) -> list[WaitlistOffer]:
    """``settings.PLACES_RETURNED_HOOKS``: offer the session's free places to waiting fans
    in join order, in the caller's transaction (a savepoint of it; its own transaction when
    called alone). Each fan gets an offer only for their whole request from one zone; a fan
    whose request does not fit is passed over. Returns the offers made."""
    if not WaitlistEntry.objects.filter(session_id=session_id, status=EntryStatus.WAITING).exists():
        return []
    with transaction.atomic():
        _lock_list(session_id)
        session = Session.objects.select_related("event").get(pk=session_id)
        if not is_open(session, now):
            return []
        free = inventory_selectors.availability_by_zone(session=session, now=now)
        if not any(free.values()):
            return []
        zones = list(
            PriceZone.objects.filter(session=session).order_by("sort_order", "-price", "id")
        )
        made = []
        waiting = (
            WaitlistEntry.objects.filter(session=session, status=EntryStatus.WAITING)
            .select_related("user")
            .order_by("id")
        )
        for entry in waiting.iterator(chunk_size=200):
            zone = next(
                (
                    z
                    for z in zones
                    if free.get(z.pk, 0) >= entry.quantity
                    and (entry.zone_id is None or z.pk == entry.zone_id)
                    and (
                        entry.zone_id is not None
                        or entry.max_price is None
                        or z.price <= entry.max_price
                    )
                ),
                None,
            )
            if zone is None:
                continue
            offer = _make_offer(entry=entry, session=session, zone=zone, now=now)
            if offer is None:
                continue
            free[zone.pk] -= entry.quantity
            made.append(offer)
            if not any(n > 0 for n in free.values()):
                break
    return made


def _make_offer(
    *, entry: WaitlistEntry, session: Session, zone: PriceZone, now: datetime
) -> WaitlistOffer | None:
    """Hold ``entry.quantity`` places of ``zone`` for the fan and record the offer, in a
    savepoint: None (nothing written) when the hold is refused or a lock cannot be had."""
    expires_at = now + timedelta(minutes=offer_minutes())
    try:
        with transaction.atomic():
            with offering(session_id=session.pk, user_id=entry.user_id):
                hold = inventory.hold_quantity(
                    session=session,
                    user=entry.user,
                    zone=zone,
                    quantity=entry.quantity,
                    now=now,
                    expires_at=expires_at,
                )
            offer = WaitlistOffer.objects.create(
                entry=entry,
                session=session,
                user_id=entry.user_id,
                zone=zone,
                quantity=entry.quantity,
                hold=hold,
                created_at=now,
                expires_at=expires_at,
            )
            WaitlistEntry.objects.filter(pk=entry.pk).update(status=EntryStatus.OFFERED)
            notify(
                entry.user,
                Kind.WAITLIST_OFFER,
                {
                    "session": session.pk,
                    "until": expires_at.isoformat(),
                    "url": reverse("waitlist:offer", args=[offer.pk]),
                },
                key=f"waitlist_offer:{offer.pk}",
                now=now,
            )
            audit.record(
                action="waitlist.offered",
                obj=offer,
                actor=None,
                organization_id=session.event.organization_id,
                now=now,
                data={"entry": entry.pk, "zone": zone.pk, "places": entry.quantity},
            )
    except (DomainError, OperationalError):
        return None
    return offer


def settle_offer(*, offer: WaitlistOffer, now: datetime) -> WaitlistOffer:
    """Close an open offer whose fate is known: its places bought → converted; its hold
    released, or run out unclaimed with no order → expired (the hold is released, so the
    places go to the next fan). An offer whose order awaits payment stays open."""
    with transaction.atomic():
        _lock_list(offer.session_id)
        locked = (
            WaitlistOffer.objects.select_for_update(of=("self",))
            .select_related("hold", "session__event")
            .get(pk=offer.pk)
        )
        if locked.status != OfferStatus.OPEN:
            return locked
        hold = locked.hold
        if hold is not None and hold.status == HoldStatus.SOLD:
            status, entry_status = OfferStatus.CONVERTED, EntryStatus.CONVERTED
        elif (
            hold is None
            or hold.status == HoldStatus.RELEASED
            or (hold.status == HoldStatus.ACTIVE and hold.expires_at <= now)
        ):
            status, entry_status = OfferStatus.EXPIRED, EntryStatus.EXPIRED
        else:
            return locked
        _close_offer(locked, status=status, now=now)
        WaitlistEntry.objects.filter(pk=locked.entry_id, status=EntryStatus.OFFERED).update(
            status=entry_status, closed_at=now
        )
        if status == OfferStatus.EXPIRED and hold is not None and hold.status == HoldStatus.ACTIVE:
            inventory.release_hold(hold=hold, user=None, now=now)
        audit.record(
            action=f"waitlist.offer_{status}",
            obj=locked,
            actor=None,
            organization_id=locked.session.event.organization_id,
            now=now,
            data={"entry": locked.entry_id},
        )
    return locked


def settle_offers(*, now: datetime, limit: int = 500) -> int:
    """The periodic pass: settle open offers that are due (run out, bought or released),
    then offer places of sessions with waiting fans that came free without an event, and
    stop queueing the returned places of sessions nobody waits for any more
    (``inventory.ReturnQueue``: while fans wait, the public cannot take the places of an
    expired hold; ``tidy_expired_holds`` frees them and they are offered here first).
    Returns the number of offers closed."""
    due = list(
        WaitlistOffer.objects.filter(status=OfferStatus.OPEN)
        .exclude(hold__status__in=[HoldStatus.ACTIVE, HoldStatus.ORDERED], expires_at__gt=now)
        .order_by("expires_at", "id")[:limit]
    )
    closed = 0
    for offer in due:
        if settle_offer(offer=offer, now=now).status != OfferStatus.OPEN:
            closed += 1
    session_ids = (
        WaitlistEntry.objects.filter(status=EntryStatus.WAITING)
        .order_by()
        .values_list("session_id", flat=True)
        .distinct()
    )
    session_ids = list(session_ids)
    for session_id in session_ids:
        offer_returned_places(session_id=session_id, now=now)
    # a session nobody waits for any more lets the public take expired holds' places again
    # (and a session whose row a join raced with this pass gets it back)
    inventory.queue_returns_of(session_ids=session_ids, now=now)
    return closed
