"""Refunds over HTTP, for the signed-in ticket holder: the quote (the fee and why), the
request (``Idempotency-Key`` honoured), its status, and withdrawing it while it waits.

The request carries the total fee the fan was shown (``expected_fee``); when the fee has
changed meanwhile (time passed a step, demand rose) the answer is 409 ``refund_fee_changed``
with the new figures in ``details`` and nothing is written. Money is a decimal string.
"""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID

from ninja import Field, Router, Schema, Status
from ninja.security import django_auth

from tessera.aftersales import selectors, services
from tessera.aftersales.errors import BodyNotAnObject, RequestNotFound
from tessera.aftersales.models import RefundRequest
from tessera.core.clock import now as clock_now
from tessera.core.idempotency import run_idempotent
from tessera.core.schemas import ErrorOut, Id, InputSchema
from tessera.orders.services import get_order_for_user

router = Router(tags=["after-sales"])

_ERRORS = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class RefundQuoteIn(InputSchema):
    """Order lines to refund; empty or missing: every ticket of the order still valid."""

    lines: list[Id] = Field(default_factory=list, max_length=100)


class RefundRequestIn(RefundQuoteIn):
    expected_fee: str | None = Field(
        None, max_length=20, description='The total fee you were shown, e.g. "38.00".'
    )
    reason: str = Field("", max_length=500)


class QuoteLineOut(Schema):
    line_id: int
    price: str
    fee: str
    refund: str
    percent: str
    explanation: list[str]


class RefundQuoteOut(Schema):
    order: str
    currency: str
    price: str
    fee: str
    amount: str
    needs_review: bool
    lines: list[QuoteLineOut]


class RequestLineOut(Schema):
    line_id: int
    price: str
    fee: str
    explanation: list[str]


class RefundRequestOut(Schema):
    id: UUID
    order: str
    status: str
    stage: str
    stage_label: str
    initiator: str
    currency: str
    price: str
    fee: str
    amount: str
    reason: str
    decision_note: str
    created_at: datetime
    decided_at: datetime | None
    lines: list[RequestLineOut]


def quote_out(quote) -> dict:
    return {
        "order": quote.order.number,
        "currency": quote.currency,
        "price": str(quote.price),
        "fee": str(quote.fee),
        "amount": str(quote.amount),
        "needs_review": quote.needs_review,
        "lines": [
            {
                "line_id": item.line.pk,
                "price": str(item.fee.price),
                "fee": str(item.fee.fee),
                "refund": str(item.fee.refund),
                "percent": str(item.fee.percent),
                "explanation": item.explanation,
            }
            for item in quote.lines
        ],
    }


def request_out(request: RefundRequest) -> dict:
    return {
        "id": request.pk,
        "order": request.order.number,
        "status": request.status,
        "stage": request.stage,
        "stage_label": request.get_stage_display(),
        "initiator": request.initiator,
        "currency": request.currency,
        "price": str(request.price),
        "fee": str(request.fee),
        "amount": str(request.amount),
        "reason": request.reason,
        "decision_note": request.decision_note,
        "created_at": request.created_at,
        "decided_at": request.decided_at,
        "lines": [
            {
                "line_id": claim.line_id,
                "price": str(claim.price),
                "fee": str(claim.fee),
                "explanation": claim.explanation,
            }
            for claim in request.lines.order_by("line_id")
        ],
    }


def _require_object(request) -> None:
    """A body that is JSON but not an object (a list, a string, null) is refused, never read
    as "no fields given" (which would mean every ticket)."""
    try:
        parsed = json.loads(request.body or b"{}")
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise BodyNotAnObject()


def _request_of(user, request_id: UUID) -> RefundRequest:
    found = (
        RefundRequest.objects.select_related("order")
        .filter(pk=request_id, order__user=user)
        .first()
    )
    if found is None:
        raise RequestNotFound()
    return found


@router.post(
    "/orders/{number}/refund-quote",
    auth=django_auth,
    response={200: RefundQuoteOut, **_ERRORS},
    summary="Quote a refund",
)
def quote_refund(request, number: str, payload: RefundQuoteIn):
    """The fee and the amount that would go back for these tickets now, with each fee's
    explanation in your language. Changes nothing."""
    _require_object(request)
    order = get_order_for_user(number=number[:20], user=request.auth)
    quote = services.quote_refund(order=order, line_ids=payload.lines or None, now=clock_now())
    return quote_out(quote)


@router.post(
    "/orders/{number}/refunds",
    auth=django_auth,
    response={201: RefundRequestOut, **_ERRORS},
    summary="Request a refund",
)
def request_refund(request, number: str, payload: RefundRequestIn):
    """Refund these tickets (all still valid when ``lines`` is empty). Approved at once
    when the policy allows, else waiting for the organizer. Send ``expected_fee`` as quoted:
    a different fee now is refused (409) with the new one. The same ``Idempotency-Key``
    answers the same request."""
    _require_object(request)
    now = clock_now()
    user = request.auth
    order = get_order_for_user(number=number[:20], user=user)

    def run():
        created = services.request_refund(
            order=order,
            user=user,
            line_ids=payload.lines or None,
            reason=payload.reason,
            expected_fee=payload.expected_fee,
            now=now,
        )
        return 201, {"id": str(created.pk)}

    status, body = run_idempotent(
        request,
        scope="aftersales.refund",
        user_id=user.pk,
        payload=payload.model_dump(mode="json"),
        now=now,
        run=run,
    )
    return Status(status, request_out(_request_of(user, UUID(body["id"]))))


@router.get(
    "/orders/{number}/refunds",
    auth=django_auth,
    response={200: list[RefundRequestOut], 404: ErrorOut},
    summary="Refund requests of an order",
)
def list_refunds(request, number: str):
    order = get_order_for_user(number=number[:20], user=request.auth)
    return [request_out(found) for found in selectors.requests_of_order(order)]


@router.get(
    "/refunds/{request_id}",
    auth=django_auth,
    response={200: RefundRequestOut, 404: ErrorOut},
    summary="A refund request",
)
def get_refund(request, request_id: UUID):
    """Where your request is: requested, approved, refunding, refunded, rejected (with the
    organizer's reason) or withdrawn."""
    return request_out(_request_of(request.auth, request_id))


@router.post(
    "/refunds/{request_id}/withdraw",
    auth=django_auth,
    response={200: RefundRequestOut, **_ERRORS},
    summary="Withdraw a refund request",
)
def withdraw_refund(request, request_id: UUID):
    """Withdraw a request still waiting for the organizer; the tickets stay valid."""
    found = _request_of(request.auth, request_id)
    done = services.withdraw_refund(request=found, user=request.auth, now=clock_now())
    return request_out(done)
