"""The merchant side of the sandbox gateway (see ``tessera.payments.sandbox_gateway``).

Like the Alipay and WeChat adapters it only opens trades, verifies the gateway's signed
callbacks, queries and refunds; what the buyer does happens on the gateway's own page.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.urls import reverse

from tessera.core.money import to_minor_units
from tessera.payments import sandbox_gateway as gateway
from tessera.payments.conf import public_url
from tessera.payments.models import SandboxTradeStatus
from tessera.payments.providers.base import (
    CALLBACK_STATUSES,
    FAILED,
    PENDING,
    SUCCEEDED,
    CallbackData,
    CallbackForged,
    CallbackResponse,
    CreateResult,
    PaymentProvider,
    RefundResult,
    amount_minor,
    header,
    parse_payment_id,
)


@dataclass
class SandboxProvider(PaymentProvider):
    name = "sandbox"

    @classmethod
    def from_settings(cls) -> "SandboxProvider":
        return cls()

    def create(self, payment, *, return_url: str, notify_url: str) -> CreateResult:
        order = payment.order
        event = order.session.event
        trade = gateway.open_trade(
            payment_id=payment.id,
            merchant_name=event.organization.display_name,
            order_number=order.number,
            subject=event.display_name,
            amount_minor=amount_minor(payment),
            currency=payment.currency,
            notify_url=notify_url,
            return_url=return_url,
            switches=payment.options or {},
            now=self.clock(),
        )
        cashier = public_url() + reverse("payments:sandbox_cashier", args=[payment.id])
        return CreateResult(
            provider_reference=trade.reference, redirect_url=cashier, qr_content=cashier
        )

    def verify_callback(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> CallbackData:
        if not gateway.signature_valid(body, header(headers, gateway.SIGNATURE_HEADER)):
            raise CallbackForged("signature does not match")
        try:
            event = json.loads(body.decode("utf-8"))
            payment_id = str(event["payment_id"])
            status = event["status"]
            amount = event["amount"]
            sequence = event["sequence"]
            event_at = datetime.fromisoformat(event["event_at"])
            reference = str(event["reference"])
            currency = str(event["currency"])
        except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise CallbackForged("malformed body") from exc
        if (
            status not in CALLBACK_STATUSES
            or type(amount) is not int
            or type(sequence) is not int
            or parse_payment_id(payment_id) is None
        ):
            raise CallbackForged("malformed body")
        return CallbackData(
            payment_id=payment_id,
            provider_reference=reference,
            status=status,
            amount_minor=amount,
            currency=currency,
            sequence=sequence,
            event_at=event_at,
        )

    def query(self, payment) -> str:
        trade = gateway.get_trade(payment.id)
        return {SandboxTradeStatus.PAID: SUCCEEDED, SandboxTradeStatus.FAILED: FAILED}.get(
            trade.status, PENDING
        )

    def refund(self, payment, amount: Decimal, reason: str, *, refund_id: str) -> RefundResult:
        accepted, detail = gateway.refund_trade(
            payment_id=payment.id,
            refund_no=refund_id,
            amount_minor=to_minor_units(amount, payment.currency),
        )
        return RefundResult(
            status=SUCCEEDED if accepted else FAILED,
            provider_reference=f"SBXR-{refund_id}"[:80] if accepted else "",
            detail=detail,
        )

    def callback_response(self, ok: bool) -> CallbackResponse:
        payload = {"code": "SUCCESS"} if ok else {"code": "FAIL", "message": "rejected"}
        return CallbackResponse(
            200 if ok else 400, "application/json", json.dumps(payload).encode()
        )
