"""The sandbox gateway: a payment provider that runs inside Tessera but behaves like a real one.

It is a separate party. It knows its merchant only through the signed cashier link
(``pagepay``) and the notify URL in it, keeps its own trades (``SandboxTrade``), shows its own
cashier page, and tells the merchant the result only through signed HTTP callbacks
(``signing``) POSTed to that notify URL from its delivery pool (``delivery``). It imports
nothing of the merchant's apps.

A trade comes into existence when the buyer presses "pay" or "fail": one INSERT … ON CONFLICT
on the payment id records it with its decision, so a second press, however close, changes
nothing. The merchant may query a trade (``query_trade``: a payment whose buyer never decided
is still waiting) and refund a paid one (``refund_trade``).

Switches in the cashier link make the gateway misbehave the way real ones do:

- ``fail``: the trade fails whichever button the buyer presses;
- ``delay_seconds``: the callbacks leave that many seconds after the button is pressed
  (with ``SANDBOX_DELIVERY = "pool"``; at once with ``"inline"``);
- ``duplicates``: the result is delivered that many times;
- ``out_of_order``: an older "failed" event (a declined first attempt) arrives after the success.
"""

import json
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError
from tessera.sandbox import delivery
from tessera.sandbox.errors import TradeClosed, TradeNotFound
from tessera.sandbox.models import SandboxTrade, SandboxTradeStatus
from tessera.sandbox.pagepay import MAX_DELAY_SECONDS, MAX_DUPLICATES, TradeTerms
from tessera.sandbox.signing import SignedCallback, signed_callback

CHOICES = ("pay", "fail")
# The first event of a trade is its opening (sequence 1); the decision is the next one.
_DECIDED_SEQUENCE = 2


MAX_PAYER_LENGTH = 64


def clean_payer(payer: str) -> str:
    """A payer account as typed on the cashier page: trimmed; letters, digits and ``@._-+``
    only, at most 64 characters. Raises DomainError otherwise."""
    payer = (payer or "").strip()
    if len(payer) > MAX_PAYER_LENGTH or not all(c.isalnum() or c in "@._-+" for c in payer):
        raise DomainError(
            _("A payer account has at most %(max)d letters, digits or the signs @ . _ - +.")
            % {"max": MAX_PAYER_LENGTH},
            details={"payer": "invalid"},
        )
    return payer


def find_trade(payment_id: UUID) -> SandboxTrade | None:
    return SandboxTrade.objects.filter(payment_id=payment_id).first()


def get_trade(payment_id: UUID) -> SandboxTrade:
    """The trade of a merchant payment. Raises TradeNotFound."""
    trade = find_trade(payment_id)
    if trade is None:
        raise TradeNotFound
    return trade


def query_trade(payment_id: UUID) -> str:
    """The gateway's answer to the merchant's query: the trade's status, ``waiting`` for a
    payment whose buyer has not decided (no trade yet)."""
    status = (
        SandboxTrade.objects.filter(payment_id=payment_id).values_list("status", flat=True).first()
    )
    return status or SandboxTradeStatus.WAITING


def record_choice(
    *, terms: TradeTerms, choice: str, now: datetime, payer: str = ""
) -> SandboxTrade:
    """The buyer pressed "pay" or "fail" on the cashier page of ``terms``, paying from the
    gateway account ``payer`` (empty: none said; see ``clean_payer``).

    One statement: the trade is inserted already decided, or a trade still waiting (opened
    before links carried their terms) is decided. Raises TradeClosed when the trade was
    already decided (nothing changes), DomainError for an unknown choice.
    """
    if choice not in CHOICES:
        raise DomainError(_("Unknown choice."))
    switches = terms.switches
    succeeded = choice == "pay" and not switches.get("fail")
    out_of_order = succeeded and bool(switches.get("out_of_order"))
    decided = SandboxTrade(
        reference=f"SBX{now:%Y%m%d}{secrets.token_hex(8).upper()}",
        payment_id=terms.payment_id,
        merchant_name=terms.merchant_name,
        order_number=terms.order_number,
        subject=terms.subject,
        amount_minor=terms.amount_minor,
        currency=terms.currency,
        notify_url=terms.notify_url,
        return_url=terms.return_url,
        switches=switches,
        status=SandboxTradeStatus.PAID if succeeded else SandboxTradeStatus.FAILED,
        # A declined first attempt, reported late, takes the number before the success.
        sequence=_DECIDED_SEQUENCE + out_of_order,
        created_at=now,
        decided_at=now,
        refunds={},
        payer=clean_payer(payer),
    )
    rows = list(SandboxTrade.objects.raw(*_decide_sql(decided)))
    if not rows:
        raise TradeClosed
    return rows[0]


def _decide_sql(trade: SandboxTrade) -> tuple[str, list]:
    """INSERT the decided trade, or decide the waiting one of the same payment; RETURNING the
    row, so nothing comes back when the trade was already decided."""
    meta = SandboxTrade._meta
    qn = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    columns = ", ".join(qn(f.column) for f in fields)
    values = [f.get_db_prep_save(f.pre_save(trade, add=True), connection) for f in fields]
    table = qn(meta.db_table)
    placeholders = ", ".join(["%s"] * len(fields))
    decided = ", ".join(
        f"{qn(c)} = excluded.{qn(c)}" for c in ("status", "sequence", "decided_at", "payer")
    )
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608 - our own names
        f"ON CONFLICT ({qn('payment_id')}) DO UPDATE SET {decided} "
        f"WHERE {table}.{qn('status')} = %s RETURNING *"
    )
    return sql, [*values, SandboxTradeStatus.WAITING.value]


def press_button(*, terms: TradeTerms, choice: str, now: datetime, payer: str = "") -> SandboxTrade:
    """The cashier page's action: record the choice and, once that is committed, hand the
    trade's signed callbacks to the delivery (later, with ``delay_seconds``). Raises as
    ``record_choice`` does."""
    trade = record_choice(terms=terms, choice=choice, now=now, payer=payer)
    callbacks = tuple(build_callbacks(trade))
    delay = min(max(int(trade.switches.get("delay_seconds") or 0), 0), MAX_DELAY_SECONDS)
    job = delivery.Delivery(
        reference=trade.reference, notify_url=trade.notify_url, callbacks=callbacks
    )
    transaction.on_commit(lambda: delivery.deliver(job, delay_seconds=delay))
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
            **({"payer": trade.payer} if trade.payer else {}),
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    return signed_callback(body)


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
