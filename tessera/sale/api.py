"""The sale over HTTP: hold places, the buyer's one-call checkout, the order status read.

* ``POST /sessions/{id}/holds``: hold places (any way of choosing, see ``choices``).
* ``POST /sessions/{id}/checkout``: hold + order + payment start in one call; answers the
  order, where to pay and a status token.
* ``GET /orders/-/status?t=<token>&wait=<seconds>``: the order's status for the holder of
  its token; waits up to ``wait`` seconds for the outcome of the payment.

Writes need a signed-in buyer (session cookie and CSRF token) and honour an
``Idempotency-Key`` header. Errors answer ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.security import HttpBearer, django_auth

from tessera.core.clock import now as clock_now
from tessera.core.idempotency import IdempotencyKeyInvalid, idempotency_key, run_idempotent
from tessera.core.schemas import Email, ErrorOut, InputSchema
from tessera.inventory import admission
from tessera.inventory.api import HoldOut, hold_answer
from tessera.limits import services as limits
from tessera.partners.scopes import ORDERS, require_scope
from tessera.payments.providers import get_provider
from tessera.sale import channels, services, status
from tessera.sale.choices import MAX_PLACES, PlaceChoice

logger = logging.getLogger(__name__)
router = Router(tags=["sale"])

_ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    410: ErrorOut,
    422: ErrorOut,
    502: ErrorOut,
    503: ErrorOut,
}


class PlacesIn(InputSchema):
    """Exactly one way of choosing places:

    * ``unit_ids``: these places; ``seat_ids``: the places of these seats;
      ``seat_labels``: seats as ``section-row-seat``;
    * ``zone`` (and/or ``section``) and ``quantity``: any places there;
    * ``best_available: true``, ``zone`` or ``section``, ``quantity`` and optionally
      ``accept_split``: the best adjacent seats there.
    """

    unit_ids: list[int] | None = Field(None, min_length=1, max_length=MAX_PLACES, strict=True)
    seat_ids: list[int] | None = Field(None, min_length=1, max_length=MAX_PLACES, strict=True)
    seat_labels: list[str] | None = Field(
        None, min_length=1, max_length=MAX_PLACES, examples=[["101-5-12", "101-5-13"]]
    )
    zone: int | None = Field(None, description="Price zone id.", strict=True)
    section: int | None = Field(None, description="Section id.", strict=True)
    quantity: int | None = Field(None, ge=1, le=MAX_PLACES, strict=True)
    best_available: bool = Field(False, strict=True)
    accept_split: bool = Field(False, strict=True)

    def choice(self) -> PlaceChoice:
        return PlaceChoice.parse(
            self.model_dump(include=set(PlacesIn.model_fields), exclude_defaults=True)
        )


class AttendeeIn(InputSchema):
    name: str = Field("", max_length=80)


class CheckoutAttendeeIn(InputSchema):
    name: str = Field("", max_length=80)
    attendee_id: int | None = Field(
        None,
        ge=1,
        le=2**62,
        strict=True,
        description="One of your attendees (GET /attendees); required by real-name sessions.",
    )


class CheckoutIn(PlacesIn):
    attendees: list[CheckoutAttendeeIn] | None = Field(
        None,
        max_length=MAX_PLACES,
        description="One per place, in seating order; optional, except in real-name sessions.",
    )
    email: Email = Field("", description="Where tickets go; default yours.")
    phone: str = Field("", max_length=32)
    provider: str = Field(
        ..., min_length=1, max_length=20, pattern=r"^[a-z][a-z0-9_]*$", examples=["sandbox"]
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Sandbox switches: fail, delay_seconds, duplicates, out_of_order.",
    )


class LineOut(Schema):
    id: int
    unit_id: int
    zone_id: int
    zone_name: str
    section_code: str
    section_name: str
    row_label: str
    seat_label: str
    price: str = Field(..., examples=["380.00"])
    currency: str
    attendee_name: str


class CheckoutOrderOut(Schema):
    number: str
    status: str
    session_id: int
    hold_id: UUID
    total: str = Field(..., examples=["760.00"])
    currency: str
    email: str
    created_at: datetime
    expires_at: datetime
    lines: list[LineOut]


class CheckoutPaymentOut(Schema):
    id: UUID
    provider: str
    status: str
    amount: str
    currency: str
    cashier_url: str = Field(..., description="Where to send the buyer to pay (may be empty).")
    qr_content: str = Field(..., description="What the payment QR code encodes (may be empty).")


class CheckoutOut(Schema):
    order: CheckoutOrderOut
    payment: CheckoutPaymentOut
    status_token: str = Field(..., description="Read the order's status with it, no sign-in.")
    status_url: str


class StatusIn(Schema):
    t: str = Field(..., max_length=200, description="The order token from the checkout.")
    wait: float = Field(0, ge=0, le=status.MAX_WAIT_SECONDS, description="Seconds to wait.")


class OrderStatusOut(Schema):
    number: str
    status: str
    status_label: str
    is_final: bool


# -- answers --------------------------------------------------------------------------------------


def checkout_answer(result: services.Checkout) -> dict:
    """The checkout's JSON, from the order (lines loaded) and the payment in hand."""
    order, payment = result.order, result.payment
    return {
        "order": {
            "number": order.number,
            "status": order.status,
            "session_id": order.session_id,
            "hold_id": str(order.hold_id),
            "total": str(order.total),
            "currency": order.currency,
            "email": order.email,
            "created_at": as_json_time(order.created_at),
            "expires_at": as_json_time(order.expires_at),
            "lines": [line_answer(line) for line in result.lines],
        },
        "payment": {
            "id": str(payment.pk),
            "provider": payment.provider,
            "status": payment.status,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "cashier_url": payment.cashier_url,
            "qr_content": payment.qr_content,
        },
        "status_token": result.status_token,
        "status_url": status_url(result.status_token),
    }


_encoder = DjangoJSONEncoder()


def as_json_time(moment: datetime) -> str:
    """A datetime as the API writes it everywhere (Django's JSON encoder: ISO 8601,
    milliseconds, ``Z`` for UTC), so answers built here match the Ninja-rendered ones."""
    return _encoder.default(moment)


def line_answer(line) -> dict:
    return {
        "id": line.pk,
        "unit_id": line.unit_id,
        "zone_id": line.zone_id,
        "zone_name": line.zone_name,
        "section_code": line.section_code,
        "section_name": line.section_name,
        "row_label": line.row_label,
        "seat_label": line.seat_label,
        "price": str(line.price),
        "currency": line.currency,
        "attendee_name": line.attendee_name,
    }


def status_url(token: str) -> str:
    return f"{reverse('api:sale_order_status')}?t={token}"


# -- endpoints ------------------------------------------------------------------------------------


@router.post(
    "/sessions/{session_id}/holds",
    auth=django_auth,
    response={201: HoldOut, **_ERRORS},
    summary="Hold places",
)
def create_hold(request, session_id: int, payload: PlacesIn):
    """Hold places of a session for the signed-in buyer for the session's hold time."""
    now = clock_now()
    user = request.auth
    choice = payload.choice()
    admission_pass = admission.pass_from_request(request, session_id)

    def run():
        hold = services.hold_places(
            session=services.public_session(session_id),
            user=user,
            choice=choice,
            now=now,
            admission_pass=admission_pass,
            buyer=limits.buyer_from_meta(request.META),
        )
        return 201, hold_answer(hold, now)

    code, body = run_idempotent(
        request,
        scope="inventory.hold",
        user_id=user.pk,
        payload=payload.model_dump(mode="json"),
        now=now,
        run=run,
    )
    return Status(code, body)


@router.post(
    "/sessions/{session_id}/checkout",
    auth=django_auth,
    response={201: CheckoutOut, **_ERRORS},
    summary="Buy: hold places, order them and start the payment, in one call",
)
def checkout(request, session_id: int, payload: CheckoutIn):
    """The buyer's whole checkout in one transaction: the places chosen (any way of
    choosing), an order of them awaiting payment and a payment at ``provider``. Answers the
    order with its lines, where to pay (``payment.cashier_url`` / ``qr_content``) and a
    ``status_token`` for ``GET /orders/-/status``."""
    code, body = run_checkout(request, request.auth, session_id, payload)
    return Status(code, body)


def _attendees(given: list[CheckoutAttendeeIn] | None) -> list | None:
    """Names, or ``{"name", "attendee_id"}`` where an attendee of the account is named."""
    if not given:
        return None
    if all(a.attendee_id is None for a in given):
        return [a.name for a in given]
    return [{"name": a.name, "attendee_id": a.attendee_id} for a in given]


def run_checkout(request, user, session_id: int, payload: CheckoutIn) -> tuple[int, dict]:
    """The checkout endpoint's work, shared with its fast lane (``sale.fastlane``):
    ``(status, JSON body)``."""
    now = clock_now()
    choice = payload.choice()
    admission_pass = admission.pass_from_request(request, session_id)

    def run():
        result = services.checkout(
            session_id=session_id,
            user=user,
            choice=choice,
            provider=payload.provider,
            options=payload.options,
            attendees=_attendees(payload.attendees),
            email=payload.email,
            phone=payload.phone,
            now=now,
            admission_pass=admission_pass,
            buyer=limits.buyer_from_meta(request.META),
        )
        return 201, checkout_answer(result)

    return run_idempotent(
        request,
        scope="sale.checkout",
        user_id=user.pk,
        payload=payload.model_dump(mode="json"),
        now=now,
        run=run,
    )


@router.get(
    "/orders/-/status",
    auth=None,
    response={200: OrderStatusOut, 404: ErrorOut, 422: ErrorOut},
    summary="An order's status, by its token",
    url_name="sale_order_status",
)
def order_status(request, query: Query[StatusIn], response: HttpResponse):
    """The status of the order the token was issued for (no sign-in needed). With
    ``wait``, waits up to that many seconds for the payment's outcome (a final status or a
    failed payment) before answering; when the server cannot wait now, it answers at once
    with a ``Retry-After`` header (seconds)."""
    answer = status.order_status(token=query.t, wait=query.wait)
    if answer.retry_after:
        response["Retry-After"] = str(answer.retry_after)
    return Status(200, answer.as_dict())


@router.post(
    "/payments/callbacks/{provider}",
    auth=None,
    response={404: ErrorOut, 503: ErrorOut},
    summary="Notify endpoint of a payment provider",
)
def provider_callback(request: HttpRequest, provider: str):
    """Where gateways post their signed notifications. Answers what each expects: Alipay
    the text ``success``, WeChat Pay and the sandbox ``{"code": "SUCCESS"}`` (a 4xx with
    ``FAIL`` makes them deliver again)."""
    answer = callback_answer(provider, headers=dict(request.headers), body=request.body)
    return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)


def callback_answer(provider: str, *, headers: dict, body: bytes):
    """Apply a provider's notification and the answer it expects (``CallbackResponse``);
    shared with the fast lane. Raises UnknownProvider / ProviderUnavailable."""
    adapter = get_provider(provider[:20])
    try:
        ok = services.accept_callback(
            provider=adapter.name, headers=headers, body=body, now=clock_now()
        )
    except Exception:  # the gateway will deliver again; never answer it with a 500
        logger.exception("payment callback from %s could not be applied", adapter.name)
        ok = False
    return adapter.callback_response(ok)


# -- sales channels ----------------------------------------------------------------------------


class ChannelKeyAuth(HttpBearer):
    """``Authorization: Bearer tsk_…``: a sales channel's API key."""

    def authenticate(self, request, token):
        return channels.authenticate(token, now=clock_now())


class BuyerIn(InputSchema):
    name: str = Field("", max_length=80, description="Ticket holder when no attendee is named.")
    email: Email = ""
    phone: str = Field("", max_length=32)


class ChannelOrderIn(PlacesIn):
    session: int = Field(..., description="Session id.", strict=True)
    attendees: list[AttendeeIn] | None = Field(
        None, max_length=MAX_PLACES, description="One per place, in seating order; optional."
    )
    buyer: BuyerIn = Field(default_factory=BuyerIn)


class ChannelOrderOrderOut(Schema):
    number: str
    status: str
    session_id: int
    total: str = Field(..., examples=["760.00"])
    currency: str
    email: str
    created_at: datetime
    paid_at: datetime
    lines: list[LineOut]


class ChannelTicketOut(Schema):
    id: int
    number: str
    line_id: int
    unit_id: int
    holder_name: str
    version: int
    credential: str = Field(..., description="What the ticket's QR code carries.")


class ChannelOrderOut(Schema):
    order: ChannelOrderOrderOut
    tickets: list[ChannelTicketOut]


def channel_answer(sale: channels.ChannelSale) -> dict:
    order = sale.order
    return {
        "order": {
            "number": order.number,
            "status": order.status,
            "session_id": order.session_id,
            "total": str(order.total),
            "currency": order.currency,
            "email": order.email,
            "created_at": as_json_time(order.created_at),
            "paid_at": as_json_time(order.paid_at),
            "lines": [line_answer(line) for line in sale.lines],
        },
        "tickets": [
            {
                "id": t.id,
                "number": t.number,
                "line_id": t.line_id,
                "unit_id": t.unit_id,
                "holder_name": t.holder_name,
                "version": t.version,
                "credential": t.credential,
            }
            for t in sale.tickets
        ],
    }


@router.post(
    "/channel/orders",
    auth=ChannelKeyAuth(),
    response={201: ChannelOrderOut, **_ERRORS, 429: ErrorOut},
    summary="A sales channel's paid order, with its tickets, in one call",
)
def channel_order(request, payload: ChannelOrderIn, response: HttpResponse):
    """For distributors' systems: places of a session (any way of choosing), paid on the
    channel's account, tickets issued — committed before the answer. ``Idempotency-Key`` is
    required: the same key with the same request answers the same order again (with the
    header ``Idempotent-Replayed: true``). The key needs the scope ``orders``; a key past
    its own requests per minute gets 429 ``rate_limited`` with ``Retry-After``; a sandbox
    key (``tsk_test_…``) sells only its sandbox world's sessions."""
    sale = run_channel_order(request.auth, payload, idempotency_key(request))
    if sale.replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(201, channel_answer(sale))


def run_channel_order(principal, payload: ChannelOrderIn, key: str | None):
    """The channel order endpoint's work, shared with its fast lane. The key needs the
    scope ``orders`` (403 ``scope_missing``)."""
    require_scope(principal, ORDERS)
    if key is None:
        raise IdempotencyKeyInvalid(_("An Idempotency-Key header is required."))
    return channels.channel_order(
        principal=principal,
        session_id=payload.session,
        choice=payload.choice(),
        idempotency_key=key,
        digest=channels.request_digest(payload.model_dump(mode="json")),
        attendees=[a.name for a in payload.attendees] if payload.attendees else None,
        buyer_name=payload.buyer.name,
        email=payload.buyer.email,
        phone=payload.buyer.phone,
        now=clock_now(),
    )
