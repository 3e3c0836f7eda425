"""The provider interface every payment gateway adapter implements.

Money crosses this boundary only as integer minor units (fen for CNY), converted with
``tessera.core.money.to_minor_units``; inside Tessera it stays ``Decimal``. Adapters never
touch the database of orders or payments. Services call them outside any transaction, except
``prepare``: a provider whose payment page is a signed redirect (``prepares_locally``)
computes it without network or database, so it runs inside the transaction that writes the
payment.
"""

import json
import logging
import urllib.error
import urllib.request
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar, Protocol

from django.utils.translation import gettext_lazy as _

from tessera.core.clock import now as clock_now
from tessera.core.errors import DomainError, NotFound
from tessera.core.money import to_minor_units

logger = logging.getLogger(__name__)

SUCCEEDED = "succeeded"
FAILED = "failed"
PENDING = "pending"
CALLBACK_STATUSES = (SUCCEEDED, FAILED, PENDING)


class CallbackForged(DomainError):
    """A callback whose signature, key, timestamp or encryption does not check out."""

    code = "callback_forged"
    status = 400
    default_message = _("The payment notification could not be verified.")

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(details={"reason": reason})


class UnknownProvider(NotFound):
    code = "unknown_provider"
    default_message = _("This payment method does not exist.")


class ProviderUnavailable(DomainError):
    """The provider is not configured here, or could not be reached."""

    code = "provider_unavailable"
    status = 503
    default_message = _("This payment method is not available right now; please try another.")


class ProviderNotConfigured(ProviderUnavailable):
    """The provider exists in the code but this installation has no account with it: the
    buyer's choice is wrong, not the server (a 4xx, never a 503)."""

    code = "provider_not_configured"
    status = 422
    default_message = _("This payment method is not offered here; please choose another.")


class ProviderError(DomainError):
    """The provider answered, but with an error or an answer we cannot trust."""

    code = "provider_error"
    status = 502
    default_message = _("The payment provider refused the request; please try again later.")


@dataclass(frozen=True)
class CreateResult:
    """Where the buyer pays: a cashier page to redirect to and/or the content of a QR code."""

    provider_reference: str = ""
    redirect_url: str = ""
    qr_content: str = ""


@dataclass(frozen=True)
class TradeRequest:
    """Everything a provider needs to open a trade; plain values, no ORM objects."""

    payment_id: uuid.UUID
    amount_minor: int
    currency: str
    order_number: str
    subject: str  # what is bought, as the buyer reads it at the provider
    merchant_name: str
    return_url: str
    notify_url: str
    options: dict  # the sandbox's switches; {} for other providers


@dataclass(frozen=True)
class CallbackData:
    """A verified callback, reduced to what Tessera acts on."""

    payment_id: str
    provider_reference: str
    status: str  # one of CALLBACK_STATUSES
    amount_minor: int
    currency: str
    # The provider's ordering of its events (larger is newer), for out-of-order deliveries.
    sequence: int
    event_at: datetime | None = None
    # The payer's account at the provider ("" when the provider does not say).
    payer_id: str = ""


@dataclass(frozen=True)
class RefundResult:
    status: str  # SUCCEEDED, PENDING (the provider is still processing) or FAILED
    provider_reference: str = ""
    detail: str = ""


@dataclass(frozen=True)
class CallbackResponse:
    """What the gateway expects as the answer to its notification."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return header(self.headers, name)

    def json(self) -> dict:
        try:
            value = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProviderError(details={"reason": "response is not JSON"}) from exc
        if not isinstance(value, dict):
            raise ProviderError(details={"reason": "response is not a JSON object"})
        return value


class Transport(Protocol):
    """Sends one HTTP request to a provider. Tests pass a local fake."""

    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResult: ...


@dataclass
class UrllibTransport:
    timeout_seconds: float = 10.0

    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResult:
        if not url.startswith("https://"):
            raise ProviderUnavailable(details={"reason": "provider URLs must use HTTPS"})
        request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
                return HttpResult(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as exc:
            return HttpResult(exc.code, dict(exc.headers.items()), exc.read())
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            logger.warning("payment provider unreachable: %s %s: %s", method, url, exc)
            raise ProviderUnavailable(details={"reason": "provider unreachable"}) from exc


@dataclass
class PaymentProvider(ABC):
    """One payment gateway. Subclasses set ``name`` and implement the five operations;
    those whose payment page is a signed redirect also set ``prepares_locally`` and
    implement ``prepare``."""

    name: ClassVar[str]
    prepares_locally: ClassVar[bool] = False
    transport: Transport = field(default_factory=UrllibTransport)
    clock: Callable[[], datetime] = clock_now

    def prepare(self, trade: TradeRequest) -> CreateResult:
        """Where the buyer pays, computed locally: no network, no database, so it may run
        inside the caller's transaction. Only providers whose payment page is a signed
        redirect (``prepares_locally``); the others raise NotImplementedError and open their
        trades with ``create`` after commit."""
        raise NotImplementedError(f"{self.name} opens trades with create()")

    @abstractmethod
    def create(self, payment, *, return_url: str, notify_url: str) -> CreateResult:
        """Open the trade at the provider; returns where the buyer pays."""

    @abstractmethod
    def verify_callback(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> CallbackData:
        """Check the notification's authenticity and decode it. Raises CallbackForged."""

    @abstractmethod
    def query(self, payment) -> str:
        """The provider's view of the payment: SUCCEEDED, FAILED or PENDING."""

    @abstractmethod
    def refund(self, payment, amount: Decimal, reason: str, *, refund_id: str) -> RefundResult:
        """Return ``amount`` of the payment to the buyer. ``refund_id`` makes retries safe:
        the provider refunds one number once."""

    @abstractmethod
    def callback_response(self, ok: bool) -> CallbackResponse:
        """The answer the gateway expects; ``ok=False`` asks it to deliver again."""


def header(headers: Mapping[str, str], name: str) -> str:
    """A header's value by case-insensitive name, '' when absent."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def amount_minor(payment) -> int:
    return to_minor_units(payment.amount, payment.currency)


def trade_request(payment, *, return_url: str, notify_url: str) -> TradeRequest:
    """The TradeRequest of a stored payment (reads its order, session, event and organizer)."""
    order = payment.order
    event = order.session.event
    return TradeRequest(
        payment_id=payment.id,
        amount_minor=amount_minor(payment),
        currency=payment.currency,
        order_number=order.number,
        subject=event.display_name,
        merchant_name=event.organization.display_name,
        return_url=return_url,
        notify_url=notify_url,
        options=dict(payment.options or {}),
    )


def minor_to_decimal(amount: int, currency: str) -> Decimal:
    """Minor units back to a Decimal, for providers whose API speaks in yuan."""
    exponent = to_minor_units(Decimal(1), currency)  # 100 for CNY
    return (Decimal(amount) / exponent).quantize(Decimal(1) / exponent)


def out_trade_no(payment) -> str:
    """Our payment id as providers see it: 32 hex digits (Alipay and WeChat allow [0-9a-z])."""
    return payment.id.hex


def parse_payment_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except (ValueError, AttributeError, TypeError):
        return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_micros(moment: datetime) -> int:
    """Microseconds since 1970 (exact, no float): the sequence of time-ordered events."""
    return (moment - _EPOCH) // timedelta(microseconds=1)
