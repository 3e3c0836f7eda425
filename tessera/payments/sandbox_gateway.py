"""The sandbox gateway: a payment provider that runs inside Tessera but behaves like a real one.

It keeps its own trades (``SandboxTrade``), shows its own cashier page, and tells the merchant
the result only through signed HTTP callbacks to the notify URL it was given, sent from a
background task. The merchant side (``providers/sandbox.py``) knows nothing more than what
arrives in those callbacks.

Callbacks are JSON bodies signed with HMAC-SHA256 under the sandbox merchant secret (derived
from SECRET_KEY), hex in the ``X-Sandbox-Signature`` header. Switches chosen when the payment
was created (``Payment.options``) make the gateway misbehave the way real ones do:

- ``fail``: the trade fails whichever button the buyer presses;
- ``delay_seconds``: the callbacks leave that many seconds after the button is pressed
  (on a task backend that supports ``run_after``; immediately otherwise);
- ``duplicates``: the result is delivered that many times;
- ``out_of_order``: an older "failed" event (a declined first attempt) arrives after the success.
"""

import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, NotFound
from tessera.payments.conf import sandbox_merchant_secret
from tessera.payments.models import SandboxTrade, SandboxTradeStatus

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Sandbox-Signature"
SWITCH_NAMES = ("fail", "delay_seconds", "duplicates", "out_of_order")
MAX_DUPLICATES = 10
MAX_DELAY_SECONDS = 3600


class TradeNotFound(NotFound):
    code = "sandbox_trade_not_found"
    default_message = _("This payment does not exist at the sandbox gateway.")


class TradeClosed(DomainError):
    code = "sandbox_trade_closed"
    status = 409
    default_message = _("This payment has already been completed at the sandbox gateway.")


@dataclass(frozen=True)
class SignedCallback:
    headers: dict[str, str]
    body: bytes


def sign(body: bytes) -> str:
    return hmac.new(sandbox_merchant_secret(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(body), signature or "")


def open_trade(
    *,
    payment_id: UUID,
    merchant_name: str,
    order_number: str,
    subject: str,
    amount_minor: int,
    currency: str,
    notify_url: str,
    return_url: str,
    switches: dict,
    now: datetime,
) -> SandboxTrade:
    """Register a trade, as a gateway's "create" API does. Idempotent per payment id."""
    trade, _created = SandboxTrade.objects.get_or_create(
        payment_id=payment_id,
        defaults={
            "reference": f"SBX{now:%Y%m%d}{secrets.token_hex(8).upper()}",
            "merchant_name": merchant_name[:120],
            "order_number": order_number[:40],
            "subject": subject[:200],
            "amount_minor": amount_minor,
            "currency": currency,
            "notify_url": notify_url,
            "return_url": return_url,
            "switches": {k: v for k, v in switches.items() if k in SWITCH_NAMES},
            "created_at": now,
        },
    )
    return trade


def get_trade(payment_id: UUID) -> SandboxTrade:
    trade = SandboxTrade.objects.filter(payment_id=payment_id).first()
    if trade is None:
        raise TradeNotFound
    return trade


def record_choice(*, payment_id: UUID, choice: str, now: datetime) -> SandboxTrade:
    """The buyer pressed "pay" or "fail" on the cashier page.

    Raises TradeNotFound, or TradeClosed when the trade was already decided (nothing changes).
    """
    if choice not in ("pay", "fail"):
        raise DomainError(_("Unknown choice."))
    with transaction.atomic():
        trade = SandboxTrade.objects.select_for_update().filter(payment_id=payment_id).first()
        if trade is None:
            raise TradeNotFound
        if trade.status != SandboxTradeStatus.WAITING:
            raise TradeClosed
        succeeded = choice == "pay" and not trade.switches.get("fail")
        if succeeded and trade.switches.get("out_of_order"):
            trade.sequence += 1  # a declined first attempt, reported late
        trade.sequence += 1
        trade.status = SandboxTradeStatus.PAID if succeeded else SandboxTradeStatus.FAILED
        trade.decided_at = now
        trade.save(update_fields=["sequence", "status", "decided_at"])
    return trade


def _event(trade: SandboxTrade, *, status: str, sequence: int, at: datetime) -> SignedCallback:
    body = json.dumps(
        {
            "payment_id": str(trade.payment_id),
            "reference": trade.reference,
            "status": status,
            "amount": trade.amount_minor,
            "currency": trade.currency,
            "event_at": at.isoformat(),
            "sequence": sequence,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    return SignedCallback({"Content-Type": "application/json", SIGNATURE_HEADER: sign(body)}, body)


def build_callbacks(trade: SandboxTrade) -> list[SignedCallback]:
    """The notifications the gateway sends for a decided trade, in delivery order."""
    if trade.status == SandboxTradeStatus.WAITING or trade.decided_at is None:
        return []
    paid = trade.status == SandboxTradeStatus.PAID
    result = _event(
        trade,
        status="succeeded" if paid else "failed",
        sequence=trade.sequence,
        at=trade.decided_at,
    )
    copies = min(max(int(trade.switches.get("duplicates") or 1), 1), MAX_DUPLICATES)
    callbacks = [result] * copies
    if paid and trade.switches.get("out_of_order"):
        callbacks.append(
            _event(
                trade,
                status="failed",
                sequence=trade.sequence - 1,
                at=trade.decided_at - timedelta(seconds=1),
            )
        )
    return callbacks


def press_button(*, payment_id: UUID, choice: str, now: datetime) -> SandboxTrade:
    """The cashier page's action: record the choice, and once that is committed, have a
    background task deliver the callbacks (later, with ``delay_seconds``)."""
    from tessera.payments.tasks import deliver_sandbox_callbacks

    with transaction.atomic():
        trade = record_choice(payment_id=payment_id, choice=choice, now=now)
        delay = min(max(int(trade.switches.get("delay_seconds") or 0), 0), MAX_DELAY_SECONDS)

        def enqueue() -> None:
            task = deliver_sandbox_callbacks
            if delay and task.get_backend().supports_defer:
                task = task.using(run_after=now + timedelta(seconds=delay))
            task.enqueue(trade.reference)

        transaction.on_commit(enqueue)
    return trade


def deliver_over_http(trade: SandboxTrade, *, timeout_seconds: float = 10.0) -> list[int]:
    """POST each callback to the trade's notify URL; the HTTP statuses, in order.

    A delivery that is refused or unreachable is logged and the rest still go out (a real
    gateway retries later; the merchant's ``query`` settles anything left open).
    """
    statuses: list[int] = []
    if not trade.notify_url.startswith(("http://", "https://")):
        logger.error("sandbox trade %s has no HTTP notify URL", trade.reference)
        return statuses
    for callback in build_callbacks(trade):
        request = urllib.request.Request(  # noqa: S310 - http(s) notify URL from our own settings
            trade.notify_url, data=callback.body, headers=callback.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_seconds) as response:  # noqa: S310
                statuses.append(response.status)
        except urllib.error.HTTPError as exc:
            logger.warning("sandbox callback refused: %s %s", trade.reference, exc.code)
            statuses.append(exc.code)
        except (urllib.error.URLError, OSError) as exc:
            logger.warning("sandbox callback undeliverable: %s %s", trade.reference, exc)
            statuses.append(0)
    return statuses


def deliver_callback_locally(*, payment_id: UUID, now: datetime) -> list:
    """Hand the trade's callbacks straight to ``services.handle_callback`` in this process,
    byte for byte as they would travel over HTTP. For tests and the demo; returns the
    CallbackLogs."""
    from tessera.payments.services import handle_callback

    trade = get_trade(payment_id)
    return [
        handle_callback(provider="sandbox", headers=cb.headers, body=cb.body, now=now)
        for cb in build_callbacks(trade)
    ]


def pay_locally(*, payment_id: UUID, now: datetime, choice: str = "pay") -> list:
    """The buyer presses ``choice`` and the gateway's callbacks arrive in-process."""
    record_choice(payment_id=payment_id, choice=choice, now=now)
    return deliver_callback_locally(payment_id=payment_id, now=now)


def refund_trade(*, payment_id: UUID, refund_no: str, amount_minor: int) -> tuple[bool, str]:
    """Refund part or all of a paid trade; the same refund number refunds once.
    Returns (accepted, reason)."""
    with transaction.atomic():
        trade = SandboxTrade.objects.select_for_update().filter(payment_id=payment_id).first()
        if trade is None:
            return False, "trade not found"
        if refund_no in trade.refunds:
            return True, "already refunded"
        if trade.status != SandboxTradeStatus.PAID:
            return False, "trade not paid"
        if amount_minor <= 0 or trade.refunded_minor + amount_minor > trade.amount_minor:
            return False, "refund exceeds the amount paid"
        trade.refunds = {**trade.refunds, refund_no: amount_minor}
        trade.save(update_fields=["refunds"])
    return True, ""
