"""The distributor API, ``/api/v1/partner/…`` (package docstring; guide in docs/partners.md).

Every operation authenticates the channel's API key (``Authorization: Bearer tsk_…``), then
checks the scope it names (403 ``scope_missing``), then reads only the key's channel's rows:
a session the channel may not sell, another channel's order or ticket answer 404.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Path, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import model_validator

from tessera.aftersales.models import RefundRequest
from tessera.catalog.selectors import policy_for
from tessera.core.clock import now as clock_now
from tessera.core.idempotency import IdempotencyKeyInvalid, idempotency_key, run_idempotent
from tessera.core.pagination import BoundedPagination
from tessera.core.schemas import MAX_ID, ErrorOut, Id, InputSchema
from tessera.partnerapi import selectors, services
from tessera.partnerapi.errors import StaticTicketNotAllowed, WebhookNotFound
from tessera.partners.scopes import (
    AVAILABILITY,
    CATALOG_READ,
    ORDERS,
    REFUNDS,
    WEBHOOKS,
    require_scope,
)
from tessera.sale.api import (
    ChannelKeyAuth,
    ChannelOrderIn,
    ChannelOrderOut,
    LineOut,
    as_json_time,
    channel_answer,
    run_channel_order,
)
from tessera.sale.choices import MAX_PLACES
from tessera.tickets import selectors as ticket_selectors
from tessera.tickets import services as ticket_services
from tessera.tickets.models import TicketStatus
from tessera.tickets.pdf import render_tickets_pdf
from tessera.tickets.qr import qr_svg_document

router = Router(tags=["partner"], auth=ChannelKeyAuth())

PREFIX = "/partner"

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
_WRITE_ERRORS = {**_ERRORS, 409: ErrorOut}

SessionId = Annotated[int, Path(..., ge=1, le=MAX_ID, description="Session id.")]
EventId = Annotated[int, Path(..., ge=1, le=MAX_ID, description="Event id.")]
TicketId = Annotated[int, Path(..., ge=1, le=MAX_ID, description="Ticket id.")]
OrderNumber = Annotated[
    str,
    Path(
        ...,
        min_length=1,
        max_length=selectors.MAX_ORDER_NUMBER,
        description="Order number, e.g. T261206-K7M3QX.",
    ),
]


def _error_example(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


_SCOPE_MISSING = _error_example(
    "scope_missing",
    "This API key does not have the permission this call needs.",
    {"scope": "orders"},
)


def _idempotency_header(example: str) -> dict:
    """The required ``Idempotency-Key`` header of a writing operation, for OpenAPI."""
    return {
        "in": "header",
        "name": "Idempotency-Key",
        "required": True,
        "schema": {"type": "string", "maxLength": 120},
        "example": example,
    }


def _docs(
    example: dict | list,
    *,
    status: int = 200,
    body: dict | None = None,
    errors: dict[int, dict] | None = None,
) -> dict:
    """OpenAPI examples: the answer for ``status``, the request body, and error answers."""
    responses = {status: {"content": {"application/json": {"example": example}}}}
    for code, error in {403: _SCOPE_MISSING, **(errors or {})}.items():
        responses[code] = {"content": {"application/json": {"example": error}}}
    extra: dict = {"responses": responses}
    if body is not None:
        extra["requestBody"] = {"content": {"application/json": {"example": body}}}
    return extra


def _channel(request, scope: str):
    """The caller's channel, once its key has ``scope`` (ScopeMissing otherwise)."""
    require_scope(request.auth, scope)
    return selectors.get_channel(request.auth)


def _money(value: Decimal) -> str:
    return str(value)


# -- catalog -------------------------------------------------------------------------------------


class PartnerVenueOut(Schema):
    id: int
    name: str
    name_en: str
    city: str


class PartnerZoneOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    price: str = Field(..., examples=["380.00"])
    currency: str = Field(..., examples=["CNY"])
    color: str

    @staticmethod
    def resolve_price(obj) -> str:
        return _money(obj.price)


class PartnerSessionOut(Schema):
    id: int
    event_id: int
    starts_at: datetime
    ends_at: datetime | None
    on_sale_until: datetime | None
    venue: PartnerVenueOut
    max_tickets_per_order: int
    real_name_required: bool = Field(
        ..., description="Real-name sessions are sold on fans' own checkout only."
    )
    zones: list[PartnerZoneOut]

    @staticmethod
    def resolve_venue(obj) -> dict:
        venue = obj.layout.venue
        return {
            "id": venue.pk,
            "name": venue.name,
            "name_en": venue.name_en,
            "city": venue.city.name,
        }

    @staticmethod
    def resolve_zones(obj) -> list:
        return list(obj.price_zones.all())


class PartnerRefundPolicyOut(Schema):
    is_refundable: bool
    refund_cutoff_hours: int = Field(..., description="Refunds close this many hours before.")
    refunds_need_review: bool = Field(..., description="Refunds wait for the organizer.")


class PartnerSessionDetailOut(PartnerSessionOut):
    event_name: str
    event_name_en: str
    refund_policy: PartnerRefundPolicyOut

    @staticmethod
    def resolve_event_name(obj) -> str:
        return obj.event.name

    @staticmethod
    def resolve_event_name_en(obj) -> str:
        return obj.event.name_en

    @staticmethod
    def resolve_refund_policy(obj) -> dict:
        policy = policy_for(obj)
        return {
            "is_refundable": policy.is_refundable,
            "refund_cutoff_hours": policy.refund_cutoff_hours,
            "refunds_need_review": policy.refunds_need_review,
        }


class PartnerEventOut(Schema):
    id: int
    kind: str
    name: str
    name_en: str
    organizer: str
    sessions: list[PartnerSessionOut] = Field(
        ..., description="Sessions this channel may sell now."
    )

    @staticmethod
    def resolve_organizer(obj) -> str:
        return obj.organization.name

    @staticmethod
    def resolve_sessions(obj) -> list:
        return obj.sellable


_SESSION_EXAMPLE = {
    "id": 42,
    "event_id": 7,
    "starts_at": "2026-12-20T11:30:00Z",
    "ends_at": "2026-12-20T14:00:00Z",
    "on_sale_until": None,
    "venue": {"id": 3, "name": "工人体育场", "name_en": "Workers' Stadium", "city": "北京"},
    "max_tickets_per_order": 6,
    "real_name_required": False,
    "zones": [
        {
            "id": 101,
            "code": "A",
            "name": "内场A区",
            "name_en": "Floor A",
            "price": "380.00",
            "currency": "CNY",
            "color": "#3b82f6",
        }
    ],
}
_EVENT_EXAMPLE = {
    "id": 7,
    "kind": "concert",
    "name": "冬日演唱会",
    "name_en": "Winter Concert",
    "organizer": "Live Nation China",
    "sessions": [_SESSION_EXAMPLE],
}
_SESSION_NOT_FOUND = _error_example("session_not_found", "No such session for this sales channel.")


@router.get(
    f"{PREFIX}/catalog",
    response={200: list[PartnerEventOut], **_ERRORS},
    summary="Catalog: the events this channel may sell",
    openapi_extra=_docs({"items": [_EVENT_EXAMPLE], "count": 1}),
)
@paginate(BoundedPagination)
def catalog(request):
    """Events with sessions on sale now for which this channel has places (its allocation,
    or the open pool when it sells the open pool), each with those sessions and their price
    zones; paged (``page``, ``page_size`` ≤ 100). Scope ``catalog:read``."""
    channel = _channel(request, CATALOG_READ)
    return selectors.sellable_events(channel=channel, now=clock_now())


@router.get(
    f"{PREFIX}/events/{{event_id}}",
    response={200: PartnerEventOut, **_ERRORS},
    summary="An event and its sessions this channel may sell",
    openapi_extra=_docs(
        _EVENT_EXAMPLE,
        errors={404: _error_example("event_not_found", "No such event for this sales channel.")},
    ),
)
def partner_get_event(request, event_id: EventId):
    """The event with the sessions this channel may sell now; 404 when it has none (an
    event the channel cannot sell is not revealed). Scope ``catalog:read``."""
    channel = _channel(request, CATALOG_READ)
    return selectors.get_sellable_event(channel=channel, event_id=event_id, now=clock_now())


@router.get(
    f"{PREFIX}/sessions/{{session_id}}",
    response={200: PartnerSessionDetailOut, **_ERRORS},
    summary="A session this channel may sell, with its price zones",
    openapi_extra=_docs(
        {
            **_SESSION_EXAMPLE,
            "event_name": "冬日演唱会",
            "event_name_en": "Winter Concert",
            "refund_policy": {
                "is_refundable": True,
                "refund_cutoff_hours": 24,
                "refunds_need_review": False,
            },
        },
        errors={404: _SESSION_NOT_FOUND},
    ),
)
def partner_get_session(request, session_id: SessionId):
    """The session, its venue, price zones, sale rules and refund policy. A session the
    channel cannot sell (not on sale, or no places for it) answers 404, not 403. Scope
    ``catalog:read``."""
    channel = _channel(request, CATALOG_READ)
    return selectors.get_sellable_session(channel=channel, session_id=session_id, now=clock_now())


# -- availability and quotes -------------------------------------------------------------------


class PartnerZoneAvailabilityOut(Schema):
    zone_id: int
    code: str
    name: str
    name_en: str
    price: str
    currency: str
    allocated: int = Field(..., description="Places allocated to this channel (any state).")
    allocated_free: int = Field(..., description="Of those, free now.")
    open_pool_free: int = Field(
        ..., description="Free places of the open pool (0 when the channel may not sell it)."
    )
    available: int = Field(..., description="What this channel can sell now: the sum.")


class PartnerAvailabilityOut(Schema):
    session_id: int
    as_of: datetime
    sells_open_pool: bool
    zones: list[PartnerZoneAvailabilityOut]


@router.get(
    f"{PREFIX}/sessions/{{session_id}}/availability",
    response={200: PartnerAvailabilityOut, **_ERRORS},
    summary="Free places per price zone, in this channel's allocation and the open pool",
    openapi_extra=_docs(
        {
            "session_id": 42,
            "as_of": "2026-12-06T09:00:00.000Z",
            "sells_open_pool": True,
            "zones": [
                {
                    "zone_id": 101,
                    "code": "A",
                    "name": "内场A区",
                    "name_en": "Floor A",
                    "price": "380.00",
                    "currency": "CNY",
                    "allocated": 50,
                    "allocated_free": 38,
                    "open_pool_free": 120,
                    "available": 158,
                }
            ],
        },
        errors={404: _SESSION_NOT_FOUND},
    ),
)
def get_availability(request, session_id: SessionId):
    """Per price zone: the places allocated to this channel, how many of them are free, and
    the free places of the open pool. Counts are read now; the order decides. Scope
    ``availability``."""
    channel = _channel(request, AVAILABILITY)
    now = clock_now()
    session = selectors.get_sellable_session(channel=channel, session_id=session_id, now=now)
    zones = selectors.zone_availability(channel=channel, session=session, now=now)
    return {
        "session_id": session.pk,
        "as_of": now,
        "sells_open_pool": selectors.sells_open_pool(channel),
        "zones": [
            {
                "zone_id": z.zone.pk,
                "code": z.zone.code,
                "name": z.zone.name,
                "name_en": z.zone.name_en,
                "price": _money(z.zone.price),
                "currency": z.zone.currency,
                "allocated": z.allocated,
                "allocated_free": z.allocated_free,
                "open_pool_free": z.open_pool_free,
                "available": z.sellable,
            }
            for z in zones
        ],
    }


class PartnerQuoteIn(InputSchema):
    """Either ``zone`` and ``quantity``, or ``seat_ids``."""

    zone: Id | None = Field(None, description="Price zone id.")
    quantity: int | None = Field(None, ge=1, le=MAX_PLACES, strict=True)
    seat_ids: list[Id] | None = Field(None, min_length=1, max_length=MAX_PLACES)

    @model_validator(mode="after")
    def _one_way(self):
        by_zone = self.zone is not None or self.quantity is not None
        if by_zone == (self.seat_ids is not None) or (
            by_zone and (self.zone is None or self.quantity is None)
        ):
            raise ValueError("Give either zone and quantity, or seat_ids.")
        return self


class PartnerQuoteLineOut(Schema):
    zone_id: int
    zone_name: str
    price: str
    seat_id: int | None
    unit_id: int | None


class PartnerQuoteOut(Schema):
    session_id: int
    quantity: int
    lines: list[PartnerQuoteLineOut]
    total: str = Field(..., examples=["760.00"])
    currency: str
    available: bool = Field(..., description="Whether an order for these places would succeed now.")
    reason: str = Field(
        ...,
        description="Why not, when not: sold_out, seats_taken, over_order_limit, "
        "real_name_required; empty otherwise.",
    )


@router.post(
    f"{PREFIX}/sessions/{{session_id}}/quote",
    response={200: PartnerQuoteOut, **_ERRORS},
    summary="Price places, with no hold",
    openapi_extra=_docs(
        {
            "session_id": 42,
            "quantity": 2,
            "lines": [
                {
                    "zone_id": 101,
                    "zone_name": "内场A区",
                    "price": "380.00",
                    "seat_id": None,
                    "unit_id": None,
                },
                {
                    "zone_id": 101,
                    "zone_name": "内场A区",
                    "price": "380.00",
                    "seat_id": None,
                    "unit_id": None,
                },
            ],
            "total": "760.00",
            "currency": "CNY",
            "available": True,
            "reason": "",
        },
        body={"zone": 101, "quantity": 2},
        errors={404: _SESSION_NOT_FOUND},
    ),
)
def quote(request, session_id: SessionId, payload: PartnerQuoteIn):
    """The price of each place, the total and the currency of ``quantity`` places of a
    zone, or of the places of ``seat_ids``, and whether this channel could order them now.
    Nothing is held or written. Scope ``availability``."""
    channel = _channel(request, AVAILABILITY)
    now = clock_now()
    session = selectors.get_sellable_session(channel=channel, session_id=session_id, now=now)
    found = selectors.quote_places(
        channel=channel,
        session=session,
        zone_id=payload.zone,
        quantity=payload.quantity,
        seat_ids=payload.seat_ids,
        now=now,
    )
    return {
        "session_id": session.pk,
        "quantity": len(found.places),
        "lines": [
            {
                "zone_id": place.zone.pk,
                "zone_name": place.zone.name,
                "price": _money(place.price),
                "seat_id": place.seat_id,
                "unit_id": place.unit_id,
            }
            for place in found.places
        ],
        "total": _money(found.total),
        "currency": found.currency,
        "available": not found.reason,
        "reason": found.reason,
    }


# -- orders --------------------------------------------------------------------------------------


class PartnerAttendeeIn(InputSchema):
    name: str = Field("", max_length=80, examples=["王芳"])


class PartnerOrderIn(ChannelOrderIn):
    """The request of ``POST /channel/orders``: ``session``, exactly one way of choosing
    places, optional ``attendees`` (one per place) and the ``buyer``."""

    attendees: list[PartnerAttendeeIn] | None = Field(
        None, max_length=MAX_PLACES, description="One per place, in seating order; optional."
    )


_LINE_EXAMPLE = {
    "id": 9001,
    "unit_id": 5501,
    "zone_id": 101,
    "zone_name": "内场A区",
    "section_code": "S1",
    "section_name": "A1",
    "row_label": "5",
    "seat_label": "12",
    "price": "380.00",
    "currency": "CNY",
    "attendee_name": "王芳",
}
_ORDER_EXAMPLE = {
    "order": {
        "number": "T261206-K7M3QX",
        "status": "fulfilled",
        "session_id": 42,
        "total": "380.00",
        "currency": "CNY",
        "email": "fan@example.com",
        "created_at": "2026-12-06T09:00:00.000Z",
        "paid_at": "2026-12-06T09:00:00.000Z",
        "lines": [_LINE_EXAMPLE],
    },
    "tickets": [
        {
            "id": 77001,
            "number": "0000077001",
            "line_id": 9001,
            "unit_id": 5501,
            "holder_name": "王芳",
            "version": 1,
            "credential": "TS1:…",
        }
    ],
}
_ORDER_NOT_FOUND = _error_example("order_not_found", "This sales channel has no such order.")


@router.post(
    f"{PREFIX}/orders",
    response={201: ChannelOrderOut, **_WRITE_ERRORS},
    summary="Order places: paid on the channel's account, tickets issued, in one call",
    openapi_extra={
        **_docs(
            _ORDER_EXAMPLE,
            status=201,
            body={
                "session": 42,
                "zone": 101,
                "quantity": 1,
                "attendees": [{"name": "王芳"}],
                "buyer": {"name": "王芳", "email": "fan@example.com", "phone": "13800000000"},
            },
            errors={
                404: _SESSION_NOT_FOUND,
                409: _error_example(
                    "places_unavailable", "Not enough places are free.", {"zone": 101}
                ),
            },
        ),
        "parameters": [_idempotency_header("erp-order-2026-000123")],
    },
)
def partner_place_order(request, payload: PartnerOrderIn, response: HttpResponse):
    """The places chosen (any way of choosing, as in ``POST /channel/orders``) sold to the
    channel's buyer, paid on the channel's account, tickets issued — committed before the
    answer. ``Idempotency-Key`` is required: the same key with the same request answers the
    same order again (header ``Idempotent-Replayed: true``). Scope ``orders``."""
    channel = _channel(request, ORDERS)
    key = idempotency_key(request)
    if not selectors.is_answered_order_key(principal=request.auth, key=key):
        # a retry of an answered order is answered again even once the sale has closed
        selectors.get_sellable_session(channel=channel, session_id=payload.session, now=clock_now())
    sale = run_channel_order(request.auth, payload, key)
    if sale.replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(201, channel_answer(sale))


class PartnerOrderSummaryOut(Schema):
    number: str
    status: str
    session_id: int
    total: str
    currency: str
    created_at: datetime
    paid_at: datetime | None

    @staticmethod
    def resolve_total(obj) -> str:
        return _money(obj["total"] if isinstance(obj, dict) else obj.total)


class PartnerLineOut(LineOut):
    status: str = Field(..., description="active, refunded or void.")
    ticket_id: int | None


class PartnerRefundOut(Schema):
    id: str
    status: str = Field(..., description="approved, requested (waiting for the organizer), …")
    price: str = Field(..., description="Price of the tickets refunded.")
    fee: str = Field(..., description="Fee kept under the policy.")
    amount: str = Field(..., description="Money back to the channel: price − fee.")
    currency: str
    created_at: datetime
    ticket_ids: list[int]


class PartnerOrderDetailOut(PartnerOrderSummaryOut):
    email: str
    lines: list[PartnerLineOut]
    refunds: list[PartnerRefundOut]


@router.get(
    f"{PREFIX}/orders",
    response={200: list[PartnerOrderSummaryOut], **_ERRORS},
    summary="This channel's orders, newest first",
    openapi_extra=_docs(
        {
            "items": [
                {
                    "number": "T261206-K7M3QX",
                    "status": "fulfilled",
                    "session_id": 42,
                    "total": "380.00",
                    "currency": "CNY",
                    "created_at": "2026-12-06T09:00:00.000Z",
                    "paid_at": "2026-12-06T09:00:00.000Z",
                }
            ],
            "count": 1,
        }
    ),
)
@paginate(BoundedPagination)
def partner_list_orders(request):
    """Orders placed through this channel (any of its keys), paged. Scope ``orders``."""
    require_scope(request.auth, ORDERS)
    return selectors.channel_orders(channel_id=request.auth.channel_id)


def refund_answer(refund: RefundRequest) -> dict:
    return {
        "id": str(refund.pk),
        "status": refund.status,
        "price": _money(refund.price),
        "fee": _money(refund.fee),
        "amount": _money(refund.amount),
        "currency": refund.currency,
        "created_at": as_json_time(refund.created_at),
        "ticket_ids": sorted(
            t
            for t in refund.lines.values_list("line__ticket__id", flat=True).order_by("line_id")
            if t is not None
        ),
    }


def order_answer(order) -> dict:
    tickets = dict(order.lines.filter(ticket__isnull=False).values_list("pk", "ticket__id"))
    return {
        "number": order.number,
        "status": order.status,
        "session_id": order.session_id,
        "total": _money(order.total),
        "currency": order.currency,
        "created_at": as_json_time(order.created_at),
        "paid_at": as_json_time(order.paid_at) if order.paid_at else None,
        "email": order.email,
        "lines": [
            {
                "id": line.pk,
                "unit_id": line.unit_id,
                "zone_id": line.zone_id,
                "zone_name": line.zone_name,
                "section_code": line.section_code,
                "section_name": line.section_name,
                "row_label": line.row_label,
                "seat_label": line.seat_label,
                "price": _money(line.price),
                "currency": line.currency,
                "attendee_name": line.attendee_name,
                "status": line.status,
                "ticket_id": tickets.get(line.pk),
            }
            for line in order.lines.order_by("id")
        ],
        "refunds": [
            refund_answer(r)
            for r in RefundRequest.objects.filter(order=order).order_by("created_at")
        ],
    }


@router.get(
    f"{PREFIX}/orders/{{number}}",
    response={200: PartnerOrderDetailOut, **_ERRORS},
    summary="One of this channel's orders",
    openapi_extra=_docs(
        {
            "number": "T261206-K7M3QX",
            "status": "fulfilled",
            "session_id": 42,
            "total": "380.00",
            "currency": "CNY",
            "created_at": "2026-12-06T09:00:00.000Z",
            "paid_at": "2026-12-06T09:00:00.000Z",
            "email": "fan@example.com",
            "lines": [{**_LINE_EXAMPLE, "status": "active", "ticket_id": 77001}],
            "refunds": [],
        },
        errors={404: _ORDER_NOT_FOUND},
    ),
)
def partner_get_order(request, number: OrderNumber):
    """The order with its lines (each with its status and ticket) and its refunds. Another
    channel's order answers 404. Scope ``orders``."""
    require_scope(request.auth, ORDERS)
    order = selectors.get_channel_order(channel_id=request.auth.channel_id, number=number)
    return order_answer(order)


class PartnerCancelIn(InputSchema):
    ticket_ids: list[Id] | None = Field(
        None,
        min_length=1,
        max_length=services.MAX_TICKETS,
        description="Tickets of the order to refund; all its valid tickets when absent.",
    )
    reason: str = Field("", max_length=500, examples=["Buyer cancelled"])


class PartnerCancelOut(Schema):
    order: PartnerOrderSummaryOut
    refund: PartnerRefundOut


@router.post(
    f"{PREFIX}/orders/{{number}}/cancel",
    response={200: PartnerCancelOut, **_WRITE_ERRORS},
    summary="Cancel tickets of an order: refunded within the session's policy",
    openapi_extra={
        **_docs(
            {
                "order": {
                    "number": "T261206-K7M3QX",
                    "status": "refunded",
                    "session_id": 42,
                    "total": "380.00",
                    "currency": "CNY",
                    "created_at": "2026-12-06T09:00:00.000Z",
                    "paid_at": "2026-12-06T09:00:00.000Z",
                },
                "refund": {
                    "id": "8f0c2b9e-2d7e-4f57-9a59-1b2f3c4d5e6f",
                    "status": "approved",
                    "price": "380.00",
                    "fee": "19.00",
                    "amount": "361.00",
                    "currency": "CNY",
                    "created_at": "2026-12-07T02:00:00.000Z",
                    "ticket_ids": [77001],
                },
            },
            body={"ticket_ids": [77001], "reason": "Buyer cancelled"},
            errors={
                404: _ORDER_NOT_FOUND,
                409: _error_example(
                    "refund_too_late",
                    "The refund deadline for this session has passed.",
                    {"deadline": "2026-12-19T11:30:00+00:00"},
                ),
            },
        ),
        "parameters": [_idempotency_header("erp-cancel-2026-000123")],
    },
)
def partner_cancel_order(request, number: OrderNumber, payload: PartnerCancelIn):
    """Refund these tickets (all valid tickets of the order when ``ticket_ids`` is absent)
    within the session's after-sales policy: the fee it sets is kept, the rest goes back to
    the channel's account (booked in the order's ledger). Refused with 409
    ``refund_not_allowed`` or ``refund_too_late`` (with the deadline) when the policy says no,
    ``ticket_used`` for a ticket scanned at the gate. When the policy asks for review the
    refund is ``requested`` and waits for the organizer. ``Idempotency-Key`` is required:
    the same key with the same request answers the first answer again. Scope ``refunds``."""
    require_scope(request.auth, REFUNDS)
    principal = request.auth
    key = idempotency_key(request)
    if key is None:
        raise IdempotencyKeyInvalid(_("An Idempotency-Key header is required."))
    order = selectors.get_channel_order(channel_id=principal.channel_id, number=number)
    now = clock_now()

    def run():
        refund = services.cancel_channel_order(
            principal=principal,
            order=order,
            ticket_ids=payload.ticket_ids,
            reason=payload.reason,
            idempotency_key=key,
            now=now,
        )
        order.refresh_from_db()
        return 200, {
            "order": {
                "number": order.number,
                "status": order.status,
                "session_id": order.session_id,
                "total": _money(order.total),
                "currency": order.currency,
                "created_at": as_json_time(order.created_at),
                "paid_at": as_json_time(order.paid_at) if order.paid_at else None,
            },
            "refund": refund_answer(refund),
        }

    code, body = run_idempotent(
        request,
        scope="partnerapi.cancel",
        user_id=principal.account_id,
        payload=payload.model_dump(mode="json"),
        now=now,
        run=run,
    )
    return Status(code, body)


# -- tickets -------------------------------------------------------------------------------------


class PartnerTicketOut(Schema):
    id: int
    number: str
    public_id: str
    order_number: str
    line_id: int
    unit_id: int
    status: str = Field(..., description="valid or revoked.")
    version: int
    holder_name: str
    zone_name: str
    section_code: str
    section_name: str
    row_label: str
    seat_label: str
    price: str
    currency: str
    credential: str | None = Field(..., description="What the QR code carries; null if revoked.")
    pdf_url: str | None = Field(..., description="Null when revoked or live-code-only.")
    qr_svg_url: str | None


def ticket_answer(ticket, *, now: datetime, files: bool) -> dict:
    """A ticket as JSON; ``files``: whether its PDF and QR image are offered (not for a
    session whose gates take only the live code)."""
    line = ticket.order_line
    valid = ticket.status == TicketStatus.VALID
    files = files and valid
    base = f"/api/v1{PREFIX}/tickets/{ticket.pk}"
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "public_id": str(ticket.public_id),
        "order_number": line.order.number,
        "line_id": line.pk,
        "unit_id": ticket.unit_id,
        "status": ticket.status,
        "version": ticket.version,
        "holder_name": ticket.holder_name,
        "zone_name": line.zone_name,
        "section_code": line.section_code,
        "section_name": line.section_name,
        "row_label": line.row_label,
        "seat_label": line.seat_label,
        "price": _money(line.price),
        "currency": line.currency,
        "credential": ticket_services.credential_for(ticket=ticket, now=now) if valid else None,
        "pdf_url": f"{base}.pdf" if files else None,
        "qr_svg_url": f"{base}/qr.svg" if files else None,
    }


_TICKET_EXAMPLE = {
    "id": 77001,
    "number": "0000077001",
    "public_id": "3d6f0a8e-6b1c-4c1e-9a0e-5a2b7c8d9e0f",
    "order_number": "T261206-K7M3QX",
    "line_id": 9001,
    "unit_id": 5501,
    "status": "valid",
    "version": 1,
    "holder_name": "王芳",
    "zone_name": "内场A区",
    "section_code": "S1",
    "section_name": "A1",
    "row_label": "5",
    "seat_label": "12",
    "price": "380.00",
    "currency": "CNY",
    "credential": "TS1:…",
    "pdf_url": "/api/v1/partner/tickets/77001.pdf",
    "qr_svg_url": "/api/v1/partner/tickets/77001/qr.svg",
}


@router.get(
    f"{PREFIX}/orders/{{number}}/tickets",
    response={200: list[PartnerTicketOut], **_ERRORS},
    summary="The tickets of one of this channel's orders, with their credentials",
    openapi_extra=_docs([_TICKET_EXAMPLE], errors={404: _ORDER_NOT_FOUND}),
)
def list_order_tickets(request, number: OrderNumber):
    """Every ticket of the order, in the order of its lines; a valid ticket carries its
    current credential (the QR code's text) and links to its PDF and QR image. Scope
    ``orders``."""
    require_scope(request.auth, ORDERS)
    order = selectors.get_channel_order(channel_id=request.auth.channel_id, number=number)
    now = clock_now()
    tickets = selectors.channel_order_tickets(order)
    files = bool(tickets) and selectors.is_static_credential_allowed(tickets[0])
    return [ticket_answer(t, now=now, files=files) for t in tickets]


_TICKET_NOT_FOUND = _error_example("ticket_not_found", "This sales channel has no such ticket.")
_TICKET_REVOKED = _error_example("ticket_revoked", "This ticket is no longer valid.")
_STATIC_NOT_ALLOWED = _error_example(
    "static_ticket_not_allowed",
    "This session admits only the live QR code: there is no printable ticket.",
)


def _file_docs(content_type: str, description: str) -> dict:
    extra = _docs({}, errors={404: _TICKET_NOT_FOUND, 409: _TICKET_REVOKED})
    extra["responses"][409]["content"]["application/json"]["examples"] = {
        "revoked": {"value": _TICKET_REVOKED},
        "live_code_only": {"value": _STATIC_NOT_ALLOWED},
    }
    del extra["responses"][409]["content"]["application/json"]["example"]
    extra["responses"][200] = {
        "description": description,
        "content": {content_type: {"schema": {"type": "string", "format": "binary"}}},
    }
    return extra


def _valid_ticket(request, ticket_id: int):
    require_scope(request.auth, ORDERS)
    ticket = selectors.get_channel_ticket(channel_id=request.auth.channel_id, ticket_id=ticket_id)
    if ticket.status != TicketStatus.VALID:
        raise ticket_services.TicketRevoked()
    if not selectors.is_static_credential_allowed(ticket):
        raise StaticTicketNotAllowed()
    return ticket


@router.get(
    f"{PREFIX}/tickets/{{ticket_id}}.pdf",
    response={**_ERRORS, 409: ErrorOut},
    summary="A ticket as a printable PDF",
    openapi_extra=_file_docs("application/pdf", "The ticket, one A4 page with its QR code."),
)
def ticket_pdf(request, ticket_id: TicketId):
    """One page with the event, the place, the holder and the QR code. A revoked ticket
    answers 409 ``ticket_revoked``; a session whose gates take only the live rotating code
    409 ``static_ticket_not_allowed``. Scope ``orders``."""
    ticket = _valid_ticket(request, ticket_id)
    summary = ticket_selectors.summarize_ticket(ticket)
    credential = ticket_services.credential_for(ticket=ticket, now=clock_now())
    title = _("Ticket %(number)s") % {"number": ticket.number}
    response = HttpResponse(
        render_tickets_pdf([(summary, credential)], title=title), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="tessera-ticket-{ticket.number}.pdf"'
    return response


@router.get(
    f"{PREFIX}/tickets/{{ticket_id}}/qr.svg",
    response={**_ERRORS, 409: ErrorOut},
    summary="A ticket's QR code as SVG",
    openapi_extra=_file_docs("image/svg+xml", "The QR code of the ticket's credential."),
)
def ticket_qr(request, ticket_id: TicketId):
    """The QR code of the ticket's current credential, as an SVG image that scales to any
    size. A revoked ticket answers 409 ``ticket_revoked``; a session whose gates take only
    the live rotating code 409 ``static_ticket_not_allowed``. Scope ``orders``."""
    ticket = _valid_ticket(request, ticket_id)
    credential = ticket_services.credential_for(ticket=ticket, now=clock_now())
    return HttpResponse(qr_svg_document(credential), content_type="image/svg+xml")


# -- webhook subscriptions -----------------------------------------------------------------------


class WebhookEndpointOut(Schema):
    id: int
    url: str
    kinds: list[str]
    description: str
    is_active: bool
    created_at: datetime


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    secret: str = Field(description="The signing secret, shown only in this answer.")


class WebhookEndpointIn(InputSchema):
    url: str = Field(max_length=500, description="https:// and a public address.")
    kinds: list[str] = Field(
        min_length=1,
        max_length=10,
        description="Events to receive: order.paid, order.refunded, order.exchanged, "
        "session.changed, allocation.returned.",
    )
    description: str = Field("", max_length=120)


_WEBHOOK_EXAMPLE = {
    "id": 7,
    "url": "https://erp.example.com/tessera/webhooks",
    "kinds": ["order.paid", "order.refunded"],
    "description": "ERP",
    "is_active": True,
    "created_at": "2026-12-06T08:00:00Z",
}
WebhookId = Annotated[int, Path(..., ge=1, le=MAX_ID, description="Webhook endpoint id.")]


def _webhook_out(endpoint) -> dict:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "kinds": list(endpoint.kinds),
        "description": endpoint.description,
        "is_active": endpoint.is_active,
        "created_at": endpoint.created_at,
    }


def _own_endpoints(principal):
    from tessera.webhooks.models import WebhookEndpoint

    return WebhookEndpoint.objects.filter(organization_id=principal.organization_id)


@router.get(
    f"{PREFIX}/webhooks",
    response={200: list[WebhookEndpointOut], **_ERRORS},
    summary="The partner's webhook endpoints",
    openapi_extra=_docs([_WEBHOOK_EXAMPLE]),
)
def list_webhooks(request):
    """The endpoints of the key's organization (the console shows the same, with their
    delivery logs). Deliveries are signed: see docs/webhooks.md."""
    require_scope(request.auth, WEBHOOKS)
    return [_webhook_out(e) for e in _own_endpoints(request.auth).order_by("pk")]


@router.post(
    f"{PREFIX}/webhooks",
    response={201: WebhookEndpointCreatedOut, **_WRITE_ERRORS},
    summary="Subscribe a URL to events",
    openapi_extra=_docs(
        {**_WEBHOOK_EXAMPLE, "secret": "whsec_…"},
        status=201,
        body={"url": _WEBHOOK_EXAMPLE["url"], "kinds": ["order.paid"], "description": "ERP"},
        errors={
            422: _error_example(
                "webhook_url_refused",
                "This URL cannot receive webhooks: use https:// and a public address.",
            )
        },
    ),
)
def create_webhook(request, payload: WebhookEndpointIn):
    """A new endpoint of the key's organization; the answer carries its signing secret,
    the only time it is shown. Private, loopback and link-local addresses are refused."""
    from tessera.accounts.models import Organization
    from tessera.webhooks import services as webhooks

    require_scope(request.auth, WEBHOOKS)
    endpoint, secret = webhooks.create_endpoint(
        organization=Organization.objects.get(pk=request.auth.organization_id),
        url=payload.url,
        kinds=payload.kinds,
        description=payload.description,
        actor=None,
        now=clock_now(),
    )
    return Status(201, {**_webhook_out(endpoint), "secret": secret})


@router.delete(
    f"{PREFIX}/webhooks/{{webhook_id}}",
    response={204: None, **_ERRORS},
    summary="Remove a webhook endpoint",
    openapi_extra=_docs(
        {},
        status=204,
        errors={404: _error_example("webhook_not_found", "No such webhook endpoint.")},
    ),
)
def delete_webhook(request, webhook_id: WebhookId):
    """Stop sending to this endpoint (another organization's id answers 404)."""
    from tessera.webhooks import services as webhooks

    require_scope(request.auth, WEBHOOKS)
    endpoint = _own_endpoints(request.auth).filter(pk=webhook_id).first()
    if endpoint is None:
        raise WebhookNotFound()
    webhooks.delete_endpoint(endpoint=endpoint, actor=None, now=clock_now())
    return Status(204, None)
