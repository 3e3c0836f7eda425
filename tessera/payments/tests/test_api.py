"""The payments API: one thin test per endpoint and answer, and the notify endpoint answering
each gateway in its own form."""

import json
from datetime import timedelta

import pytest

from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import Order, OrderStatus
from tessera.payments.models import CallbackLog, Payment
from tessera.payments.providers import use_provider
from tessera.payments.providers.alipay import AlipayProvider
from tessera.payments.providers.wechat import WeChatPayProvider
from tessera.payments.services import start_payment
from tessera.payments.testing import cashier_terms, decide, post_callbacks
from tessera.payments.tests.conftest import NOW
from tessera.payments.tests.fakes import FakeAlipay, FakeWeChatPay
from tessera.payments.tests.keys import rsa_key
from tessera.sandbox.services import build_callbacks

LATER = NOW + timedelta(minutes=2)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    """The endpoints read the clock once per request; here it reads ``LATER``."""
    monkeypatch.setattr("tessera.payments.api.clock_now", lambda: LATER)
    monkeypatch.setattr("tessera.sale.api.clock_now", lambda: LATER)  # the notify endpoint
    return LATER


def _pay_url(order) -> str:
    return f"/api/v1/orders/{order.number}/payments"


def _post_json(client, url, payload, **headers):
    return client.post(url, json.dumps(payload), content_type="application/json", **headers)


def test_post_opens_a_sandbox_payment(client, purchase):
    client.force_login(purchase.buyer)

    response = _post_json(client, _pay_url(purchase.order), {"provider": "sandbox"})

    payment = Payment.objects.get()
    assert payment.cashier_url.startswith(f"http://127.0.0.1:8000/pay/sandbox/{payment.id}/?")
    assert cashier_terms(payment).amount_minor == 76000
    assert response.status_code == 201
    assert response.json() == {
        "id": str(payment.id),
        "order_number": purchase.order.number,
        "provider": "sandbox",
        "status": "created",
        "amount": "760.00",
        "currency": "CNY",
        "cashier_url": payment.cashier_url,
        "qr_content": "",
        "created_at": "2026-11-22T12:02:00Z",
        "completed_at": None,
        "failure_reason": "",
    }


def test_an_idempotency_key_answers_the_same_payment(client, purchase):
    client.force_login(purchase.buyer)
    payload = {"provider": "sandbox", "options": {"duplicates": 2}}

    first = _post_json(client, _pay_url(purchase.order), payload, HTTP_IDEMPOTENCY_KEY="k-1")
    second = _post_json(client, _pay_url(purchase.order), payload, HTTP_IDEMPOTENCY_KEY="k-1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] == second.json()["id"]
    assert Payment.objects.count() == 1


def test_signing_in_is_required(client, purchase):
    response = _post_json(client, _pay_url(purchase.order), {"provider": "sandbox"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert Payment.objects.count() == 0


def test_someone_elses_order_is_not_found(client, purchase):
    client.force_login(make_buyer())

    response = _post_json(client, _pay_url(purchase.order), {"provider": "sandbox"})

    assert (response.status_code, response.json()["error"]["code"]) == (404, "order_not_found")
    assert Payment.objects.count() == 0


def test_bad_options_are_refused_in_the_users_language(client, purchase):
    client.force_login(purchase.buyer)

    response = _post_json(
        client,
        _pay_url(purchase.order),
        {"provider": "sandbox", "options": {"duplicates": 99}},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_payment_options",
        "message": "These payment options are not valid.",
        "details": {"option": "duplicates", "min": 1, "max": 10},
    }
    assert Payment.objects.count() == 0


def test_get_shows_the_buyer_their_payment_and_nobody_else(client, purchase):
    payment = start_payment(order=purchase.order, provider="sandbox", user=purchase.buyer, now=NOW)
    client.force_login(purchase.buyer)
    mine = client.get(f"/api/v1/payments/{payment.id}")
    client.force_login(make_buyer())
    theirs = client.get(f"/api/v1/payments/{payment.id}")

    assert (mine.status_code, mine.json()["status"], mine.json()["amount"]) == (
        200,
        "created",
        "760.00",
    )
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (404, "payment_not_found")


# -- the notify endpoint ------------------------------------------------------------------------


def test_the_sandbox_callback_is_acknowledged_and_applied(client, purchase):
    payment = start_payment(order=purchase.order, provider="sandbox", user=purchase.buyer, now=NOW)
    trade = decide(payment=payment, choice="pay", now=LATER)

    [response] = post_callbacks(client, trade)

    assert (response.status_code, response.json()) == (200, {"code": "SUCCESS"})
    assert Order.objects.get(pk=purchase.order.pk).status == OrderStatus.FULFILLED
    assert CallbackLog.objects.get().outcome == "applied"


def test_a_forged_sandbox_callback_is_answered_fail(client, purchase):
    payment = start_payment(order=purchase.order, provider="sandbox", user=purchase.buyer, now=NOW)
    trade = decide(payment=payment, choice="pay", now=LATER)
    [callback] = build_callbacks(trade)

    response = client.post(
        "/api/v1/payments/callbacks/sandbox",
        callback.body,
        content_type="application/json",
        HTTP_X_SANDBOX_SIGNATURE="0" * 64,
    )

    assert (response.status_code, response.json()["code"]) == (400, "FAIL")
    assert Order.objects.get(pk=purchase.order.pk).status == OrderStatus.PENDING_PAYMENT
    assert CallbackLog.objects.get().outcome == "rejected"


def test_an_unknown_provider_is_404(client, db):
    response = client.post(
        "/api/v1/payments/callbacks/paypal", b"{}", content_type="application/json"
    )

    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_provider")


def test_alipay_notifications_are_answered_with_the_text_success(client, purchase):
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
        clock=lambda: LATER,
    )
    with use_provider(provider):
        payment = start_payment(
            order=purchase.order, provider="alipay", user=purchase.buyer, now=NOW
        )
        body = gateway.notification(out_trade_no=payment.id.hex, total_amount="760.00")
        forged = client.post(
            "/api/v1/payments/callbacks/alipay",
            body.replace(b"760.00", b"760.01"),
            content_type="application/x-www-form-urlencoded; charset=utf-8",
        )
        response = client.post(
            "/api/v1/payments/callbacks/alipay",
            body,
            content_type="application/x-www-form-urlencoded; charset=utf-8",
        )

    assert payment.cashier_url.startswith("https://openapi.alipay.com/gateway.do?")
    assert (forged.status_code, forged.content) == (200, b"fail")
    assert (response.status_code, response.content) == (200, b"success")
    assert Order.objects.get(pk=purchase.order.pk).status == OrderStatus.FULFILLED
    assert Payment.objects.get().provider_reference == "2026112222001446880500580401"


def test_wechat_callbacks_are_answered_with_code_success(client, purchase):
    platform = FakeWeChatPay(
        merchant_public_key=rsa_key("wechat-merchant").public_key(),
        platform_private_key=rsa_key("wechat-platform"),
        platform_serial="5157F09E",
        mchid="1900009191",
        apiv3_key=b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb",
        clock=lambda: LATER,
    )
    provider = WeChatPayProvider(
        mchid="1900009191",
        appid="wxd678efh567hg6787",
        serial_no="1DDE55AD",
        private_key=rsa_key("wechat-merchant"),
        apiv3_key=platform.apiv3_key,
        platform_keys={"5157F09E": rsa_key("wechat-platform").public_key()},
        transport=platform,
        clock=lambda: LATER,
    )
    with use_provider(provider):
        payment = start_payment(
            order=purchase.order, provider="wechat", user=purchase.buyer, now=NOW
        )
        body = platform.notification(platform.transaction(out_trade_no=payment.id.hex, total=76000))
        headers = {
            f"HTTP_{k.upper().replace('-', '_')}": v
            for k, v in platform.signed_headers(body.decode()).items()
        }
        response = client.post(
            "/api/v1/payments/callbacks/wechat", body, content_type="application/json", **headers
        )

    assert payment.qr_content == "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"
    assert (response.status_code, response.json()["code"]) == (200, "SUCCESS")
    assert Order.objects.get(pk=purchase.order.pk).status == OrderStatus.FULFILLED


def test_the_openapi_document_lists_the_payment_endpoints(client, db):
    paths = client.get("/api/openapi.json").json()["paths"]

    assert set(paths["/api/v1/orders/{number}/payments"]) == {"post"}
    assert set(paths["/api/v1/payments/{payment_id}"]) == {"get"}
    assert set(paths["/api/v1/payments/callbacks/{provider}"]) == {"post"}


@pytest.mark.parametrize(
    "payload",
    [
        {"provider": "x" * 21},
        {"provider": "sandbox", "options": ["fail"]},
        {"options": {}},
    ],
)
def test_malformed_requests_are_422_and_change_nothing(client, purchase, payload):
    client.force_login(purchase.buyer)

    response = _post_json(client, _pay_url(purchase.order), payload)

    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_input")
    assert Payment.objects.count() == 0
