"""Cashier links: what the merchant signs, and every way a changed link is refused."""

from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from uuid import UUID

import pytest

from tessera.sandbox import pagepay, signing
from tessera.sandbox.errors import CashierLinkInvalid
from tessera.sandbox.tests.conftest import PAYMENT_ID, make_terms

SWITCHED = {"fail": True, "delay_seconds": 45, "duplicates": 3, "out_of_order": True}


def _params(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def _with(url: str, params: list[tuple[str, str]], path: str | None = None) -> str:
    parts = urlsplit(url)
    query = urlencode(params, quote_via=quote)
    return f"{parts.scheme}://{parts.netloc}{path or parts.path}?{query}"


def test_the_link_carries_the_terms_and_their_signature(db):
    url = pagepay.page_pay_url(make_terms(switches=SWITCHED))

    params = dict(_params(url))
    signature = params.pop("sign")
    assert url.startswith(f"http://127.0.0.1:8000/pay/sandbox/{PAYMENT_ID}/?amount=76000&")
    assert params == {
        "amount": "76000",
        "currency": "CNY",
        "order": "T261122-K7M3QX",
        "subject": "周杰伦 2026 嘉年华 · 上海站",
        "merchant": "星光文化",
        "notify_url": "http://127.0.0.1:8000/api/v1/payments/callbacks/sandbox",
        "return_url": "http://127.0.0.1:8000/orders/T261122-K7M3QX/",
        "fail": "1",
        "out_of_order": "1",
        "delay_seconds": "45",
        "duplicates": "3",
    }
    assert signature == signing.sign_link({"payment_id": str(PAYMENT_ID), **params})
    assert len(signature) == 64
    assert "+" not in url and " " not in url  # spaces travel as %20


def test_the_gateway_reads_back_exactly_the_terms_the_merchant_signed(db):
    terms = make_terms(switches=SWITCHED)

    assert pagepay.terms_from_url(pagepay.page_pay_url(terms)) == terms
    assert pagepay.terms_from_url(pagepay.page_pay_url(make_terms(return_url=""))) == (
        make_terms(return_url="")
    )


def test_text_longer_than_the_gateway_keeps_is_cut_before_signing(db):
    terms = make_terms(subject="演" * 250, merchant_name="M" * 130, order_number="N" * 50)

    read = pagepay.terms_from_url(pagepay.page_pay_url(terms))

    assert (read.subject, read.merchant_name, read.order_number) == (
        "演" * 200,
        "M" * 120,
        "N" * 40,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("amount", "1"),
        ("currency", "USD"),
        ("order", "T261122-XXXXXX"),
        ("subject", "另一场演出"),
        ("merchant", "黄牛票务"),
        ("notify_url", "http://evil.example/notify"),
        ("return_url", "http://evil.example/"),
        ("fail", ""),
        ("delay_seconds", "0"),
        ("duplicates", "1"),
        ("out_of_order", "0"),
        ("sign", "0" * 64),
    ],
)
def test_changing_any_parameter_breaks_the_signature(db, name, value):
    url = pagepay.page_pay_url(make_terms(switches=SWITCHED))
    changed = [(k, value if k == name else v) for k, v in _params(url)]

    with pytest.raises(CashierLinkInvalid) as caught:
        pagepay.terms_from_url(_with(url, changed))

    assert caught.value.reason == "signature does not match"
    assert caught.value.code == "sandbox_link_invalid"


def test_the_payment_id_in_the_path_is_signed_too(db):
    url = pagepay.page_pay_url(make_terms())
    other = UUID("00000000-0000-4000-8000-000000000001")

    with pytest.raises(CashierLinkInvalid) as caught:
        pagepay.terms_from_url(_with(url, _params(url), path=f"/pay/sandbox/{other}/"))

    assert caught.value.reason == "signature does not match"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda ps: [p for p in ps if p[0] != "fail"], "signature does not match"),
        (lambda ps: [*ps, ("fail", "1")], "repeated parameter fail"),
        (lambda ps: [*ps, ("refund", "1")], "unknown parameter refund"),
        (lambda ps: [p for p in ps if p[0] != "sign"], "not signed"),
        (lambda ps: [p for p in ps if p[0] != "return_url"], "signature does not match"),
    ],
)
def test_removed_repeated_and_unknown_parameters_are_refused(db, change, reason):
    url = pagepay.page_pay_url(make_terms(switches={"fail": True}))

    with pytest.raises(CashierLinkInvalid) as caught:
        pagepay.terms_from_url(_with(url, change(_params(url))))

    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"amount": "0"}, "amount out of range"),
        ({"amount": "-5"}, "amount out of range"),
        ({"amount": "１２"}, "amount out of range"),
        ({"amount": "1000000000001"}, "amount out of range"),
        ({"currency": "cny"}, "currency is not a 3-letter code"),
        ({"subject": "x" * 201}, "subject longer than 200"),
        ({"notify_url": "ftp://shop.example/notify"}, "notify_url is not an http(s) URL"),
        ({"return_url": "javascript:alert(1)"}, "return_url is not an http(s) URL"),
        ({"fail": "yes"}, "fail must be 1"),
        ({"delay_seconds": "3601"}, "delay_seconds out of range"),
        ({"duplicates": "0"}, "duplicates out of range"),
        ({"duplicates": "11"}, "duplicates out of range"),
    ],
)
def test_signed_values_out_of_range_are_refused(db, params, reason):
    merged = {**pagepay.link_params(make_terms()), **params}
    signature = signing.sign_link({"payment_id": str(PAYMENT_ID), **merged})

    with pytest.raises(CashierLinkInvalid) as caught:
        pagepay.terms_from_query(PAYMENT_ID, [*merged.items(), ("sign", signature)])

    assert caught.value.reason == reason


def test_a_signed_link_without_the_required_terms_is_refused(db):
    signature = signing.sign_link({"payment_id": str(PAYMENT_ID), "currency": "CNY"})

    with pytest.raises(CashierLinkInvalid) as caught:
        pagepay.terms_from_query(PAYMENT_ID, [("currency", "CNY"), ("sign", signature)])

    assert caught.value.reason == "missing amount, order, subject, merchant, notify_url"


def test_a_link_signed_under_another_secret_key_is_refused(db, settings):
    url = pagepay.page_pay_url(make_terms())
    settings.SECRET_KEY = "another-installation-" + "x" * 40

    with pytest.raises(CashierLinkInvalid) as caught:
        pagepay.terms_from_url(url)

    assert caught.value.reason == "signature does not match"


def test_a_link_signature_never_passes_for_a_callback_signature(db):
    params = pagepay.link_params(make_terms())
    content = urlencode(sorted({"payment_id": str(PAYMENT_ID), **params}.items()), quote_via=quote)

    assert signing.sign_link({"payment_id": str(PAYMENT_ID), **params}) != signing.sign(
        content.encode()
    )


def test_a_url_that_is_no_cashier_link_is_refused(db):
    with pytest.raises(CashierLinkInvalid) as caught:
        pagepay.terms_from_url("http://127.0.0.1:8000/orders/T1/?sign=x")

    assert caught.value.reason == "not a cashier link"
