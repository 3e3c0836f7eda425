"""Exchanges over HTTP: quote, confirm (``Idempotency-Key``), status, pay the difference again.

The fan first holds the new places with the hold endpoints (``POST /sessions/{id}/holds``),
then quotes and confirms the exchange of some tickets of a paid order for them. Money is a
decimal string; errors answer ``{"error": {code, message, details}}``.
"""

from datetime import datetime
from uuid import UUID

from ninja import Field, Router, Schema, Status
from ninja.security import django_auth

from tessera.aftersales import exchanges
from tessera.core.clock import now as clock_now
from tessera.core.idempotency import run_idempotent
from tessera.core.schemas import ErrorOut, Id, InputSchema
from tessera.inventory.models import Hold
from tessera.orders import services as orders
from tessera.payments import services as payments

router = Router(tags=["exchanges"])

_ERRORS = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class ExchangeIn(InputSchema):
    lines: list[Id] = Field(..., min_length=1, max_length=100)
    hold_id: UUID
    expected_difference: str | None = Field(None, max_length=20)


class PlaceOut(Schema):
    unit_id: int
    label: str
    zone_name: str
    price: str


class ExchangeQuoteOut(Schema):
    order: str
    lines: list[int]
    session_id: int
    places: list[PlaceOut]
    currency: str
    old_price: str
    new_price: str
    fee_per_ticket: str
    fee: str
    difference: str
    amount_due: str
    amount_back: str
    deadline: datetime


class ExchangeOut(Schema):
    id: UUID
    order: str
    new_order: str
    stage: str
    stage_label: str
    currency: str
    old_price: str
    new_price: str
    fee: str
    amount_due: str
    amount_back: str
    lines: list[int]
    created_at: datetime
    completed_at: datetime | None
    payment_id: UUID | None
    cashier_url: str


def _money(value) -> str:
    return str(value)


def _quote_out(quote) -> dict:
    return {
        "order": quote.order.number,
        "lines": quote.line_ids,
        "session_id": quote.session.pk,
        "places": [
            {
                "unit_id": p.unit_id,
                "label": p.label,
                "zone_name": p.zone_name,
                "price": _money(p.price),
            }
            for p in quote.places
        ],
        "currency": quote.currency,
        "old_price": _money(quote.old_price),
        "new_price": _money(quote.new_price),
        "fee_per_ticket": _money(quote.fee_per_ticket),
        "fee": _money(quote.fee),
        "difference": _money(quote.difference),
        "amount_due": _money(quote.amount_due),
        "amount_back": _money(quote.amount_back),
        "deadline": quote.deadline,
    }


def exchange_out(request, now: datetime) -> dict:
    """The exchange as the JSON the API answers."""
    stage = request.stage_at(now)
    payment = exchanges.payment_for(request) if stage == "awaiting_payment" else None
    return {
        "id": request.pk,
        "order": request.order.number,
        "new_order": request.new_order.number,
        "stage": stage,
        "stage_label": str(exchanges.stage_label(stage)),
        "currency": request.currency,
        "old_price": _money(request.old_price),
        "new_price": _money(request.new_price),
        "fee": _money(request.fee),
        "amount_due": _money(request.amount_due),
        "amount_back": _money(request.amount_back),
        "lines": sorted(request.lines.values_list("line_id", flat=True)),
        "created_at": request.created_at,
        "completed_at": request.completed_at,
        "payment_id": payment.pk if payment else None,
        "cashier_url": payment.cashier_url if payment else "",
    }


def _hold(user, hold_id: UUID) -> Hold | None:
    return Hold.objects.filter(pk=hold_id, user=user).first()


@router.post(
    "/orders/{number}/exchange-quote",
    auth=django_auth,
    response={200: ExchangeQuoteOut, **_ERRORS},
    summary="Quote an exchange of tickets for held places",
)
def quote_exchange(request, number: str, payload: ExchangeIn):
    """What exchanging these tickets of your order for the places of your hold costs now:
    the new places' prices − the tickets' prices + the exchange fee per ticket. Writes
    nothing."""
    now = clock_now()
    order = orders.get_order_for_user(number=number[:20], user=request.auth)
    quote = exchanges.quote_exchange(
        order=order,
        user=request.auth,
        line_ids=payload.lines,
        hold=_hold(request.auth, payload.hold_id),
        now=now,
    )
    return _quote_out(quote)


@router.post(
    "/orders/{number}/exchanges",
    auth=django_auth,
    response={201: ExchangeOut, **_ERRORS},
    summary="Confirm an exchange",
)
def confirm_exchange(request, number: str, payload: ExchangeIn):
    """Confirm the exchange you were quoted (send ``expected_difference``: the difference
    shown, negative when money comes back; a different one answers 409). With nothing to
    pay it is done at once; otherwise pay ``amount_due`` at ``cashier_url``, and the
    exchange is done when the payment completes. Honours ``Idempotency-Key``."""
    now = clock_now()
    user = request.auth

    def run():
        order = orders.get_order_for_user(number=number[:20], user=user)
        done = exchanges.confirm_exchange(
            order=order,
            user=user,
            line_ids=payload.lines,
            hold=_hold(user, payload.hold_id),
            expected_difference=payload.expected_difference,
            now=now,
        )
        return 201, {"id": str(done.pk)}

    status, body = run_idempotent(
        request,
        scope="aftersales.exchange",
        user_id=user.pk,
        payload=payload.model_dump(mode="json"),
        now=now,
        run=run,
    )
    found = exchanges.get_exchange_for_user(exchange_id=body["id"], user=user)
    payment = exchanges.payment_for(found)
    if payment is not None and not payment.cashier_url and not payment.qr_content:
        payments.connect_payment(payment=payment, now=now)
    return Status(status, exchange_out(found, clock_now()))


@router.get(
    "/exchanges/{exchange_id}",
    auth=django_auth,
    response={200: ExchangeOut, 404: ErrorOut},
    summary="An exchange's status",
)
def get_exchange(request, exchange_id: UUID):
    now = clock_now()
    return exchange_out(
        exchanges.get_exchange_for_user(exchange_id=exchange_id, user=request.auth), now
    )


@router.post(
    "/exchanges/{exchange_id}/payment",
    auth=django_auth,
    response={200: ExchangeOut, **_ERRORS},
    summary="Pay an exchange's difference (again)",
)
def pay_exchange(request, exchange_id: UUID):
    """The open payment of the difference, or a new one after a failed payment."""
    now = clock_now()
    found = exchanges.get_exchange_for_user(exchange_id=exchange_id, user=request.auth)
    exchanges.pay_difference(request=found, user=request.auth, now=now)
    return exchange_out(found, now)
