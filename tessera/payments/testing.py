"""The sandbox gateway driven in-process, for tests and the demo.

The buyer's choice is recorded at the gateway from the payment's own signed cashier link (so
its terms pass the gateway's signature check), and the gateway's callbacks reach the
merchant byte for byte as they would travel over HTTP: handed to
``services.handle_callback`` (``deliver_callback_locally``) or POSTed through the real notify
endpoint with a Django test client (``post_callbacks``). Nothing here skips the merchant's
verification.
"""

from datetime import datetime
from urllib.parse import urlsplit
from uuid import UUID

from tessera.payments.models import CallbackLog, Payment
from tessera.payments.services import handle_callback
from tessera.sandbox import pagepay
from tessera.sandbox import services as gateway
from tessera.sandbox.models import SandboxTrade
from tessera.sandbox.signing import SIGNATURE_HEADER


def cashier_terms(payment: Payment) -> pagepay.TradeTerms:
    """What the payment's cashier link tells the gateway (its signature checked)."""
    return pagepay.terms_from_url(payment.cashier_url)


def decide(*, payment: Payment, choice: str, now: datetime, payer: str = "") -> SandboxTrade:
    """The buyer presses ``choice`` on the payment's cashier page (paying from the gateway
    account ``payer``); no callback is sent. Raises as ``tessera.sandbox.services.record_choice``
    does."""
    return gateway.record_choice(terms=cashier_terms(payment), choice=choice, now=now, payer=payer)


def deliver_callback_locally(*, payment_id: UUID, now: datetime) -> list[CallbackLog]:
    """Hand the trade's callbacks straight to ``services.handle_callback`` in this process,
    byte for byte as they would travel over HTTP; returns the CallbackLogs."""
    trade = gateway.get_trade(payment_id)
    return [
        handle_callback(provider="sandbox", headers=cb.headers, body=cb.body, now=now)
        for cb in gateway.build_callbacks(trade)
    ]


def pay_locally(*, payment_id: UUID, now: datetime, choice: str = "pay") -> list[CallbackLog]:
    """The buyer presses ``choice`` and the gateway's callbacks arrive in-process."""
    decide(payment=Payment.objects.get(pk=payment_id), choice=choice, now=now)
    return deliver_callback_locally(payment_id=payment_id, now=now)


def post_callbacks(client, trade: SandboxTrade) -> list:
    """POST the trade's callbacks to its notify URL's path through a Django test client
    (the real notify endpoint), with the gateway's headers and exact body; the responses."""
    path = urlsplit(trade.notify_url).path
    return [
        client.post(
            path,
            callback.body,
            content_type=callback.headers["Content-Type"],
            headers={SIGNATURE_HEADER: callback.headers[SIGNATURE_HEADER]},
        )
        for callback in gateway.build_callbacks(trade)
    ]
