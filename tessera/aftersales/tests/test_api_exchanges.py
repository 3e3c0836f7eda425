"""The exchange endpoints: quote, confirm with an Idempotency-Key, status, pay again."""

import json
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from tessera.aftersales.models import ExchangeRequest
from tessera.aftersales.tests.exchange_factories import make_two_dates
from tessera.aftersales.tests.factories import bought
from tessera.inventory import services as inventory
from tessera.inventory.tests.factories import make_buyer
from tessera.payments.testing import pay_locally

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def test_quote_confirm_pay_and_read_an_exchange(client, now):
    dates = make_two_dates(now)
    fan = make_buyer(preferred_language="en")
    order = bought(dates.first, fan, [1], now)
    line = order.lines.get().pk
    hold = inventory.hold_units(
        session=dates.second, user=fan, unit_ids=[dates.unit(dates.second, "S1", 2).pk], now=now
    )
    client.force_login(fan)
    body = {"lines": [line], "hold_id": str(hold.pk)}
    # quote
    quoted = post(client, f"/api/v1/orders/{order.number}/exchange-quote", body)
    assert quoted.status_code == 200
    assert {k: quoted.json()[k] for k in ("old_price", "new_price", "fee", "difference")} == {
        "old_price": "380.00",
        "new_price": "480.00",
        "fee": "10.00",
        "difference": "110.00",
    }
    assert ExchangeRequest.objects.count() == 0
    # a tampered difference is refused
    refused = post(
        client,
        f"/api/v1/orders/{order.number}/exchanges",
        {**body, "expected_difference": "0.00"},
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "exchange_quote_changed"
    # confirm twice with one key: one exchange
    confirmed = [
        post(
            client,
            f"/api/v1/orders/{order.number}/exchanges",
            {**body, "expected_difference": "110.00"},
            **{"Idempotency-Key": "ex-1"},
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in confirmed] == [201, 201]
    first = confirmed[0].json()
    assert confirmed[1].json()["id"] == first["id"]
    assert ExchangeRequest.objects.count() == 1
    assert (first["stage"], first["amount_due"]) == ("awaiting_payment", "110.00")
    assert first["cashier_url"].startswith("http")
    # pay, then read the status
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=first["payment_id"], now=now)
    status = client.get(f"/api/v1/exchanges/{first['id']}")
    assert (status.status_code, status.json()["stage"]) == (200, "completed")
    assert (
        post(client, f"/api/v1/exchanges/{first['id']}/payment", {}).json()["error"]["code"]
        == "exchange_not_payable"
    )
    # someone else cannot read it
    client.force_login(make_user_other())
    assert client.get(f"/api/v1/exchanges/{first['id']}").status_code == 404


def make_user_other():
    return make_buyer()


def test_a_past_deadline_quote_answers_a_clear_error(client, now, settings):
    dates = make_two_dates(now)
    dates.first.session.starts_at = now + timedelta(hours=2)
    dates.first.session.save(update_fields=["starts_at"])
    fan = make_buyer(preferred_language="en")
    order = bought(dates.first, fan, [1], now)
    client.force_login(fan)
    answer = post(
        client,
        f"/api/v1/orders/{order.number}/exchange-quote",
        {"lines": [order.lines.get().pk], "hold_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "exchange_too_late"
