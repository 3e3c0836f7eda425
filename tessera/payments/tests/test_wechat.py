"""WeChat Pay API v3: request signatures, platform-signed responses and callbacks,
AEAD_AES_256_GCM resources, with locally generated keys and a local fake of the platform."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from cryptography.exceptions import InvalidTag

from tessera.payments.providers import get_provider, wechat
from tessera.payments.providers.base import (
    CallbackData,
    CallbackForged,
    ProviderError,
    ProviderNotConfigured,
)
from tessera.payments.tests.fakes import FakeWeChatPay
from tessera.payments.tests.keys import private_pem, public_pem, rsa_key

NOW = datetime(2026, 11, 22, 12, 49, 52, tzinfo=UTC)
MCHID = "1900009191"
APIV3_KEY = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
PLATFORM_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PAYMENT_ID = uuid.UUID("7f1c2a56-4b1e-4f0e-9a51-3c2d4e5f6a7b")


def _payment(amount: str = "380.00"):
    event = SimpleNamespace(display_name="周杰伦演唱会")
    order = SimpleNamespace(number="T261122-K7M3QX", session=SimpleNamespace(event=event))
    return SimpleNamespace(id=PAYMENT_ID, amount=Decimal(amount), currency="CNY", order=order)


@pytest.fixture
def platform():
    return FakeWeChatPay(
        merchant_public_key=rsa_key("wechat-merchant").public_key(),
        platform_private_key=rsa_key("wechat-platform"),
        platform_serial=PLATFORM_SERIAL,
        mchid=MCHID,
        apiv3_key=APIV3_KEY,
        clock=lambda: NOW,
    )


@pytest.fixture
def provider(platform):
    return wechat.WeChatPayProvider(
        mchid=MCHID,
        appid="wxd678efh567hg6787",
        serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B",
        private_key=rsa_key("wechat-merchant"),
        apiv3_key=APIV3_KEY,
        platform_keys={PLATFORM_SERIAL: rsa_key("wechat-platform").public_key()},
        transport=platform,
        clock=lambda: NOW,
    )


def test_authorization_header_has_the_published_shape_and_verifies(provider):
    header = provider.authorization(
        "GET",
        "/v3/certificates",
        "",
        timestamp="1554208460",
        nonce="593BEC0C930BF1AFEB40B4A08C8FB242",
    )

    fields = wechat.parse_authorization(header)
    assert header.startswith('WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC')
    assert header.endswith(',timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B"')
    assert wechat.rsa_verify(
        rsa_key("wechat-merchant").public_key(),
        "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n",
        fields["signature"],
    )


def test_native_create_returns_the_code_url(provider, platform):
    result = provider.create(
        _payment(),
        return_url="",
        notify_url="https://shop.example/api/v1/payments/callbacks/wechat",
    )

    assert result.qr_content == "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"
    request = platform.requests[0]
    assert (request["method"], request["path"]) == ("POST", "/v3/pay/transactions/native")
    assert request["auth"]["timestamp"] == str(int(NOW.timestamp()))
    assert json.loads(request["body"]) == {
        "appid": "wxd678efh567hg6787",
        "mchid": MCHID,
        "description": "周杰伦演唱会 T261122-K7M3QX",
        "out_trade_no": PAYMENT_ID.hex,
        "notify_url": "https://shop.example/api/v1/payments/callbacks/wechat",
        "amount": {"total": 38000, "currency": "CNY"},
    }


def test_a_request_signed_with_another_key_is_refused(provider):
    provider.private_key = rsa_key("someone-else")

    with pytest.raises(ProviderError) as caught:
        provider.create(_payment(), return_url="", notify_url="https://n.example/")

    assert caught.value.details == {"reason": "HTTP 401 SIGN_ERROR: 签名错误"}


def test_an_unsigned_success_response_is_not_believed(provider, platform):
    platform.sign_responses = False

    with pytest.raises(ProviderError) as caught:
        provider.create(_payment(), return_url="", notify_url="https://n.example/")

    assert caught.value.details == {"reason": "response: signature headers missing"}


def test_query_signs_the_path_with_its_query_string(provider, platform):
    platform.trades[PAYMENT_ID.hex] = "SUCCESS"

    assert provider.query(_payment()) == "succeeded"
    assert platform.requests[-1]["path"] == (
        f"/v3/pay/transactions/out-trade-no/{PAYMENT_ID.hex}?mchid={MCHID}"
    )
    platform.trades[PAYMENT_ID.hex] = "NOTPAY"
    assert provider.query(_payment()) == "pending"
    platform.trades[PAYMENT_ID.hex] = "CLOSED"
    assert provider.query(_payment()) == "failed"


def test_refund_in_fen(provider, platform):
    platform.trades[PAYMENT_ID.hex] = "SUCCESS"

    result = provider.refund(_payment(), Decimal("380.00"), "late", refund_id="r" * 32)

    assert (result.status, result.provider_reference) == (
        "succeeded",
        "50000000382019052709732678859",
    )
    assert json.loads(platform.requests[-1]["body"]) == {
        "out_trade_no": PAYMENT_ID.hex,
        "out_refund_no": "r" * 32,
        "reason": "late",
        "amount": {"refund": 38000, "total": 38000, "currency": "CNY"},
    }


def test_refund_of_an_unpaid_trade_fails(provider, platform):
    platform.trades[PAYMENT_ID.hex] = "NOTPAY"

    result = provider.refund(_payment(), Decimal("380.00"), "late", refund_id="r1")

    assert (result.status, result.detail) == ("failed", "HTTP 403 TRADE_STATE_ERROR: 订单状态错误")


def _callback(platform, **transaction):
    body = platform.notification(platform.transaction(out_trade_no=PAYMENT_ID.hex, **transaction))
    return platform.signed_headers(body.decode("utf-8")), body


def test_a_valid_callback_verifies_and_decrypts(provider, platform):
    headers, body = _callback(platform)

    data = provider.verify_callback(headers, body, now=NOW)

    success = datetime(2026, 11, 22, 12, 49, 50, tzinfo=UTC)
    assert data == CallbackData(
        payment_id=PAYMENT_ID.hex,
        provider_reference="4200000000202611220000000001",
        status="succeeded",
        amount_minor=38000,
        currency="CNY",
        sequence=int(success.timestamp()) * 1_000_000,
        event_at=success,
        payer_id="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",  # the resource's payer.openid
    )


def test_headers_are_read_whatever_their_case(provider, platform):
    headers, body = _callback(platform)

    data = provider.verify_callback({k.lower(): v for k, v in headers.items()}, body, now=NOW)

    assert data.status == "succeeded"


def test_one_changed_byte_is_forged(provider, platform):
    headers, body = _callback(platform)
    tampered = body.replace(b"EV-2018", b"EV-2019")
    assert len(tampered) == len(body) and tampered != body

    with pytest.raises(CallbackForged) as caught:
        provider.verify_callback(headers, tampered, now=NOW)

    assert caught.value.reason == "signature does not match"


def test_a_callback_signed_with_another_key_is_forged(provider, platform):
    _headers, body = _callback(platform)
    headers = platform.signed_headers(body.decode(), key=rsa_key("someone-else"))

    with pytest.raises(CallbackForged) as caught:
        provider.verify_callback(headers, body, now=NOW)

    assert caught.value.reason == "signature does not match"


def test_an_unknown_platform_certificate_is_forged(provider, platform):
    _headers, body = _callback(platform)
    headers = platform.signed_headers(body.decode(), serial="0000")

    with pytest.raises(CallbackForged) as caught:
        provider.verify_callback(headers, body, now=NOW)

    assert caught.value.reason == "unknown platform certificate"


def test_a_signature_probe_is_refused(provider, platform):
    headers, body = _callback(platform)
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]

    with pytest.raises(CallbackForged):
        provider.verify_callback(headers, body, now=NOW)


@pytest.mark.parametrize("age_seconds", [301, -301, 3600])
def test_timestamps_more_than_five_minutes_away_are_refused(provider, platform, age_seconds):
    _headers, body = _callback(platform)
    headers = platform.signed_headers(body.decode(), timestamp=int(NOW.timestamp()) - age_seconds)

    with pytest.raises(CallbackForged) as caught:
        provider.verify_callback(headers, body, now=NOW)

    assert caught.value.reason == "timestamp outside five minutes"


def test_a_timestamp_five_minutes_old_is_accepted(provider, platform):
    _headers, body = _callback(platform)
    headers = platform.signed_headers(body.decode(), timestamp=int(NOW.timestamp()) - 300)

    assert provider.verify_callback(headers, body, now=NOW).amount_minor == 38000


def test_a_resource_encrypted_under_another_key_is_forged(provider, platform):
    body = platform.notification(
        platform.transaction(out_trade_no=PAYMENT_ID.hex), apiv3_key=b"0" * 32
    )
    headers = platform.signed_headers(body.decode("utf-8"))

    with pytest.raises(CallbackForged) as caught:
        provider.verify_callback(headers, body, now=NOW)

    assert caught.value.reason == "resource does not decrypt"


def test_a_callback_for_another_merchant_is_forged(provider, platform):
    headers, body = _callback(platform, mchid="1230000109")

    with pytest.raises(CallbackForged) as caught:
        provider.verify_callback(headers, body, now=NOW)

    assert caught.value.reason == "notification for another merchant"


def test_aes_gcm_round_trip_and_tamper_detection():
    plaintext = json.dumps({"out_trade_no": "1217752501201407033233368018"}).encode()

    sealed = wechat.encrypt_resource(
        APIV3_KEY, nonce="fdasflkja484w", plaintext=plaintext, associated_data="transaction"
    )

    assert (
        wechat.decrypt_resource(
            APIV3_KEY, nonce="fdasflkja484w", ciphertext=sealed, associated_data="transaction"
        )
        == plaintext
    )
    with pytest.raises(InvalidTag):
        wechat.decrypt_resource(
            APIV3_KEY, nonce="fdasflkja484w", ciphertext=sealed, associated_data="certificate"
        )
    with pytest.raises(InvalidTag):
        wechat.decrypt_resource(
            APIV3_KEY, nonce="fdasflkja485w", ciphertext=sealed, associated_data="transaction"
        )


def test_callback_response_is_what_wechat_expects(provider):
    ok, fail = provider.callback_response(True), provider.callback_response(False)

    assert (ok.status, json.loads(ok.body)["code"]) == (200, "SUCCESS")
    assert (fail.status, json.loads(fail.body)["code"]) == (400, "FAIL")


def test_responses_older_than_five_minutes_are_refused(provider, platform):
    provider.clock = lambda: NOW + timedelta(minutes=6)  # the platform signs at NOW

    with pytest.raises(ProviderError) as caught:
        provider.create(_payment(), return_url="", notify_url="https://n.example/")

    assert caught.value.details == {"reason": "response: timestamp outside five minutes"}


def test_the_registry_builds_wechat_pay_from_settings(settings, platform):
    settings.TESSERA_WECHAT_MCHID = MCHID
    settings.TESSERA_WECHAT_APPID = "wxd678efh567hg6787"
    settings.TESSERA_WECHAT_SERIAL_NO = "1DDE55AD98ED71D6EDD4A4A16996DE7B"
    settings.TESSERA_WECHAT_PRIVATE_KEY = private_pem("wechat-merchant")
    settings.TESSERA_WECHAT_APIV3_KEY = APIV3_KEY.decode()
    settings.TESSERA_WECHAT_PLATFORM_SERIAL = PLATFORM_SERIAL
    settings.TESSERA_WECHAT_PLATFORM_PUBLIC_KEY = public_pem("wechat-platform")

    provider = get_provider("wechat")

    headers, body = _callback(platform)
    assert (provider.mchid, provider.base_url) == (MCHID, wechat.BASE_URL)
    assert provider.verify_callback(headers, body, now=NOW).status == "succeeded"


def test_wechat_pay_with_a_short_apiv3_key_is_unavailable(settings):
    settings.TESSERA_WECHAT_MCHID = MCHID
    settings.TESSERA_WECHAT_PRIVATE_KEY = private_pem("wechat-merchant")
    settings.TESSERA_WECHAT_APIV3_KEY = "too-short"
    settings.TESSERA_WECHAT_PLATFORM_SERIAL = PLATFORM_SERIAL
    settings.TESSERA_WECHAT_PLATFORM_PUBLIC_KEY = public_pem("wechat-platform")

    with pytest.raises(ProviderNotConfigured):
        get_provider("wechat")
