"""The cashier lets the tester pay from a chosen gateway account; the signed callback names
it, and the shop's adapter reads it back."""

import json
from urllib.parse import urlsplit

import pytest

from tessera.payments.providers import get_provider
from tessera.sandbox import pagepay
from tessera.sandbox.models import SandboxTrade
from tessera.sandbox.services import build_callbacks
from tessera.sandbox.tests.conftest import NOW, make_terms

pytestmark = pytest.mark.django_db


@pytest.fixture
def link() -> str:
    parts = urlsplit(pagepay.page_pay_url(make_terms()))
    return f"{parts.path}?{parts.query}"


def test_the_payer_typed_at_the_cashier_travels_in_the_signed_callback(client, link):
    response = client.post(link, {"choice": "pay", "payer": "  fan-2088@sandbox "})

    trade = SandboxTrade.objects.get()
    assert response.status_code == 303
    assert trade.payer == "fan-2088@sandbox"
    [callback] = build_callbacks(trade)
    assert json.loads(callback.body)["payer"] == "fan-2088@sandbox"
    data = get_provider("sandbox").verify_callback(callback.headers, callback.body, now=NOW)
    assert data.payer_id == "fan-2088@sandbox"


def test_no_payer_sends_none(client, link):
    client.post(link, {"choice": "pay"})

    [callback] = build_callbacks(SandboxTrade.objects.get())

    assert "payer" not in json.loads(callback.body)
    assert (
        get_provider("sandbox").verify_callback(callback.headers, callback.body, now=NOW).payer_id
        == ""
    )


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "A payer account has at most 64 letters, digits or the signs @ . _ - +."),
        ("zh-hans", "付款账户最多 64 个字符，只能包含字母、数字或符号 @ . _ - +。"),
    ],
)
def test_a_bad_payer_is_refused_on_the_page_and_nothing_is_decided(client, link, language, message):
    response = client.post(
        link, {"choice": "pay", "payer": "<script>"}, HTTP_ACCEPT_LANGUAGE=language, follow=True
    )

    assert message in response.content.decode()
    assert SandboxTrade.objects.count() == 0
