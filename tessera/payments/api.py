"""Payments API: start a payment for an order, read it, and the providers' notify endpoint.

``POST /orders/{number}/payments`` opens a payment at a provider and answers where the buyer
pays (``cashier_url`` and/or ``qr_content``). ``POST /payments/callbacks/{provider}`` is the
URL every gateway, the sandbox included, posts its signed notifications to; it answers in
the form that gateway expects.
"""

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.security import django_auth

from tessera.core.clock import now as clock_now
from tessera.core.idempotency import run_idempotent
from tessera.core.money import round_money
from tessera.core.schemas import InputSchema
from tessera.orders.services import get_order_for_user
from tessera.payments import services
from tessera.payments.models import Payment
from tessera.payments.selectors import get_payment_for_user

logger = logging.getLogger(__name__)

router = Router(tags=["payments"])

MAX_CALLBACK_BYTES = 64 * 1024


class ErrorDetailOut(Schema):
    code: str
    message: str
    details: dict[str, Any] = {}


class PaymentErrorOut(Schema):
    error: ErrorDetailOut


class PaymentIn(InputSchema):
    provider: str = Field(..., min_length=1, max_length=20, examples=["sandbox"])
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Sandbox switches: fail, delay_seconds, duplicates, out_of_order.",
    )


class PaymentOut(Schema):
    id: UUID
    order_number: str
    provider: str
    status: str
    amount: str
    currency: str
    cashier_url: str
    qr_content: str
    created_at: datetime
    completed_at: datetime | None
    failure_reason: str

    @staticmethod
    def resolve_order_number(obj: Payment) -> str:
        return obj.order.number

    @staticmethod
    def resolve_amount(obj: Payment) -> str:
        return str(round_money(obj.amount, obj.currency))


_ERRORS = {
    400: PaymentErrorOut,
    401: PaymentErrorOut,
    404: PaymentErrorOut,
    409: PaymentErrorOut,
    422: PaymentErrorOut,
    502: PaymentErrorOut,
    503: PaymentErrorOut,
}


@router.post("/orders/{number}/payments", response={201: PaymentOut, **_ERRORS}, auth=django_auth)
def create_payment(request: HttpRequest, number: str, payload: PaymentIn):
    """Open a payment of the order's total at a provider (``sandbox``, ``alipay``,
    ``wechat``). Only the buyer's own order awaiting payment.

    With an ``Idempotency-Key`` a retry answers the same payment (and, if the provider could
    not be reached the first time, tries it again) instead of opening a second one.
    """
    now = clock_now()
    user = request.auth

    def run():
        order = get_order_for_user(number=number[:40], user=user)
        payment = services.open_payment(
            order=order, provider=payload.provider, user=user, now=now, options=payload.options
        )
        return 201, {"id": str(payment.id)}

    status, body = run_idempotent(
        request,
        scope="payments.start",
        user_id=user.pk,
        payload=payload.model_dump(mode="json"),
        now=now,
        run=run,
    )
    # The provider is asked only now, with the payment committed and no transaction open.
    payment = get_payment_for_user(payment_id=UUID(body["id"]), user=user)
    return Status(status, services.connect_payment(payment=payment, now=now))


@router.get("/payments/{payment_id}", response={200: PaymentOut, **_ERRORS}, auth=django_auth)
def get_payment(request: HttpRequest, payment_id: UUID):
    """One of the user's payments, with its status."""
    return get_payment_for_user(payment_id=payment_id, user=request.auth)
