"""The merchant side of the sandbox gateway: the signed cashier link a payment starts with,
the callbacks it verifies, and its queries and refunds."""

import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tessera.payments.models import Payment
from tessera.payments.providers import get_provider
from tessera.payments.providers.base import CallbackForged, TradeRequest
from tessera.payments.services import notify_url, return_url, start_payment
from tessera.payments.testing import cashier_terms, decide
from tessera.payments.tests.conftest import NOW, make_purchase
from tessera.sandbox.models import SandboxTrade
from tessera.sandbox.services import build_callbacks
from tessera.sandbox.signing import sign

LATER = NOW + timedelta(minutes=2)


@pytest.fixture
def payment(purchase) -> Payment:
    return start_payment(order=purchase.order, provider="sandbox", user=purchase.buyer, now=NOW)


def test_the_callback_is_signed_json_of_the_trade(payment):
    trade = decide(payment=payment, choice="pay", now=LATER)

    [callback] = build_callbacks(trade)

    assert json.loads(callback.body) == {
        "payment_id": str(payment.id),
        "reference": trade.reference,
        "status": "succeeded",
        "amount": 76000,
        "currency": "CNY",
        "event_at": "2026-11-22T12:02:00+00:00",
        "sequence": 2,
    }
    assert callback.headers["X-Sandbox-Signature"] == sign(callback.body)
    assert len(callback.headers["X-Sandbox-Signature"]) == 64


def test_the_merchant_side_verifies_what_the_gateway_signs(payment):
    trade = decide(payment=payment, choice="pay", now=LATER)
    [callback] = build_callbacks(trade)
    provider = get_provider("sandbox")

    data = provider.verify_callback(
        {"x-sandbox-signature": callback.headers["X-Sandbox-Signature"]}, callback.body, now=LATER
    )

    assert (data.payment_id, data.status, data.amount_minor, data.sequence) == (
        str(payment.id),
        "succeeded",
        76000,
        2,
    )
    assert data.provider_reference == trade.reference
    with pytest.raises(CallbackForged):
        provider.verify_callback(
            callback.headers, callback.body.replace(b"76000", b"76001"), now=LATER
        )
    with pytest.raises(CallbackForged):
        provider.verify_callback({}, callback.body, now=LATER)


def test_a_different_secret_key_makes_the_signature_forged(payment, settings):
    [callback] = build_callbacks(decide(payment=payment, choice="pay", now=LATER))
    settings.SECRET_KEY = "another-installation-" + "x" * 40

    with pytest.raises(CallbackForged):
        get_provider("sandbox").verify_callback(callback.headers, callback.body, now=LATER)


def test_a_signed_but_malformed_body_is_refused():
    body = b'{"status":"succeeded"}'

    with pytest.raises(CallbackForged) as caught:
        get_provider("sandbox").verify_callback(
            {"X-Sandbox-Signature": sign(body)}, body, now=LATER
        )

    assert caught.value.reason == "malformed body"


def test_prepare_is_local_and_create_gives_the_same_link(purchase, django_assert_num_queries):
    payment = start_payment(
        order=purchase.order,
        provider="sandbox",
        user=purchase.buyer,
        now=NOW,
        options={"fail": True, "delay_seconds": 5},
    )
    order = purchase.order
    event = purchase.sale.session.event
    request = TradeRequest(
        payment_id=payment.id,
        amount_minor=76000,
        currency="CNY",
        order_number=order.number,
        subject=event.name_en,
        merchant_name=event.organization.name_en,
        return_url=return_url(order),
        notify_url=notify_url("sandbox"),
        options={"fail": True, "delay_seconds": 5},
    )
    provider = get_provider("sandbox")

    with django_assert_num_queries(0):
        prepared = provider.prepare(request)
    created = provider.create(
        Payment.objects.select_related("order__session__event__organization").get(pk=payment.pk),
        return_url=return_url(order),
        notify_url=notify_url("sandbox"),
    )

    assert provider.prepares_locally is True
    assert prepared.redirect_url == created.redirect_url == payment.cashier_url
    assert (prepared.provider_reference, prepared.qr_content) == ("", "")
    assert cashier_terms(payment).switches == {"fail": True, "delay_seconds": 5}
    assert SandboxTrade.objects.count() == 0


def test_the_link_carries_each_parameter_once(payment, purchase):
    query = urlsplit(payment.cashier_url).query

    names = [pair.split("=", 1)[0] for pair in query.split("&")]

    assert names == [
        "amount",
        "currency",
        "order",
        "subject",
        "merchant",
        "notify_url",
        "return_url",
        "sign",
    ]


def test_query_answers_pending_until_the_buyer_decides(purchase):
    provider = get_provider("sandbox")
    paid = start_payment(order=purchase.order, provider="sandbox", user=purchase.buyer, now=NOW)
    other = make_purchase(seats=(3, 4), sale=purchase.sale)
    failed = start_payment(order=other.order, provider="sandbox", user=other.buyer, now=NOW)
    before = (provider.query(paid), provider.query(failed))

    decide(payment=paid, choice="pay", now=LATER)
    decide(payment=failed, choice="fail", now=LATER)

    assert before == ("pending", "pending")
    assert (provider.query(paid), provider.query(failed)) == ("succeeded", "failed")


def test_refunds_need_a_paid_trade_and_are_idempotent_per_number(purchase, payment):
    provider = get_provider("sandbox")
    undecided = provider.refund(payment, payment.amount, "late", refund_id="r0")
    other = make_purchase(seats=(3, 4), sale=purchase.sale)
    failed = start_payment(order=other.order, provider="sandbox", user=other.buyer, now=NOW)
    decide(payment=failed, choice="fail", now=LATER)
    unpaid = provider.refund(failed, failed.amount, "late", refund_id="r0")
    decide(payment=payment, choice="pay", now=LATER)

    first = provider.refund(payment, payment.amount, "late", refund_id="r1")
    repeat = provider.refund(payment, payment.amount, "late", refund_id="r1")
    beyond = provider.refund(payment, payment.amount, "late", refund_id="r2")

    assert (undecided.status, undecided.detail) == ("failed", "trade not found")
    assert (unpaid.status, unpaid.detail) == ("failed", "trade not paid")
    assert (first.status, first.provider_reference) == ("succeeded", "SBXR-r1")
    assert (repeat.status, repeat.detail) == ("succeeded", "already refunded")
    assert (beyond.status, beyond.detail) == ("failed", "refund exceeds the amount paid")
    assert SandboxTrade.objects.get(payment_id=payment.id).refunds == {"r1": 76000}
    assert SandboxTrade.objects.get(payment_id=failed.id).refunds == {}


# -- through the cashier page ----------------------------------------------------------------------


def test_the_payments_cashier_link_opens_the_gateways_page(client, payment, purchase):
    link = urlsplit(payment.cashier_url)

    response = client.get(f"{link.path}?{link.query}", HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    organizer = purchase.sale.session.event.organization
    assert response.status_code == 200
    assert '<p class="amount" data-testid="amount">¥760.00</p>' in html
    assert f'data-testid="order-number">{purchase.order.number}</dd>' in html
    assert f'<h1 id="cashier-title" class="merchant">{organizer.name_en}</h1>' in html
    assert SandboxTrade.objects.count() == 0


def test_pressing_pay_sends_the_buyer_back_to_the_order_page(
    client, payment, purchase, django_capture_on_commit_callbacks
):
    link = urlsplit(payment.cashier_url)

    with django_capture_on_commit_callbacks(execute=False) as deliveries:
        response = client.post(f"{link.path}?{link.query}", {"choice": "pay"})

    trade = SandboxTrade.objects.get()
    assert (response.status_code, response["Location"]) == (
        303,
        f"http://127.0.0.1:8000/orders/{purchase.order.number}/",
    )
    assert (trade.payment_id, trade.status, trade.amount_minor) == (payment.id, "paid", 76000)
    assert len(deliveries) == 1
