"""Payments: start one at a provider, apply the provider's callbacks, complete the sale,
refund what cannot be sold.

No provider is ever called over the network while a database transaction is open: a provider
whose payment page is a signed redirect (the sandbox, Alipay's page pay) computes it locally
while the payment is written, in the same INSERT; for the others ``start_payment`` writes the
payment, commits, asks the provider, then stores the answer. Refunds run after commit from a
task. A success callback completes the sale in ONE transaction (places sold, ledger charge,
tickets, order fulfilled) while the payment row is locked, so concurrent duplicate
deliveries apply once.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.core import audit, locks
from tessera.core.errors import DomainError, InvalidInput, NotFound
from tessera.core.money import to_minor_units
from tessera.inventory.services import HoldLost
from tessera.notifications.models import Kind
from tessera.notifications.services import notify
from tessera.orders import services as orders
from tessera.orders.models import LedgerEntry, LedgerKind, Order, OrderStatus
from tessera.orders.services import OrderNotFound, OrderNotPayable, PaymentMismatch
from tessera.payments.conf import public_url
from tessera.payments.models import (
    CallbackLog,
    CallbackOutcome,
    LedgerCheck,
    LedgerDifference,
    Payment,
    PaymentStatus,
    Provider,
    Refund,
    RefundStatus,
)
from tessera.payments.providers import OFFLINE as OFFLINE_PROVIDERS
from tessera.payments.providers import get_provider
from tessera.payments.providers.base import (
    FAILED,
    PENDING,
    SUCCEEDED,
    CallbackData,
    CallbackForged,
    ProviderError,
    ProviderUnavailable,
    TradeRequest,
    UnknownProvider,
    minor_to_decimal,
    parse_payment_id,
)
from tessera.sandbox.pagepay import MAX_DELAY_SECONDS, MAX_DUPLICATES
from tessera.tickets.services import issue_tickets

logger = logging.getLogger(__name__)

_PAID_STATES = (
    OrderStatus.PAID,
    OrderStatus.FULFILLED,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.REFUNDED,
)
_LOGGED_HEADERS_MAX = 40
_LOGGED_BODY_MAX = 20_000
_SECRET_HEADERS = {"cookie", "authorization", "proxy-authorization"}

# Why a paid payment could not buy its order; the buyer reads the reason on the order.
PLACES_LOST = "places_lost"
ORDER_CLOSED = "order_closed"
ALREADY_PAID = "already_paid"
AMOUNT_DIFFERS = "amount_differs"
PAYER_LIMIT = "payer_limit"  # a paid hook's OrderNotPayable with this ``cause`` (tessera.limits)
_REASONS = {
    PLACES_LOST: _(
        "Your payment arrived after your seats were released and some were taken; "
        "it has been refunded in full."
    ),
    ORDER_CLOSED: _(
        "Your payment arrived after this order was closed; it has been refunded in full."
    ),
    ALREADY_PAID: _(
        "This order had already been paid; the second payment has been refunded in full."
    ),
    AMOUNT_DIFFERS: _(
        "The amount paid was not this order's amount; it is being returned to you and the "
        "order is still waiting for payment."
    ),
    PAYER_LIMIT: _(
        "This payment account has already paid for the most tickets allowed for this "
        "session or event; the order was not completed and your payment has been refunded "
        "in full."
    ),
}


class InvalidPaymentOptions(InvalidInput):
    code = "invalid_payment_options"
    default_message = _("These payment options are not valid.")


class NothingToPay(DomainError):
    code = "nothing_to_pay"
    status = 409
    default_message = _("This order has nothing to pay.")


# -- starting a payment ------------------------------------------------------------------------


def clean_options(*, provider: str, options: dict | None) -> dict:
    """The sandbox's switches, checked; other providers take none.

    ``fail`` and ``out_of_order`` are booleans, ``delay_seconds`` 0–3600, ``duplicates``
    1–10. Raises InvalidPaymentOptions naming the offending option.
    """
    if provider in OFFLINE_PROVIDERS:
        raise UnknownProvider  # taken at the counter only (sale.box_office)
    options = options or {}
    if not isinstance(options, dict):
        raise InvalidPaymentOptions
    if provider != Provider.SANDBOX:
        if options:
            raise InvalidPaymentOptions(details={"options": sorted(options)})
        return {}
    clean: dict = {}
    for name, value in options.items():
        if name in ("fail", "out_of_order"):
            if not isinstance(value, bool):
                raise InvalidPaymentOptions(details={"option": name})
            clean[name] = value
        elif name in ("delay_seconds", "duplicates"):
            low, high = (0, MAX_DELAY_SECONDS) if name == "delay_seconds" else (1, MAX_DUPLICATES)
            if type(value) is not int or not low <= value <= high:
                raise InvalidPaymentOptions(details={"option": name, "min": low, "max": high})
            clean[name] = value
        else:
            raise InvalidPaymentOptions(details={"option": name})
    return clean


def notify_url(provider: str) -> str:
    """Where a provider posts its callbacks: the same endpoint for real and sandbox."""
    return f"{public_url()}/api/v1/payments/callbacks/{provider}"


def return_url(order: Order) -> str:
    """Where the provider's cashier sends the buyer back: the order's page."""
    try:
        path = reverse("storefront:order", kwargs={"number": order.number})
    except NoReverseMatch:
        path = f"/orders/{order.number}/"
    return public_url() + path


def start_payment(
    *, order: Order, provider: str, user, now: datetime, options: dict | None = None
) -> Payment:
    """Open a payment of the order's total at ``provider`` and return it with its cashier URL
    and/or QR content: ``open_payment`` then ``connect_payment``.

    Only the buyer's own order, awaiting payment and not past its pay-before time. Raises
    OrderNotFound (not the user's), OrderNotPayable, NothingToPay, InvalidPaymentOptions,
    UnknownProvider, ProviderUnavailable / ProviderError (the payment then stays unconnected
    and ``connect_payment`` may try it again).
    """
    payment = open_payment(order=order, provider=provider, user=user, now=now, options=options)
    return connect_payment(payment=payment, now=now)


def open_payment(
    *, order: Order, provider: str, user, now: datetime, options: dict | None = None
) -> Payment:
    """The database half of ``start_payment``: check the order and write the payment.

    For a provider that prepares locally (a signed redirect to its payment page), where the
    buyer pays is computed here and written with the payment, so ``connect_payment`` has
    nothing left to do. Calls no provider over the network, so it may run inside a caller's
    transaction (idempotent requests).
    """
    adapter = get_provider(provider)  # unknown or unconfigured providers fail before writing
    clean = clean_options(provider=provider, options=options)
    with transaction.atomic():
        locked = (
            Order.objects.select_for_update(of=("self",))
            .select_related("session__event__organization")
            .filter(pk=order.pk, user=user)
            .first()
        )
        if locked is None:
            raise OrderNotFound
        if locked.status != OrderStatus.PENDING_PAYMENT or locked.expires_at <= now:
            raise OrderNotPayable
        if locked.total <= 0:
            raise NothingToPay
        payment = Payment(
            order=locked,
            provider=provider,
            amount=locked.total,
            currency=locked.currency,
            created_at=now,
            options=clean,
        )
        event = locked.session.event
        if adapter.prepares_locally:
            result = adapter.prepare(
                TradeRequest(
                    payment_id=payment.id,
                    amount_minor=to_minor_units(locked.total, locked.currency),
                    currency=locked.currency,
                    order_number=locked.number,
                    subject=event.display_name,
                    merchant_name=event.organization.display_name,
                    return_url=return_url(locked),
                    notify_url=notify_url(provider),
                    options=clean,
                )
            )
            payment.provider_reference = result.provider_reference[:80]
            payment.cashier_url = result.redirect_url
            payment.qr_content = result.qr_content[:500]
        payment.save(force_insert=True)
        audit.record(
            action="payment.started",
            obj=payment,
            actor=user,
            now=now,
            organization_id=event.organization_id,
            data={
                "order": locked.number,
                "provider": provider,
                "amount": str(locked.total),
                "currency": locked.currency,
            },
        )
    return payment


def connect_payment(*, payment: Payment, now: datetime) -> Payment:
    """The provider half of ``start_payment``: open the trade at the provider, with no
    transaction open, and store where the buyer pays. Does nothing for a payment that is
    already connected (as one of a provider that prepares locally is from the start) or no
    longer open; providers open one trade per payment id, so calling again after a failure
    is safe.

    Raises ProviderUnavailable / ProviderError; the reason is kept in ``failure_reason``.
    """
    if payment.status != PaymentStatus.CREATED or payment.cashier_url or payment.qr_content:
        return payment
    # durable: raises RuntimeError if a caller's transaction is open around the provider call.
    with transaction.atomic(durable=True):
        order = Order.objects.get(pk=payment.order_id)
    try:
        result = get_provider(payment.provider).create(
            payment, return_url=return_url(order), notify_url=notify_url(payment.provider)
        )
    except (ProviderError, ProviderUnavailable) as exc:
        with transaction.atomic():
            Payment.objects.filter(pk=payment.pk).update(
                failure_reason=str(exc.details.get("reason", ""))[:200]
            )
        raise
    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(
            provider_reference=result.provider_reference[:80],
            cashier_url=result.redirect_url,
            qr_content=result.qr_content[:500],
            failure_reason="",
        )
    payment.refresh_from_db()
    return payment


def cashier_url(payment: Payment) -> str:
    """Where to send the buyer to pay (empty for QR-only providers: show ``qr_content``)."""
    return payment.cashier_url


# -- callbacks -----------------------------------------------------------------------------------


def loggable(headers: dict, body: bytes) -> tuple[dict, str]:
    """The headers (no secrets, bounded) and body (bounded, as text) kept in the callback log."""
    kept = {
        str(k)[:100]: str(v)[:1000]
        for k, v in list(headers.items())[:_LOGGED_HEADERS_MAX]
        if str(k).lower() not in _SECRET_HEADERS
    }
    return kept, body[:_LOGGED_BODY_MAX].decode("utf-8", errors="replace")


def _matches(payment: Payment, data: CallbackData) -> bool:
    return (
        data.currency.upper() == payment.currency.upper()
        and data.amount_minor == to_minor_units(payment.amount, payment.currency)
    )


def _reason_for(order: Order, cause: str) -> str:
    """The buyer-facing reason, in the buyer's language (the callback has none)."""
    language = getattr(order.user, "preferred_language", "") or translation.get_language()
    with translation.override(language):
        return str(_REASONS[cause])


def handle_callback(
    *,
    provider: str,
    headers: dict,
    body: bytes,
    now: datetime,
    verified: CallbackData | None = None,
) -> CallbackLog:
    """Verify, log and apply one provider callback; returns its CallbackLog.

    - signature (or key, timestamp, encryption) wrong → ``rejected``, nothing else changes;
    - unknown payment, or amount/currency not the payment's → ``invalid``, nothing changes;
    - success for a payment that already succeeded → ``duplicate``, no second charge;
    - failed/pending after success, or older than the last applied event → ``stale``;
    - success → ``complete_payment`` (sale, ledger charge, tickets, fulfilment) in one
      transaction → ``applied``; if the places were lost meanwhile (or the order closed),
      that is rolled back, the charge is booked on the cancelled order and refunded after
      commit → ``refunded``.

    ``verified``: the callback as the caller already verified it (verification may be
    once-only, e.g. WeChat Pay's nonces). Raises UnknownProvider / ProviderUnavailable for a
    provider that is not set up here.
    """
    adapter = get_provider(provider)
    logged_headers, logged_body = loggable(headers, body)

    def log(outcome: str, *, payment=None, valid: bool = True, detail: str = "") -> CallbackLog:
        return CallbackLog.objects.create(
            provider=provider,
            payment=payment,
            received_at=now,
            headers=logged_headers,
            body=logged_body,
            signature_valid=valid,
            outcome=outcome,
            detail=detail[:300],
        )

    try:
        data = verified or adapter.verify_callback(headers, body, now=now)
    except CallbackForged as exc:
        logger.warning("forged %s callback: %s", provider, exc.reason)
        with transaction.atomic():
            return log(CallbackOutcome.REJECTED, valid=False, detail=exc.reason)

    payment_id = parse_payment_id(data.payment_id)
    try:
        with transaction.atomic():
            if payment_id and data.status == SUCCEEDED:
                _lock_account_if_late(payment_id, now)
            payment = (
                Payment.objects.select_for_update().filter(pk=payment_id, provider=provider).first()
                if payment_id
                else None
            )
            if payment is None:
                return log(CallbackOutcome.INVALID, detail=f"unknown payment {data.payment_id}")
            if not _matches(payment, data):
                if data.status == SUCCEEDED:
                    return _settle_mismatch(payment, data, now=now, log=log)
                return log(
                    CallbackOutcome.INVALID,
                    payment=payment,
                    detail=f"amount {data.amount_minor} {data.currency} does not match",
                )
            if data.status == SUCCEEDED:
                if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
                    return log(CallbackOutcome.DUPLICATE, payment=payment)
                complete_payment(
                    payment=payment,
                    provider_reference=data.provider_reference,
                    sequence=data.sequence,
                    payer_id=data.payer_id,
                    now=now,
                )
                return log(CallbackOutcome.APPLIED, payment=payment, detail=SUCCEEDED)
            return _apply_unpaid_event(payment, data, now=now, log=log)
    except HoldLost:
        cause = PLACES_LOST
    except OrderNotPayable as exc:
        # A paid hook may say why (``cause``): the payer's purchase limit (tessera.limits).
        cause = exc.cause if getattr(exc, "cause", None) in _REASONS else ORDER_CLOSED
    except PaymentMismatch as exc:
        with transaction.atomic():
            return log(
                CallbackOutcome.INVALID,
                payment=Payment.objects.get(pk=payment_id),
                detail=str(exc.details),
            )
    # The sale rolled back whole; book the money and refund it in a transaction of its own.
    return _settle_unsellable(payment_id=payment_id, data=data, cause=cause, now=now, log=log)


def _lock_account_if_late(payment_id: UUID, now: datetime) -> None:
    """A payment arriving after its order's pay-before time may sell only within the
    account's limit (``inventory.sell_hold`` counts under the account lock). The lock order
    of the sale (``tessera.sale``) puts the account first: take it before the payment's."""
    row = (
        Order.objects.filter(payments__id=payment_id)
        .values("session_id", "user_id", "expires_at")
        .first()
    )
    if row is not None and row["expires_at"] <= now:
        locks.lock_account(session_id=row["session_id"], user_id=row["user_id"])


def _apply_unpaid_event(payment: Payment, data: CallbackData, *, now: datetime, log) -> CallbackLog:
    if payment.status == PaymentStatus.FAILED and data.status == FAILED:
        return log(CallbackOutcome.DUPLICATE, payment=payment)
    if payment.status != PaymentStatus.CREATED or data.sequence <= payment.callback_sequence:
        return log(
            CallbackOutcome.STALE,
            payment=payment,
            detail=f"{data.status} #{data.sequence} after {payment.status}",
        )
    payment.callback_sequence = data.sequence
    if data.status == PENDING:
        payment.save(update_fields=["callback_sequence"])
        return log(CallbackOutcome.APPLIED, payment=payment, detail=PENDING)
    payment.status = PaymentStatus.FAILED
    payment.completed_at = now
    payment.failure_reason = gettext("The payment provider reported the payment as failed.")
    payment.provider_reference = data.provider_reference[:80] or payment.provider_reference
    payment.save(
        update_fields=[
            "callback_sequence",
            "status",
            "completed_at",
            "failure_reason",
            "provider_reference",
        ]
    )
    audit.record(action="payment.failed", obj=payment, now=now, data={"sequence": data.sequence})
    notify(
        payment.order.user,
        Kind.PAYMENT_FAILED,
        {"order": payment.order_id},
        key=f"payment_failed:{payment.pk}",
        now=now,
        email=payment.order.email,
        phone=payment.order.phone,
    )
    return log(CallbackOutcome.APPLIED, payment=payment, detail=FAILED)


def complete_payment(
    *,
    payment: Payment,
    now: datetime,
    provider_reference: str = "",
    sequence: int = 0,
    payer_id: str = "",
) -> Payment:
    """The money arrived: sell the hold's places and charge the ledger
    (``orders.mark_order_paid``), issue the tickets, fulfil the order — all in one
    transaction, with the payment row locked. Idempotent.

    Raises HoldLost when someone else took a place after the hold expired, OrderNotPayable
    when the order was closed or paid by another payment; nothing has changed then.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.SUCCEEDED:
            return payment
        payment.payer_id = payer_id[:128] or payment.payer_id
        order = orders.mark_order_paid(
            order=payment.order,
            payment_id=payment.id,
            amount=payment.amount,
            currency=payment.currency,
            now=now,
        )
        issue_tickets(order=order, now=now)
        orders.fulfil_order(order=order, now=now)
        for hook in _paid_hooks():
            hook(order=order, payment=payment, now=now)
        payment.status = PaymentStatus.SUCCEEDED
        payment.completed_at = now
        payment.failure_reason = ""
        payment.provider_reference = provider_reference[:80] or payment.provider_reference
        payment.callback_sequence = max(payment.callback_sequence, sequence)
        payment.save(
            update_fields=[
                "status",
                "completed_at",
                "failure_reason",
                "provider_reference",
                "callback_sequence",
                "payer_id",
            ]
        )
        audit.record(
            action="payment.succeeded",
            obj=payment,
            now=now,
            organization_id=order.session.event.organization_id,
            data={"order": order.number, "amount": str(payment.amount)},
        )
    return payment


def _paid_hooks() -> tuple:
    """``settings.ORDER_PAID_HOOKS``: called with (order, payment, now) inside the
    transaction that completes a payment, after the order is fulfilled; one that raises
    ``OrderNotPayable`` rolls the sale back and the payment is refunded. (The sale's
    one-statement confirmation skips them: it confirms only orders of ordered holds.)"""
    return tuple(import_string(path) for path in getattr(settings, "ORDER_PAID_HOOKS", ()))


def _settle_unsellable(
    *, payment_id: UUID, data: CallbackData, cause: str, now: datetime, log
) -> CallbackLog:
    """Money arrived for an order that cannot take it: book the charge, cancel the order with
    the reason shown to the buyer, and refund in full once committed."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
            return log(CallbackOutcome.DUPLICATE, payment=payment)  # a parallel delivery won
        order = Order.objects.select_related("user").get(pk=payment.order_id)
        if order.status in _PAID_STATES:
            # Paid twice: the order is fine, this second payment goes back.
            cause = ALREADY_PAID
        reason = _reason_for(order, cause)
        if cause != ALREADY_PAID:
            orders.record_lost_sale(
                order=order,
                payment_id=payment.id,
                amount=payment.amount,
                currency=payment.currency,
                reason=reason,
                now=now,
            )
        else:
            # The second payment's money is in the ledger until its refund balances it.
            orders.book_extra_payment(
                order=order,
                payment_id=payment.id,
                amount=payment.amount,
                currency=payment.currency,
                memo="second payment of a paid order",
                now=now,
            )
        payment.status = PaymentStatus.SUCCEEDED
        payment.completed_at = now
        payment.failure_reason = reason[:200]
        payment.provider_reference = data.provider_reference[:80] or payment.provider_reference
        payment.callback_sequence = max(payment.callback_sequence, data.sequence)
        payment.payer_id = data.payer_id[:128] or payment.payer_id
        payment.save(
            update_fields=[
                "status",
                "completed_at",
                "failure_reason",
                "provider_reference",
                "callback_sequence",
                "payer_id",
            ]
        )
        refund = Refund.objects.create(
            payment=payment,
            amount=payment.amount,
            currency=payment.currency,
            reason=reason[:200],
            created_at=now,
        )
        audit.record(
            action="payment.unsellable",
            obj=payment,
            now=now,
            data={"cause": cause, "order": order.number, "refund": str(refund.pk)},
        )
        _refund_after_commit(refund)
        return log(CallbackOutcome.REFUNDED, payment=payment, detail=cause)


def _settle_mismatch(payment: Payment, data: CallbackData, *, now: datetime, log) -> CallbackLog:
    """An authentic success whose amount or currency is not the payment's: the provider took
    money that does not pay the order. It is booked on the order as received and given back:
    refunded automatically in the payment's currency, or, in another currency, handed to an
    operator (who refunds it or settles it by hand). The order stays unpaid. Idempotent: a
    second delivery finds the payment already settled. Runs inside the caller's transaction
    with the payment locked."""
    detail = f"amount {data.amount_minor} {data.currency} does not match"
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
        return log(CallbackOutcome.DUPLICATE, payment=payment, detail=detail)
    currency = data.currency.upper()
    received = minor_to_decimal(data.amount_minor, currency)
    order = Order.objects.select_related("user").get(pk=payment.order_id)
    orders.book_extra_payment(
        order=order,
        payment_id=payment.id,
        amount=received,
        currency=currency,
        memo=f"paid {received} {currency} for {payment.amount} {payment.currency}",
        now=now,
    )
    reason = _reason_for(order, AMOUNT_DIFFERS)
    payment.status = PaymentStatus.SUCCEEDED
    payment.completed_at = now
    payment.failure_reason = reason[:200]
    payment.received_amount = received
    payment.provider_reference = data.provider_reference[:80] or payment.provider_reference
    payment.callback_sequence = max(payment.callback_sequence, data.sequence)
    payment.save(
        update_fields=[
            "status",
            "completed_at",
            "failure_reason",
            "received_amount",
            "provider_reference",
            "callback_sequence",
        ]
    )
    same_currency = currency == payment.currency.upper() and received > 0
    refund = Refund.objects.create(
        payment=payment,
        amount=received,
        currency=currency,
        reason=reason[:200],
        created_at=now,
        status=RefundStatus.PENDING if same_currency else RefundStatus.STUCK,
        last_error="" if same_currency else "paid in another currency than the payment's",
    )
    audit.record(
        action="payment.amount_differs",
        obj=payment,
        now=now,
        data={
            "expected": f"{payment.amount} {payment.currency}",
            "received": f"{received} {currency}",
            "refund": str(refund.pk),
        },
    )
    if same_currency:
        _refund_after_commit(refund)
    return log(CallbackOutcome.REFUNDED, payment=payment, detail=detail)


# -- refunds -------------------------------------------------------------------------------------

# Minutes to wait after the n-th failed attempt at the provider; after the last, an operator.
REFUND_BACKOFF_MINUTES = (1, 5, 15, 60, 180, 360, 720)
MAX_REFUND_ATTEMPTS = len(REFUND_BACKOFF_MINUTES) + 1
# A pending refund whose first attempt never ran (its task was lost) is picked up after this.
REFUND_FIRST_ATTEMPT_GRACE = timedelta(minutes=2)


class NotEnoughToRefund(DomainError):
    code = "not_enough_to_refund"
    status = 409
    default_message = _("The payments of this order do not hold enough to refund this amount.")


class RefundNotPending(DomainError):
    code = "refund_not_open"
    status = 409
    default_message = _("This refund is not waiting for an operator.")


def refundable_by_payment(order: Order) -> list[tuple[Payment, Decimal]]:
    """The order's succeeded payments (newest first) with what each can still give back
    (its amount less its refunds that are not refused)."""
    result = []
    payments = (
        Payment.objects.filter(order=order, status=PaymentStatus.SUCCEEDED)
        .annotate(
            given=Sum(
                "refunds__amount",
                filter=~Q(refunds__status=RefundStatus.FAILED),
            )
        )
        .order_by("-completed_at", "-created_at")
    )
    for payment in payments:
        left = payment.amount - (payment.given or Decimal(0))
        if left > 0:
            result.append((payment, left))
    return result


def open_refunds(
    *, order: Order, amount: Decimal, reason: str, now: datetime, is_booked: bool
) -> list[Refund]:
    """Refunds of ``amount`` over the order's payments (the newest first), to be sent to the
    provider after the caller's transaction commits and retried until they succeed.
    ``is_booked``: the caller has booked them in the ledger already. Raises
    NotEnoughToRefund when the payments do not hold that much; nothing is written then."""
    locks.require_transaction()
    remaining = amount
    plan = []
    for payment, left in refundable_by_payment(order):
        if remaining <= 0:
            break
        part = min(left, remaining)
        plan.append((payment, part))
        remaining -= part
    if remaining > 0:
        raise NotEnoughToRefund(details={"amount": str(amount), "missing": str(remaining)})
    refunds = []
    for payment, part in plan:
        refund = Refund.objects.create(
            payment=payment,
            amount=part,
            currency=payment.currency,
            reason=reason[:200],
            created_at=now,
            is_booked=is_booked,
        )
        _refund_after_commit(refund)
        refunds.append(refund)
    return refunds


def retry_due_refunds(*, now: datetime, limit: int = 200) -> dict:
    """Send every pending refund whose time has come: retries after a failure, and first
    attempts whose task was lost. Returns counts by the refunds' status afterwards."""
    due = list(
        Refund.objects.filter(status=RefundStatus.PENDING)
        .filter(
            Q(next_attempt_at__lte=now)
            | Q(next_attempt_at__isnull=True, created_at__lte=now - REFUND_FIRST_ATTEMPT_GRACE)
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = {}
    for refund_id in due:
        status = execute_refund(refund_id=refund_id, now=now).status
        counts[status] = counts.get(status, 0) + 1
    return counts


def retry_refund(*, refund: Refund, actor, now: datetime) -> Refund:
    """An operator sends a refused or stuck refund again (attempts start over)."""
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status not in (RefundStatus.FAILED, RefundStatus.STUCK):
            raise RefundNotPending
        locked.status = RefundStatus.PENDING
        locked.attempts = 0
        locked.next_attempt_at = now
        locked.completed_at = None
        locked.save(update_fields=["status", "attempts", "next_attempt_at", "completed_at"])
        audit.record(action="refund.retried", obj=locked, actor=actor, now=now)
        _refund_after_commit(locked)
    return locked


def settle_refund_by_hand(*, refund: Refund, actor, reference: str, now: datetime) -> Refund:
    """An operator returned the money outside the provider (a bank transfer, cash): the
    refund is done and booked. ``reference`` says how (required)."""
    reference = (reference or "").replace("\x00", "").strip()
    if not reference or len(reference) > 80:
        raise InvalidInput(
            _("Say how the money was returned (at most 80 characters)."),
            details={"reference": "required" if not reference else "too_long"},
        )
    with transaction.atomic():
        locked = Refund.objects.select_for_update().select_related("payment").get(pk=refund.pk)
        if locked.status not in (RefundStatus.FAILED, RefundStatus.STUCK):
            raise RefundNotPending
        locked.status = RefundStatus.SUCCEEDED
        locked.completed_at = now
        locked.provider_reference = f"by hand: {reference}"[:80]
        locked.save(update_fields=["status", "completed_at", "provider_reference"])
        _book_refund(locked, now=now)
        audit.record(
            action="refund.settled_by_hand",
            obj=locked,
            actor=actor,
            now=now,
            data={"reference": reference},
        )
    return locked


def _book_refund(refund: Refund, *, now: datetime) -> None:
    """The refund succeeded: into the order's ledger (unless booked already), and the
    payment is refunded once its refunds cover it."""
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    charged = LedgerEntry.objects.filter(kind=LedgerKind.CHARGE, payment_id=payment.pk).exists()
    if charged and not refund.is_booked:
        orders.record_refund(
            order=payment.order,
            payment_id=payment.pk,
            amount=refund.amount,
            currency=refund.currency,
            reason=refund.reason,
            reference=f"refund:{refund.pk.hex}",
            now=now,
        )
    refunded = payment.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal(0)
    if refunded >= payment.amount:
        payment.status = PaymentStatus.REFUNDED
        payment.save(update_fields=["status"])


def _refund_after_commit(refund: Refund) -> None:
    from tessera.payments.tasks import refund_payment

    refund_id = str(refund.pk)
    transaction.on_commit(lambda: refund_payment.enqueue(refund_id))


def execute_refund(*, refund_id: UUID, now: datetime) -> Refund:
    """Carry out a pending refund at the provider (no transaction open), then record it:
    the refund's status, the order's ledger (``orders.record_refund``, unless after-sales
    booked it already) and the payment's status once fully refunded. Idempotent: the
    provider refunds one refund id once, and a refund that is no longer pending is returned
    as is. A provider that cannot be reached or is still processing leaves the refund
    pending with its next attempt after a growing wait (``REFUND_BACKOFF_MINUTES``); after
    ``MAX_REFUND_ATTEMPTS`` it waits for an operator. A provider that refuses the refund
    hands it to an operator at once, with its answer.
    """
    # durable: raises RuntimeError if a caller's transaction is open around the provider call.
    with transaction.atomic(durable=True):
        refund = Refund.objects.select_related("payment").filter(pk=refund_id).first()
    if refund is None:
        raise NotFound
    if refund.status != RefundStatus.PENDING:
        return refund
    payment = refund.payment
    error = ""
    result = None
    try:
        result = get_provider(payment.provider).refund(
            payment, refund.amount, refund.reason, refund_id=refund.pk.hex
        )
    except (ProviderError, ProviderUnavailable) as exc:
        logger.warning("refund %s not done yet: %s", refund.pk, exc.details)
        error = f"{exc.code}: {exc.details}"
    if result is not None and result.status == PENDING:
        error = f"pending at the provider: {result.detail}"
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != RefundStatus.PENDING:
            return refund
        refund.attempts += 1
        if error:
            refund.last_error = error[:300]
            if refund.attempts >= MAX_REFUND_ATTEMPTS:
                refund.status = RefundStatus.STUCK
                refund.next_attempt_at = None
                logger.error("refund %s needs an operator: %s", refund.pk, error)
            else:
                wait = REFUND_BACKOFF_MINUTES[refund.attempts - 1]
                refund.next_attempt_at = now + timedelta(minutes=wait)
            refund.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            if refund.status == RefundStatus.STUCK:
                audit.record(
                    action="refund.stuck",
                    obj=refund,
                    now=now,
                    data={"attempts": refund.attempts, "detail": error[:200]},
                )
            return refund
        refund.completed_at = now
        refund.provider_reference = result.provider_reference[:80]
        refund.next_attempt_at = None
        if result.status == SUCCEEDED:
            refund.status = RefundStatus.SUCCEEDED
            refund.last_error = ""
            refund.save(
                update_fields=[
                    "status",
                    "completed_at",
                    "provider_reference",
                    "attempts",
                    "next_attempt_at",
                    "last_error",
                ]
            )
            _book_refund(refund, now=now)
        else:
            refund.status = RefundStatus.FAILED
            refund.last_error = (result.detail or "refused")[:300]
            refund.save(
                update_fields=[
                    "status",
                    "completed_at",
                    "provider_reference",
                    "attempts",
                    "next_attempt_at",
                    "last_error",
                ]
            )
            logger.error("refund %s refused by %s: %s", refund.pk, payment.provider, result.detail)
        audit.record(
            action=f"refund.{refund.status}",
            obj=refund,
            now=now,
            data={
                "payment": str(payment.pk),
                "amount": str(refund.amount),
                "detail": result.detail[:200],
            },
        )
    return refund


# -- the daily ledger check ---------------------------------------------------------------------

LEDGER_CHECK_EVERY = timedelta(hours=24)


def provider_holds_by_order(order_ids) -> dict[int, Decimal]:
    """For each order, the money its providers hold for it: what succeeded payments took,
    less refunds that went through and refunds booked in the ledger that are still on their
    way (pending, or waiting for an operator)."""
    holds: dict[int, Decimal] = {}
    taken = Payment.objects.filter(
        order_id__in=order_ids, status__in=(PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED)
    ).values_list("order_id", "amount", "received_amount")
    for order_id, amount, received in taken:
        holds[order_id] = holds.get(order_id, Decimal(0)) + (
            amount if received is None else received
        )
    back = Refund.objects.filter(payment__order_id__in=order_ids).filter(
        Q(status=RefundStatus.SUCCEEDED)
        | Q(is_booked=True, status__in=(RefundStatus.PENDING, RefundStatus.STUCK))
    )
    for order_id, amount in back.values_list("payment__order_id", "amount"):
        holds[order_id] = holds.get(order_id, Decimal(0)) - amount
    return holds


def check_ledgers(*, now: datetime, batch_size: int = 2000) -> LedgerCheck:
    """Compare every order's ledger sum with what its providers hold (charges − refunded
    prices + fees kept = paid − given back); each order that differs is listed for the back
    office. Orders without payments and without ledger entries are skipped."""
    run = LedgerCheck.objects.create(ran_at=now)
    last_id = 0
    checked = 0
    while True:
        ids = list(
            Order.objects.filter(pk__gt=last_id)
            .filter(Q(ledger__isnull=False) | Q(payments__isnull=False))
            .order_by("pk")
            .values_list("pk", flat=True)
            .distinct()[:batch_size]
        )
        if not ids:
            break
        last_id = ids[-1]
        sums = dict(
            LedgerEntry.objects.filter(order_id__in=ids)
            .values("order_id")
            .annotate(total=Sum("amount"))
            .values_list("order_id", "total")
        )
        holds = provider_holds_by_order(ids)
        currencies = dict(Order.objects.filter(pk__in=ids).values_list("pk", "currency"))
        found = [
            LedgerDifference(
                check_run=run,
                order_id=order_id,
                ledger_sum=sums.get(order_id) or Decimal(0),
                provider_holds=holds.get(order_id, Decimal(0)),
                currency=currencies[order_id],
            )
            for order_id in ids
            if (sums.get(order_id) or Decimal(0)) != holds.get(order_id, Decimal(0))
        ]
        LedgerDifference.objects.bulk_create(found)
        checked += len(ids)
        run.differences += len(found)
    run.orders_checked = checked
    run.save(update_fields=["orders_checked", "differences"])
    if run.differences:
        logger.error("ledger check: %s orders differ from their providers", run.differences)
    return run


def check_ledgers_if_due(*, now: datetime) -> LedgerCheck | None:
    """Run the ledger check when the last one is a day old (the housekeeping asks every
    minute); None when it is not due."""
    last = LedgerCheck.objects.order_by("-ran_at").values_list("ran_at", flat=True).first()
    if last is not None and now - last < LEDGER_CHECK_EVERY:
        return None
    return check_ledgers(now=now)
