"""Alipay RSA2: request signing, signed responses and asynchronous notifications, with locally
generated keys and a local fake of the gateway (no network)."""

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest

from tessera.payments.providers import alipay, get_provider
from tessera.payments.providers.base import (
    CallbackData,
    CallbackForged,
    ProviderError,
    ProviderNotConfigured,
    TradeRequest,
)
from tessera.payments.tests.fakes import FakeAlipay
from tessera.payments.tests.keys import private_pem, public_pem, rsa_key

NOW = datetime(2026, 11, 22, 12, 49, 52, tzinfo=UTC)  # 20:49:52 in Beijing
APP_ID = "2021000122600001"
PAYMENT_ID = uuid.UUID("7f1c2a56-4b1e-4f0e-9a51-3c2d4e5f6a7b")


def _payment(amount: str = "380.00"):
    organizer = SimpleNamespace(display_name="星光文化")
    event = SimpleNamespace(display_name="周杰伦演唱会", organization=organizer)
    order = SimpleNamespace(number="T261122-K7M3QX", session=SimpleNamespace(event=event))
    return SimpleNamespace(
        id=PAYMENT_ID, amount=Decimal(amount), currency="CNY", order=order, options={}
    )


def _trade(amount_minor: int = 38000) -> TradeRequest:
    return TradeRequest(
        payment_id=PAYMENT_ID,
        amount_minor=amount_minor,
        currency="CNY",
        order_number="T261122-K7M3QX",
        subject="周杰伦演唱会",
        merchant_name="星光文化",
        return_url="https://shop.example/orders/T1/",
        notify_url="https://shop.example/api/v1/payments/callbacks/alipay",
        options={},
    )


@pytest.fixture
def gateway():
    return FakeAlipay(
        app_public_key=rsa_key("alipay-app").public_key(),
        alipay_private_key=rsa_key("alipay-platform"),
        app_id=APP_ID,
    )


@pytest.fixture
def provider(gateway):
    return alipay.AlipayProvider(
        app_id=APP_ID,
        private_key=rsa_key("alipay-app"),
        alipay_public_key=rsa_key("alipay-platform").public_key(),
        transport=gateway,
        clock=lambda: NOW,
    )


def test_sign_content_sorts_and_leaves_out_sign_and_empty_values():
    params = {
        "method": "alipay.trade.query",
        "app_id": "1",
        "sign": "xyz",
        "notify_url": "",
        "biz_content": '{"a":1}',
        "charset": "utf-8",
    }

    content = alipay.sign_content(params)

    assert content == 'app_id=1&biz_content={"a":1}&charset=utf-8&method=alipay.trade.query'


def test_signed_params_verify_with_the_app_public_key(provider):
    params = provider.signed_params("alipay.trade.query", {"out_trade_no": PAYMENT_ID.hex})

    assert params["timestamp"] == "2026-11-22 20:49:52"
    assert params["sign_type"] == "RSA2"
    assert params["biz_content"] == f'{{"out_trade_no":"{PAYMENT_ID.hex}"}}'
    public = rsa_key("alipay-app").public_key()
    assert alipay.rsa2_verify(public, alipay.sign_content(params), params["sign"])
    params["biz_content"] = params["biz_content"].replace(PAYMENT_ID.hex, "0" * 32)
    assert not alipay.rsa2_verify(public, alipay.sign_content(params), params["sign"])


def test_page_pay_url_carries_a_valid_signature(provider):
    result = provider.create(
        _payment(),
        return_url="https://shop.example/orders/T1/",
        notify_url="https://shop.example/api/v1/payments/callbacks/alipay",
    )

    url = urlsplit(result.redirect_url)
    params = dict(parse_qsl(url.query))
    assert f"{url.scheme}://{url.netloc}{url.path}" == alipay.GATEWAY
    assert params["method"] == "alipay.trade.page.pay"
    assert params["notify_url"] == "https://shop.example/api/v1/payments/callbacks/alipay"
    assert json.loads(params["biz_content"]) == {
        "out_trade_no": PAYMENT_ID.hex,
        "total_amount": "380.00",
        "subject": "周杰伦演唱会 T261122-K7M3QX",
        "product_code": "FAST_INSTANT_TRADE_PAY",
    }
    assert alipay.rsa2_verify(
        rsa_key("alipay-app").public_key(), alipay.sign_content(params), params["sign"]
    )


def test_page_pay_is_prepared_locally_with_the_same_signed_url(provider, gateway):
    prepared = provider.prepare(_trade())
    created = provider.create(
        _payment(),
        return_url="https://shop.example/orders/T1/",
        notify_url="https://shop.example/api/v1/payments/callbacks/alipay",
    )

    assert provider.prepares_locally is True
    assert prepared == created
    assert dict(parse_qsl(urlsplit(prepared.redirect_url).query))["return_url"] == (
        "https://shop.example/orders/T1/"
    )
    assert gateway.requests == []  # nothing was sent to Alipay


def test_the_qr_mode_is_not_prepared_locally(provider):
    provider.mode = "qr"

    assert provider.prepares_locally is False
    with pytest.raises(NotImplementedError):
        provider.prepare(_trade())


def test_precreate_returns_the_qr_code_from_a_verified_response(provider, gateway):
    provider.mode = "qr"

    result = provider.create(_payment("0.01"), return_url="", notify_url="https://n.example/")

    assert result.qr_content == f"https://qr.alipay.com/bax0{PAYMENT_ID.hex[:8]}"
    assert json.loads(gateway.requests[0]["biz_content"])["total_amount"] == "0.01"


def test_a_response_with_a_wrong_signature_is_not_believed(provider, gateway):
    provider.mode = "qr"
    gateway.tamper_responses = True

    with pytest.raises(ProviderError) as caught:
        provider.create(_payment(), return_url="", notify_url="https://n.example/")

    assert caught.value.details == {"reason": "response signature invalid"}


def test_requests_signed_with_another_key_are_refused_by_the_gateway(gateway):
    impostor = alipay.AlipayProvider(
        app_id=APP_ID,
        private_key=rsa_key("someone-else"),
        alipay_public_key=rsa_key("alipay-platform").public_key(),
        transport=gateway,
        clock=lambda: NOW,
        mode="qr",
    )

    with pytest.raises(ProviderError) as caught:
        impostor.create(_payment(), return_url="", notify_url="https://n.example/")

    assert caught.value.details == {"reason": "验签出错"}


def test_query_maps_trade_status(provider, gateway):
    assert provider.query(_payment()) == "pending"  # ACQ.TRADE_NOT_EXIST
    gateway.trades[PAYMENT_ID.hex] = "TRADE_SUCCESS"
    assert provider.query(_payment()) == "succeeded"
    gateway.trades[PAYMENT_ID.hex] = "TRADE_CLOSED"
    assert provider.query(_payment()) == "failed"


def test_refund_sends_yuan_and_the_refund_number(provider, gateway):
    gateway.trades[PAYMENT_ID.hex] = "TRADE_SUCCESS"

    result = provider.refund(_payment(), Decimal("380.00"), "座位已被他人购买", refund_id="r" * 32)

    assert (result.status, result.provider_reference) == ("succeeded", "2026112222001")
    assert json.loads(gateway.requests[-1]["biz_content"]) == {
        "out_trade_no": PAYMENT_ID.hex,
        "refund_amount": "380.00",
        "refund_reason": "座位已被他人购买",
        "out_request_no": "r" * 32,
    }


def test_refund_of_an_unpaid_trade_fails(provider):
    result = provider.refund(_payment(), Decimal("380.00"), "x", refund_id="r1")

    assert (result.status, result.detail) == ("failed", "交易状态不合法")


def test_a_valid_notification_verifies(provider, gateway):
    body = gateway.notification(out_trade_no=PAYMENT_ID.hex)

    data = provider.verify_callback({}, body, now=NOW)

    assert data == CallbackData(
        payment_id=PAYMENT_ID.hex,
        provider_reference="2026112222001446880500580401",
        status="succeeded",
        amount_minor=38000,
        currency="CNY",
        sequence=int(NOW.timestamp()) * 1_000_000,
        event_at=datetime(2026, 11, 22, 12, 49, 50, tzinfo=UTC),
        payer_id="2088102177846880",  # the notification's buyer_id
    )


@pytest.mark.parametrize(
    ("trade_status", "expected"),
    [
        ("TRADE_FINISHED", "succeeded"),
        ("TRADE_CLOSED", "failed"),
        ("WAIT_BUYER_PAY", "pending"),
    ],
)
def test_notification_trade_status(provider, gateway, trade_status, expected):
    body = gateway.notification(out_trade_no=PAYMENT_ID.hex, trade_status=trade_status)

    assert provider.verify_callback({}, body, now=NOW).status == expected


def test_one_changed_byte_is_forged(provider, gateway):
    body = gateway.notification(out_trade_no=PAYMENT_ID.hex, total_amount="380.00")
    tampered = body.replace(b"total_amount=380.00", b"total_amount=380.01")
    assert tampered != body

    with pytest.raises(CallbackForged) as caught:
        provider.verify_callback({}, tampered, now=NOW)

    assert caught.value.reason == "signature does not match"


def test_a_notification_signed_with_another_key_is_forged(provider, gateway):
    body = gateway.notification(out_trade_no=PAYMENT_ID.hex, key=rsa_key("someone-else"))

    with pytest.raises(CallbackForged):
        provider.verify_callback({}, body, now=NOW)


def test_a_notification_without_signature_is_forged(provider):
    with pytest.raises(CallbackForged):
        provider.verify_callback({}, b"out_trade_no=x&trade_status=TRADE_SUCCESS", now=NOW)


def test_a_notification_for_another_app_is_forged(provider, gateway):
    body = gateway.notification(out_trade_no=PAYMENT_ID.hex, app_id="2021000000000000")

    with pytest.raises(CallbackForged) as caught:
        provider.verify_callback({}, body, now=NOW)

    assert caught.value.reason == "notification for another app"


def test_callback_response_is_the_text_alipay_expects(provider):
    assert provider.callback_response(True).body == b"success"
    assert provider.callback_response(False).body == b"fail"


def test_the_registry_builds_alipay_from_settings(settings, gateway):
    settings.TESSERA_ALIPAY_APP_ID = APP_ID
    settings.TESSERA_ALIPAY_PRIVATE_KEY = private_pem("alipay-app")
    settings.TESSERA_ALIPAY_PUBLIC_KEY = public_pem("alipay-platform")

    provider = get_provider("alipay")

    body = gateway.notification(out_trade_no=PAYMENT_ID.hex)
    assert (provider.app_id, provider.mode, provider.gateway) == (APP_ID, "page", alipay.GATEWAY)
    assert provider.verify_callback({}, body, now=NOW).amount_minor == 38000


def test_alipay_without_keys_is_unavailable(settings):
    settings.TESSERA_ALIPAY_APP_ID = APP_ID

    with pytest.raises(ProviderNotConfigured):
        get_provider("alipay")
