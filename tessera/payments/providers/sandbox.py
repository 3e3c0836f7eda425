"""The merchant side of the sandbox gateway (``tessera.sandbox``).

Like the Alipay and WeChat adapters it only sends the buyer to the gateway, verifies the
gateway's signed callbacks, queries and refunds; what the buyer does happens on the
gateway's own page. Starting a payment is a signed cashier link built locally
(``prepare``): no request to the gateway and no database write.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tessera.core.money import to_minor_units
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
    TradeRequest,
    header,
    parse_payment_id,
    trade_request,
)
from tessera.sandbox import pagepay, signing
from tessera.sandbox import services as gateway
from tessera.sandbox.models import SandboxTradeStatus


@dataclass
class SandboxProvider(PaymentProvider):
    name = "sandbox"
    prepares_locally = True

    @classmethod
    def from_settings(cls) -> "SandboxProvider":
        return cls()

    def prepare(self, trade: TradeRequest) -> CreateResult:
        terms = pagepay.TradeTerms(
            payment_id=trade.payment_id,
            amount_minor=trade.amount_minor,
            currency=trade.currency,
            order_number=trade.order_number,
            subject=trade.subject,
            merchant_name=trade.merchant_name,
            notify_url=trade.notify_url,
            return_url=trade.return_url,
            switches=trade.options,
        )
        return CreateResult(redirect_url=pagepay.page_pay_url(terms))

    def create(self, payment, *, return_url: str, notify_url: str) -> CreateResult:
        return self.prepare(trade_request(payment, return_url=return_url, notify_url=notify_url))

    def verify_callback(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> CallbackData:
        if not signing.signature_valid(body, header(headers, signing.SIGNATURE_HEADER)):
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
            payer_id = str(event.get("payer") or "")[:128]
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
            payer_id=payer_id,
        )

    def query(self, payment) -> str:
        """PENDING until the buyer decided at the gateway (no trade exists before)."""
        return {SandboxTradeStatus.PAID: SUCCEEDED, SandboxTradeStatus.FAILED: FAILED}.get(
            gateway.query_trade(payment.id), PENDING
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
