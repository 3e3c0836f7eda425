"""The box office: money taken by staff at the venue, in cash or by card on the venue's own
terminal. Tessera records it as a payment of this provider (``Payment.options["method"]``:
``cash`` or ``card``) that succeeded when the staff member confirmed the sale; there is no
gateway behind it, so nothing is opened, notified or queried remotely.

A refund cannot be sent anywhere either: the money goes back at the counter. ``refund``
therefore answers FAILED with that instruction; once the buyer has the money, the
organizer's staff confirm it on the order's back-office page (or an operator in the refund
queue), which settles the refund by hand (``settle_refund_by_hand``).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tessera.payments.providers.base import (
    FAILED,
    SUCCEEDED,
    CallbackData,
    CallbackForged,
    CallbackResponse,
    CreateResult,
    PaymentProvider,
    ProviderError,
    RefundResult,
)

NAME = "box_office"
METHODS = ("cash", "card")


@dataclass
class BoxOfficeProvider(PaymentProvider):
    name = NAME

    @classmethod
    def from_settings(cls) -> "BoxOfficeProvider":
        return cls()

    def create(self, payment, *, return_url: str, notify_url: str) -> CreateResult:
        # Box-office payments are recorded as taken (sale.box_office); none is started.
        raise ProviderError(details={"reason": "box-office payments are taken at the counter"})

    def verify_callback(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> CallbackData:
        raise CallbackForged("the box office sends no notifications")

    def query(self, payment) -> str:
        return SUCCEEDED if payment.status in ("succeeded", "refunded") else FAILED

    def refund(self, payment, amount: Decimal, reason: str, *, refund_id: str) -> RefundResult:
        method = (payment.options or {}).get("method", "")
        return RefundResult(
            status=FAILED,
            detail=f"paid at the box office ({method}): give {amount} {payment.currency} back "
            "at the counter, then mark the refund as returned by hand",
        )

    def callback_response(self, ok: bool) -> CallbackResponse:
        return CallbackResponse(404, "text/plain", b"no notifications")
