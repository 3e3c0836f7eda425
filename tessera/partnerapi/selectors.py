"""Reads of the distributor API, every one scoped by the caller's sales channel.

A channel *may sell* a session when the session is public (published event, not cancelled),
on sale now, and has places for the channel: places allocated to it (``InventoryUnit.channel``)
or, when the channel sells the open pool (``SalesChannel.sells_open_pool``), places of the
open pool (channel NULL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from tessera.catalog.models import Event, PriceZone, Session, SessionStatus
from tessera.catalog.selectors import public_sessions
from tessera.core.errors import InvalidInput
from tessera.core.models import IdempotencyRecord
from tessera.inventory.models import InventoryUnit, ReturnQueue, SalesChannel
from tessera.inventory.selectors import availability_by_zone, holdable
from tessera.orders.models import Order
from tessera.partnerapi.errors import (
    ChannelOrderNotFound,
    ChannelTicketNotFound,
    EventNotSellable,
    SessionNotSellable,
)
from tessera.sale.channels import SCOPE as ORDER_SCOPE
from tessera.tickets.models import Ticket

MAX_ORDER_NUMBER = 40


def sells_open_pool(channel: SalesChannel) -> bool:
    return bool(channel.sells_open_pool)


def get_channel(principal) -> SalesChannel:
    """The caller's channel (its key was checked: the channel exists and is active)."""
    return SalesChannel.objects.select_related("organization").get(pk=principal.channel_id)


def channel_units(channel: SalesChannel) -> Q:
    """Places the channel may sell: its own and, if it sells the open pool, the pool's."""
    q = Q(channel=channel)
    if sells_open_pool(channel):
        q |= Q(channel__isnull=True)
    return q


def sellable_sessions(*, channel: SalesChannel, now: datetime) -> QuerySet[Session]:
    """Sessions the channel may sell now, soonest first, with zones and venue loaded: a
    sandbox channel (its organization a sandbox world, tessera.apikeys) sees only that
    world's sessions, a live channel none of them."""
    sandbox = bool(channel.organization.is_sandbox)
    places = InventoryUnit.objects.filter(channel_units(channel), session=OuterRef("pk"))
    on_sale = (
        Q(status=SessionStatus.SCHEDULED)
        & (Q(on_sale_from__isnull=True) | Q(on_sale_from__lte=now))
        & (Q(on_sale_until__isnull=True) | Q(on_sale_until__gt=now))
    )
    return (
        public_sessions(include_sandbox=sandbox)
        .filter(event__organization__is_sandbox=sandbox)
        .filter(on_sale)
        .filter(Exists(places))
        .prefetch_related(Prefetch("price_zones", PriceZone.objects.order_by("sort_order", "pk")))
        .order_by("starts_at", "pk")
    )


def sellable_events(*, channel: SalesChannel, now: datetime) -> QuerySet[Event]:
    """Events with at least one session the channel may sell; each has ``sellable`` (its
    sellable sessions). Ordered by id."""
    sessions = sellable_sessions(channel=channel, now=now)
    return (
        Event.objects.filter(pk__in=sessions.values("event_id"))
        .select_related("organization")
        .prefetch_related(Prefetch("sessions", queryset=sessions, to_attr="sellable"))
        .order_by("pk")
    )


def get_sellable_event(*, channel: SalesChannel, event_id: int, now: datetime) -> Event:
    event = sellable_events(channel=channel, now=now).filter(pk=event_id).first()
    if event is None:
        raise EventNotSellable()
    return event


def get_sellable_session(*, channel: SalesChannel, session_id: int, now: datetime) -> Session:
    """The session, if the channel may sell it; SessionNotSellable (404) otherwise."""
    session = sellable_sessions(channel=channel, now=now).filter(pk=session_id).first()
    if session is None:
        raise SessionNotSellable()
    return session


@dataclass(frozen=True)
class ZoneAvailability:
    zone: PriceZone
    allocated: int  # places allocated to the channel, whatever their state
    allocated_free: int  # of those, free now
    open_pool_free: int  # free places of the open pool (0 when the channel may not sell it)

    @property
    def sellable(self) -> int:
        return self.allocated_free + self.open_pool_free


def zone_availability(
    *, channel: SalesChannel, session: Session, now: datetime
) -> list[ZoneAvailability]:
    """Per price zone of the session (in their order): the channel's allocation and what is
    free in it and in the open pool."""
    pool = (
        availability_by_zone(session=session, now=now, channel=None)
        if sells_open_pool(channel)
        else {}
    )
    own = InventoryUnit.objects.filter(session=session, channel=channel).order_by()
    allocated = dict(own.values("zone_id").annotate(n=Count("id")).values_list("zone_id", "n"))
    free = dict(
        own.filter(holdable(now))
        .values("zone_id")
        .annotate(n=Count("id"))
        .values_list("zone_id", "n")
    )
    return [
        ZoneAvailability(
            zone=zone,
            allocated=allocated.get(zone.pk, 0),
            allocated_free=free.get(zone.pk, 0),
            open_pool_free=pool.get(zone.pk, 0),
        )
        for zone in session.price_zones.all()
    ]


@dataclass(frozen=True)
class QuotedPlace:
    zone: PriceZone
    price: Decimal
    seat_id: int | None = None
    unit_id: int | None = None


@dataclass(frozen=True)
class Quote:
    places: list[QuotedPlace]
    currency: str
    reason: str  # why an order would fail now ("" when it would succeed)

    @property
    def total(self) -> Decimal:
        return sum((place.price for place in self.places), Decimal(0))


def quote_places(
    *,
    channel: SalesChannel,
    session: Session,
    zone_id: int | None,
    quantity: int | None,
    seat_ids: list[int] | None,
    now: datetime,
) -> Quote:
    """The price of ``quantity`` places of a zone, or of the places of ``seat_ids``, and
    whether the channel could order them now (``reason``: sold_out, seats_taken,
    over_order_limit, real_name_required). Reads only. Raises InvalidInput for a zone or
    seats that are not the session's."""
    reason = ""
    if seat_ids is not None:
        units = seat_units(session=session, seat_ids=seat_ids)
        unknown = [s for s in seat_ids if s not in units]
        if unknown or len(set(seat_ids)) != len(seat_ids):
            raise InvalidInput(
                _("These seats are not places of this session."),
                details={"seat_ids": unknown or "duplicates"},
            )
        places = [
            QuotedPlace(units[s].zone, units[s].zone.price, seat_id=s, unit_id=units[s].pk)
            for s in seat_ids
        ]
        queued = ReturnQueue.objects.filter(session=session).exists()
        if not all(
            is_free_for(units[s], channel=channel, now=now, returns_queued=queued) for s in seat_ids
        ):
            reason = "seats_taken"
    else:
        zone = next((z for z in session.price_zones.all() if z.pk == zone_id), None)
        if zone is None or not quantity:
            raise InvalidInput(
                _("This price zone is not one of this session's."), details={"zone": zone_id}
            )
        places = [QuotedPlace(zone, zone.price) for _n in range(quantity)]
        free = {
            z.zone.pk: z.sellable
            for z in zone_availability(channel=channel, session=session, now=now)
        }
        if free.get(zone.pk, 0) < quantity:
            reason = "sold_out"
    if len(places) > session.max_tickets_per_order:
        reason = "over_order_limit"
    if session.real_name_required:  # sold on fans' own checkout only (sale.channels)
        reason = "real_name_required"
    return Quote(places=places, currency=places[0].zone.currency, reason=reason)


def seat_units(*, session: Session, seat_ids: list[int]) -> dict[int, InventoryUnit]:
    """Seat id → the session's place of that seat (unknown seats are missing)."""
    units = InventoryUnit.objects.filter(session=session, seat_id__in=seat_ids).select_related(
        "zone"
    )
    return {unit.seat_id: unit for unit in units}


def is_free_for(
    unit: InventoryUnit, *, channel: SalesChannel, now: datetime, returns_queued: bool = False
) -> bool:
    """Whether a hold by the channel would take this place now (``returns_queued``: the
    session's returned places go to its waiting list first, so an expired hold's are not)."""
    mine = sells_open_pool(channel) if unit.channel_id is None else unit.channel_id == channel.pk
    if not mine:
        return False
    if unit.status == "available":
        return True
    return (
        not returns_queued
        and unit.status == "held"
        and unit.hold_expires_at is not None
        and unit.hold_expires_at < now
    )


# -- orders and tickets ------------------------------------------------------------------------


def is_answered_order_key(*, principal, key: str | None) -> bool:
    """Whether the channel already placed an order with this ``Idempotency-Key``."""
    if not key:
        return False
    return IdempotencyRecord.objects.filter(
        user_id=principal.account_id, scope=ORDER_SCOPE, key=key
    ).exists()


def channel_orders(*, channel_id: int) -> QuerySet[Order]:
    """The channel's orders, newest first."""
    return Order.objects.filter(channel_id=channel_id).order_by("-created_at", "-pk")


def get_channel_order(*, channel_id: int, number: str) -> Order:
    """The channel's order with this number; ChannelOrderNotFound for any other."""
    if not isinstance(number, str) or not number or len(number) > MAX_ORDER_NUMBER:
        raise ChannelOrderNotFound()
    order = (
        Order.objects.filter(channel_id=channel_id, number=number)
        .select_related("session__event", "session__layout__venue")
        .first()
    )
    if order is None:
        raise ChannelOrderNotFound()
    return order


def _tickets():
    return Ticket.objects.select_related(
        "order_line__order", "session__event", "session__layout__venue"
    )


def channel_order_tickets(order: Order) -> list[Ticket]:
    """The order's tickets in the order of its lines."""
    return list(_tickets().filter(order_line__order=order).order_by("order_line_id"))


def is_static_credential_allowed(ticket: Ticket) -> bool:
    """Whether the session's gates take the ticket's static code (a PDF or a saved QR
    image), or only the live rotating one (``checkin`` settings of the session)."""
    from tessera.checkin.services import settings_for

    rules = settings_for(ticket.session)
    return rules.is_static_credential_allowed or not rules.uses_rotating_codes


def get_channel_ticket(*, channel_id: int, ticket_id: int) -> Ticket:
    """A ticket of the channel's orders; ChannelTicketNotFound for any other."""
    ticket = _tickets().filter(pk=ticket_id, order_line__order__channel_id=channel_id).first()
    if ticket is None:
        raise ChannelTicketNotFound()
    return ticket
