"""Payment services through the sandbox gateway, callbacks delivered in-process."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from tessera.core.models import AuditEntry
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.services import hold_units
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import LedgerEntry, Order, OrderStatus
from tessera.orders.services import OrderNotFound, OrderNotPayable, cancel_order
from tessera.payments.models import (
    CallbackLog,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from tessera.payments.providers import use_provider
from tessera.payments.providers.alipay import AlipayProvider
from tessera.payments.providers.base import (
    ProviderNotConfigured,
    ProviderUnavailable,
    UnknownProvider,
)
from tessera.payments.providers.sandbox import SandboxProvider
from tessera.payments.services import (
    InvalidPaymentOptions,
    connect_payment,
    execute_refund,
    handle_callback,
    open_payment,
    start_payment,
)
from tessera.payments.testing import cashier_terms, pay_locally
from tessera.payments.tests.conftest import NOW
from tessera.payments.tests.fakes import FakeAlipay
from tessera.payments.tests.keys import rsa_key
from tessera.sandbox.models import SandboxTrade
from tessera.sandbox.signing import SIGNATURE_HEADER, sign
from tessera.tickets.models import Ticket

LATER = NOW + timedelta(minutes=2)
LOST_REASON = (
    "Your payment arrived after your seats were released and some were taken; "
    "it has been refunded in full."
)


def _start(purchase, **options) -> Payment:
    return start_payment(
        order=purchase.order,
        provider="sandbox",
        user=purchase.buyer,
        now=NOW,
        options=options or None,
    )


def _outcomes(logs) -> list[str]:
    return [log.outcome for log in logs]


def _ledger(order) -> list[tuple[str, Decimal]]:
    return list(
        LedgerEntry.objects.filter(order=order).order_by("id").values_list("kind", "amount")
    )


def _signed(payment, **changes) -> tuple[dict, bytes]:
    """A sandbox callback for ``payment``, correctly signed, with fields changed."""
    event = {
        "payment_id": str(payment.id),
        "reference": payment.provider_reference,
        "status": "succeeded",
        "amount": 76000,
        "currency": "CNY",
        "event_at": LATER.isoformat(),
        "sequence": 2,
        **changes,
    }
    body = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    return {SIGNATURE_HEADER: sign(body)}, body


# -- start_payment --------------------------------------------------------------------------------


def test_start_payment_signs_a_cashier_link_and_opens_no_trade_yet(purchase):
    payment = _start(purchase, duplicates=2)

    terms = cashier_terms(payment)
    organizer = purchase.sale.session.event.organization
    assert (payment.status, payment.amount, payment.currency) == (
        "created",
        Decimal("760.00"),
        "CNY",
    )
    assert payment.cashier_url.startswith(f"http://127.0.0.1:8000/pay/sandbox/{payment.id}/?")
    assert (payment.qr_content, payment.provider_reference, payment.failure_reason) == ("", "", "")
    assert payment.options == {"duplicates": 2}
    assert terms == type(terms)(
        payment_id=payment.id,
        amount_minor=76000,
        currency="CNY",
        order_number=purchase.order.number,
        subject=purchase.sale.session.event.name_en,
        merchant_name=organizer.name_en,
        notify_url="http://127.0.0.1:8000/api/v1/payments/callbacks/sandbox",
        return_url=f"http://127.0.0.1:8000/orders/{purchase.order.number}/",
        switches={"duplicates": 2},
    )
    assert SandboxTrade.objects.count() == 0  # the trade starts when the buyer decides
    assert (
        AuditEntry.objects.filter(
            action="payment.started", object_id=str(payment.id), actor=purchase.buyer
        ).count()
        == 1
    )


def test_starting_a_sandbox_payment_reads_the_order_once_and_writes_the_payment_once(
    purchase, django_assert_num_queries
):
    # select the order (with session, event, organizer), insert the payment, insert the
    # audit entry; the savepoint pair is the test's transaction around the service's.
    with django_assert_num_queries(5) as captured:
        payment = _start(purchase)

    statements = [q["sql"].split(None, 1)[0].upper() for q in captured.captured_queries]
    assert statements == ["SAVEPOINT", "SELECT", "INSERT", "INSERT", "RELEASE"]
    assert 'INSERT INTO "payments_payment"' in captured.captured_queries[2]["sql"]
    assert Payment.objects.get(pk=payment.pk).cashier_url == payment.cashier_url


def test_the_public_url_setting_moves_the_cashier_and_the_notify_url(purchase, settings):
    settings.TESSERA_PUBLIC_URL = "https://tickets.example.cn/"

    payment = _start(purchase)

    terms = cashier_terms(payment)
    assert payment.cashier_url.startswith(f"https://tickets.example.cn/pay/sandbox/{payment.id}/?")
    assert terms.notify_url == "https://tickets.example.cn/api/v1/payments/callbacks/sandbox"
    assert terms.return_url == f"https://tickets.example.cn/orders/{purchase.order.number}/"


def test_only_the_buyer_may_pay_the_order(purchase):
    with pytest.raises(OrderNotFound):
        start_payment(order=purchase.order, provider="sandbox", user=make_buyer(), now=NOW)

    assert Payment.objects.count() == 0


def test_an_order_past_its_pay_before_time_cannot_be_paid(purchase):
    with pytest.raises(OrderNotPayable):
        start_payment(
            order=purchase.order,
            provider="sandbox",
            user=purchase.buyer,
            now=purchase.order.expires_at,
        )

    assert Payment.objects.count() == 0


def test_a_paid_order_cannot_be_paid_again(purchase):
    pay_locally(payment_id=_start(purchase).id, now=LATER)

    with pytest.raises(OrderNotPayable):
        _start(purchase)

    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    "options",
    [
        {"fail": "yes"},
        {"delay_seconds": -1},
        {"delay_seconds": 3601},
        {"duplicates": 0},
        {"duplicates": 11},
        {"duplicates": 2.0},
        {"refund": True},
    ],
)
def test_invalid_sandbox_options_are_refused(purchase, options):
    with pytest.raises(InvalidPaymentOptions):
        _start(purchase, **options)

    assert Payment.objects.count() == 0
    assert SandboxTrade.objects.count() == 0


def test_unknown_and_unconfigured_providers_are_refused(purchase):
    with pytest.raises(UnknownProvider):
        start_payment(order=purchase.order, provider="paypal", user=purchase.buyer, now=NOW)
    with pytest.raises(ProviderNotConfigured):
        start_payment(order=purchase.order, provider="alipay", user=purchase.buyer, now=NOW)

    assert Payment.objects.count() == 0


# -- callbacks ----------------------------------------------------------------------------------


def test_a_successful_payment_sells_the_places_and_issues_tickets(purchase):
    payment = _start(purchase)

    logs = pay_locally(payment_id=payment.id, now=LATER)

    payment.refresh_from_db()
    order = Order.objects.get(pk=purchase.order.pk)
    assert _outcomes(logs) == ["applied"]
    assert (logs[0].signature_valid, logs[0].payment_id) == (True, payment.id)
    assert (payment.status, payment.completed_at) == ("succeeded", LATER)
    assert (order.status, order.paid_at, order.fulfilled_at) == ("fulfilled", LATER, LATER)
    assert _ledger(order) == [("charge", Decimal("760.00"))]
    assert sorted(
        InventoryUnit.objects.filter(pk__in=purchase.unit_ids).values_list("status", flat=True)
    ) == ["sold", "sold"]
    assert Ticket.objects.filter(order_line__order=order).count() == 2


def test_duplicate_deliveries_charge_once(purchase):
    payment = _start(purchase, duplicates=3)

    logs = pay_locally(payment_id=payment.id, now=LATER)

    assert _outcomes(logs) == ["applied", "duplicate", "duplicate"]
    assert _ledger(purchase.order) == [("charge", Decimal("760.00"))]
    assert Ticket.objects.filter(order_line__order=purchase.order).count() == 2


def test_a_stale_failure_after_the_success_is_ignored(purchase):
    payment = _start(purchase, out_of_order=True)

    logs = pay_locally(payment_id=payment.id, now=LATER)

    payment.refresh_from_db()
    assert _outcomes(logs) == ["applied", "stale"]
    assert payment.status == "succeeded"
    assert Order.objects.get(pk=purchase.order.pk).status == OrderStatus.FULFILLED


def test_a_failed_payment_leaves_the_order_waiting(purchase):
    payment = _start(purchase)

    logs = pay_locally(payment_id=payment.id, now=LATER, choice="fail")

    payment.refresh_from_db()
    assert _outcomes(logs) == ["applied"]
    assert (payment.status, payment.completed_at) == ("failed", LATER)
    assert payment.failure_reason == "The payment provider reported the payment as failed."
    assert Order.objects.get(pk=purchase.order.pk).status == OrderStatus.PENDING_PAYMENT
    assert _ledger(purchase.order) == []
    assert sorted(
        InventoryUnit.objects.filter(pk__in=purchase.unit_ids).values_list("status", flat=True)
    ) == ["held", "held"]


def test_the_fail_switch_fails_even_when_the_buyer_pays(purchase):
    payment = _start(purchase, fail=True)

    pay_locally(payment_id=payment.id, now=LATER)

    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.FAILED
    assert _ledger(purchase.order) == []


def test_a_forged_callback_is_logged_and_changes_nothing(purchase):
    payment = _start(purchase)
    headers, body = _signed(payment)
    forged = body.replace(b'"amount":76000', b'"amount":76001')

    log = handle_callback(provider="sandbox", headers=headers, body=forged, now=LATER)

    assert (log.outcome, log.signature_valid, log.payment_id) == ("rejected", False, None)
    assert log.detail == "signature does not match"
    assert log.body == forged.decode()
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CREATED
    assert Order.objects.get(pk=purchase.order.pk).status == OrderStatus.PENDING_PAYMENT
    assert _ledger(purchase.order) == []


def test_a_signed_callback_with_the_wrong_amount_is_booked_and_refunded(
    purchase, django_capture_on_commit_callbacks
):
    # given a payment of 760.00 and an authentic callback saying the provider took 1.00
    payment = _start(purchase)
    headers, body = _signed(payment, amount=100)

    with django_capture_on_commit_callbacks(execute=True):
        log = handle_callback(provider="sandbox", headers=headers, body=body, now=LATER)

    # then the money is booked on the order and given back; the order stays unpaid
    assert (log.outcome, log.signature_valid, log.payment_id) == ("refunded", True, payment.id)
    assert log.detail == "amount 100 CNY does not match"
    assert Order.objects.get(pk=purchase.order.pk).status == OrderStatus.PENDING_PAYMENT
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount, refund.currency) == (Decimal("1.00"), "CNY")
    # (the gateway never took this crafted payment, so it refuses the refund: an operator's)
    assert (refund.status, refund.last_error) == (RefundStatus.FAILED, "trade not found")
    assert _ledger(purchase.order) == [("charge", Decimal("1.00"))]
    assert Payment.objects.get(pk=payment.pk).received_amount == Decimal("1.00")
    assert AuditEntry.objects.filter(action="payment.amount_differs").count() == 1

    # and a second delivery of the same callback changes nothing
    again = handle_callback(provider="sandbox", headers=headers, body=body, now=LATER)
    assert again.outcome == "duplicate"
    assert Refund.objects.filter(payment=payment).count() == 1
    assert len(_ledger(purchase.order)) == 1


def test_a_callback_in_another_currency_is_held_for_an_operator(purchase):
    # given an authentic success in USD for a CNY payment
    payment = _start(purchase)
    headers, body = _signed(payment, currency="USD")

    log = handle_callback(provider="sandbox", headers=headers, body=body, now=LATER)

    # then the money is booked as received and its refund waits for an operator
    assert log.outcome == "refunded"
    assert _ledger(purchase.order) == [("charge", Decimal("760.00"))]
    assert LedgerEntry.objects.get(order=purchase.order).currency == "USD"
    refund = Refund.objects.get(payment=payment)
    assert refund.status == RefundStatus.STUCK
    assert refund.last_error == "paid in another currency than the payment's"
    assert Order.objects.get(pk=purchase.order.pk).status == OrderStatus.PENDING_PAYMENT


def test_a_callback_for_an_unknown_payment_is_invalid(purchase):
    payment = _start(purchase)
    headers, body = _signed(payment, payment_id="00000000-0000-0000-0000-000000000000")

    log = handle_callback(provider="sandbox", headers=headers, body=body, now=LATER)

    assert (log.outcome, log.payment_id) == ("invalid", None)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CREATED


def test_events_older_than_the_last_applied_one_are_stale(purchase):
    payment = _start(purchase)
    headers, body = _signed(payment, status="pending", sequence=5)
    pending = handle_callback(provider="sandbox", headers=headers, body=body, now=LATER)
    headers, body = _signed(payment, status="failed", sequence=4)

    stale = handle_callback(provider="sandbox", headers=headers, body=body, now=LATER)

    payment.refresh_from_db()
    assert (pending.outcome, stale.outcome) == ("applied", "stale")
    assert (payment.status, payment.callback_sequence) == ("created", 5)


# -- paid too late ------------------------------------------------------------------------------


def test_a_payment_after_the_places_were_taken_is_refunded(
    purchase, django_capture_on_commit_callbacks
):
    payment = _start(purchase)
    after_expiry = purchase.order.expires_at + timedelta(minutes=1)
    rival = make_buyer()
    rival_hold = hold_units(
        session=purchase.sale.session, user=rival, unit_ids=purchase.unit_ids[:1], now=after_expiry
    )

    with django_capture_on_commit_callbacks(execute=True):
        logs = pay_locally(payment_id=payment.id, now=after_expiry)

    order = Order.objects.get(pk=purchase.order.pk)
    payment.refresh_from_db()
    refund = Refund.objects.get(payment=payment)
    assert _outcomes(logs) == ["refunded"]
    assert (order.status, order.close_reason) == ("cancelled", LOST_REASON)
    assert _ledger(order) == [("charge", Decimal("760.00")), ("refund", Decimal("-760.00"))]
    assert sum(amount for _kind, amount in _ledger(order)) == 0
    assert (refund.status, refund.amount, refund.reason) == (
        "succeeded",
        Decimal("760.00"),
        LOST_REASON,
    )
    assert payment.status == PaymentStatus.REFUNDED
    assert SandboxTrade.objects.get(payment_id=payment.id).refunds == {refund.pk.hex: 76000}
    assert InventoryUnit.objects.get(pk=purchase.unit_ids[0]).hold_id == rival_hold.pk
    assert Ticket.objects.filter(order_line__order=order).count() == 0


def test_a_late_payment_still_buys_places_nobody_took(purchase):
    payment = _start(purchase)
    after_expiry = purchase.order.expires_at + timedelta(minutes=5)

    logs = pay_locally(payment_id=payment.id, now=after_expiry)

    assert _outcomes(logs) == ["applied"]
    assert Order.objects.get(pk=purchase.order.pk).status == OrderStatus.FULFILLED


def test_a_payment_for_a_cancelled_order_is_refunded(purchase, django_capture_on_commit_callbacks):
    payment = _start(purchase)
    cancel_order(order=purchase.order, actor=purchase.buyer, reason="changed my mind", now=NOW)

    with django_capture_on_commit_callbacks(execute=True):
        logs = pay_locally(payment_id=payment.id, now=LATER)

    order = Order.objects.get(pk=purchase.order.pk)
    assert _outcomes(logs) == ["refunded"]
    assert order.status == OrderStatus.CANCELLED
    assert order.close_reason == (
        "Your payment arrived after this order was closed; it has been refunded in full."
    )
    assert _ledger(order) == [("charge", Decimal("760.00")), ("refund", Decimal("-760.00"))]
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REFUNDED


def test_a_second_payment_of_a_paid_order_is_refunded(purchase, django_capture_on_commit_callbacks):
    first, second = _start(purchase), _start(purchase)
    pay_locally(payment_id=first.id, now=LATER)

    with django_capture_on_commit_callbacks(execute=True):
        logs = pay_locally(payment_id=second.id, now=LATER)

    order = Order.objects.get(pk=purchase.order.pk)
    refund = Refund.objects.get(payment=second)
    assert _outcomes(logs) == ["refunded"]
    assert order.status == OrderStatus.FULFILLED
    assert _ledger(order) == [
        ("charge", Decimal("760.00")),
        ("charge", Decimal("760.00")),
        ("refund", Decimal("-760.00")),
    ]
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.reason == (
        "This order had already been paid; the second payment has been refunded in full."
    )
    assert Payment.objects.get(pk=second.pk).status == PaymentStatus.REFUNDED
    assert Payment.objects.get(pk=first.pk).status == PaymentStatus.SUCCEEDED
    assert Ticket.objects.filter(order_line__order=order).count() == 2


class _UnreachableRefunds(SandboxProvider):
    def refund(self, payment, amount, reason, *, refund_id):
        raise ProviderUnavailable(details={"reason": "provider unreachable"})


def test_a_refund_waits_while_the_provider_is_unreachable_and_runs_once(purchase):
    payment = _start(purchase)
    cancel_order(order=purchase.order, actor=purchase.buyer, reason="", now=NOW)
    pay_locally(payment_id=payment.id, now=LATER)  # refund not run: no commit
    refund = Refund.objects.get(payment=payment)

    with use_provider(_UnreachableRefunds()):
        waiting = execute_refund(refund_id=refund.pk, now=LATER)
    done = execute_refund(refund_id=refund.pk, now=LATER)
    again = execute_refund(refund_id=refund.pk, now=LATER + timedelta(minutes=1))

    assert waiting.status == RefundStatus.PENDING
    assert (done.status, done.completed_at) == (RefundStatus.SUCCEEDED, LATER)
    assert (again.status, again.completed_at) == (RefundStatus.SUCCEEDED, LATER)
    assert _ledger(purchase.order) == [
        ("charge", Decimal("760.00")),
        ("refund", Decimal("-760.00")),
    ]


def test_unit_status_is_untouched_by_a_rejected_callback(purchase):
    _start(purchase)
    before = list(
        InventoryUnit.objects.filter(pk__in=purchase.unit_ids).values_list("status", flat=True)
    )

    handle_callback(provider="sandbox", headers={}, body=b"{}", now=LATER)

    assert before == [UnitStatus.HELD, UnitStatus.HELD]
    assert (
        list(
            InventoryUnit.objects.filter(pk__in=purchase.unit_ids).values_list("status", flat=True)
        )
        == before
    )
    assert CallbackLog.objects.get().outcome == "rejected"


class _FlakyRemoteCashier(SandboxProvider):
    """A provider that opens trades over the network (not locally), unreachable for now."""

    prepares_locally = False

    def create(self, payment, *, return_url, notify_url):
        raise ProviderUnavailable(details={"reason": "provider unreachable"})


def test_a_provider_that_cannot_be_reached_leaves_the_payment_to_connect_later(purchase):
    with use_provider(_FlakyRemoteCashier()), pytest.raises(ProviderUnavailable):
        _start(purchase)
    payment = Payment.objects.get()
    assert (payment.status, payment.cashier_url) == ("created", "")
    assert payment.failure_reason == "provider unreachable"

    connected = connect_payment(payment=payment, now=NOW)

    assert connected.cashier_url.startswith(f"http://127.0.0.1:8000/pay/sandbox/{payment.id}/?")
    assert cashier_terms(connected).order_number == purchase.order.number
    assert (connected.status, connected.failure_reason) == ("created", "")
    assert SandboxTrade.objects.count() == 0


def test_alipay_page_pay_is_written_with_the_payment_and_the_qr_mode_connects_after(purchase):
    gateway = FakeAlipay(
        app_public_key=rsa_key("alipay-app").public_key(),
        alipay_private_key=rsa_key("alipay-platform"),
        app_id="2021000122600001",
    )
    provider = AlipayProvider(
        app_id="2021000122600001",
        private_key=rsa_key("alipay-app"),
        alipay_public_key=rsa_key("alipay-platform").public_key(),
        transport=gateway,
        clock=lambda: NOW,
    )
    with use_provider(provider):
        page = open_payment(order=purchase.order, provider="alipay", user=purchase.buyer, now=NOW)
        provider.mode = "qr"
        qr = open_payment(order=purchase.order, provider="alipay", user=purchase.buyer, now=NOW)
        before_connect = (qr.cashier_url, qr.qr_content, len(gateway.requests))
        connected = connect_payment(payment=qr, now=NOW)

    assert page.cashier_url.startswith("https://openapi.alipay.com/gateway.do?")
    assert Payment.objects.get(pk=page.pk).cashier_url == page.cashier_url
    assert before_connect == ("", "", 0)
    assert connected.qr_content == f"https://qr.alipay.com/bax0{qr.id.hex[:8]}"
    assert [r["method"] for r in gateway.requests] == ["alipay.trade.precreate"]


def test_connecting_a_payment_prepared_locally_does_nothing(purchase, django_assert_num_queries):
    payment = _start(purchase)

    with django_assert_num_queries(0):
        connected = connect_payment(payment=payment, now=LATER)

    assert connected.cashier_url == Payment.objects.get(pk=payment.pk).cashier_url


def test_a_success_after_a_reported_failure_still_completes_the_sale(purchase):
    # The provider's word that money moved outranks an earlier failure report.
    payment = _start(purchase)
    headers, body = _signed(payment, status="failed", sequence=2)
    handle_callback(provider="sandbox", headers=headers, body=body, now=LATER)
    headers, body = _signed(payment, status="succeeded", sequence=3)

    log = handle_callback(provider="sandbox", headers=headers, body=body, now=LATER)

    payment.refresh_from_db()
    assert log.outcome == "applied"
    assert (payment.status, payment.failure_reason, payment.callback_sequence) == (
        "succeeded",
        "",
        3,
    )
    assert Order.objects.get(pk=purchase.order.pk).status == OrderStatus.FULFILLED
