"""The passes API: one thin test per endpoint, and bad input answered with a clear error."""

import json
from unittest import mock

import pytest
from django.test import Client

from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import Order
from tessera.passes.models import Pass
from tessera.passes.tests.factories import NOW, buy_and_pay, make_league

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_clock():
    with mock.patch("tessera.passes.api.clock_now", return_value=NOW):
        yield


def client_for(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_products_on_sale_list_their_sessions():
    league = make_league(matches=2)
    body = Client().get("/api/v1/passes/products").json()
    assert [p["id"] for p in body] == [league.product.pk]
    assert [s["session_id"] for s in body[0]["sessions"]] == [s.pk for s in league.sessions]
    assert body[0]["price"] == "900.00"
    one = Client().get(f"/api/v1/passes/products/{league.product.pk}")
    assert one.status_code == 200 and one.json()["id"] == league.product.pk


def test_buying_over_http_answers_the_cashier_and_the_pass():
    league = make_league(matches=2)
    fan = make_buyer()
    response = post(client_for(fan), f"/api/v1/passes/products/{league.product.pk}/buy", {})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == "900.00" and body["cashier_url"]
    mine = client_for(fan).get(f"/api/v1/passes/{body['pass_id']}").json()
    assert mine["status"] == "pending" and mine["credential"] is None
    assert len(mine["entries"]) == 2


def test_a_paid_pass_shows_its_qr_text_and_a_match_can_be_released():
    league = make_league(matches=2, credit_value="50")
    sold, text = buy_and_pay(league)
    client = client_for(sold.user)
    listed = client.get("/api/v1/passes").json()
    assert listed[0]["credential"] == text
    assert [e["status"] for e in listed[0]["entries"]] == ["active", "active"]
    session_id = league.sessions[0].pk
    released = post(client, f"/api/v1/passes/{sold.pk}/release", {"session_id": session_id})
    assert released.status_code == 200, released.content
    assert released.json()["amount"] == "225.00"
    again = post(client, f"/api/v1/passes/{sold.pk}/release", {"session_id": session_id})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "match_not_releasable"


def test_a_sold_out_session_refuses_the_whole_pass_in_the_buyers_language():
    league = make_league(matches=2)
    InventoryUnit.objects.filter(session=league.sessions[1]).update(status=UnitStatus.BLOCKED)
    fan = make_buyer()
    path = f"/api/v1/passes/products/{league.product.pk}/buy"
    en = post(client_for(fan), path, {})
    zh = post(client_for(fan, "zh-hans"), path, {})
    assert en.status_code == zh.status_code == 409
    assert en.json()["error"]["code"] == "pass_sold_out"
    assert "nothing was held" in en.json()["error"]["message"]
    assert "未保留任何座位" in zh.json()["error"]["message"]
    assert not Order.objects.exists() and not Pass.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/api/v1/passes/products/0", None, 422),
        ("get", "/api/v1/passes/products/99999999999999999999", None, 422),
        ("get", "/api/v1/passes/products/123456", None, 404),
        ("get", "/api/v1/passes/abc", None, 422),
        ("get", "/api/v1/passes/123456", None, 404),
        ("post", "/api/v1/passes/products/{product}/buy", {"provider": "box_office"}, 404),
        ("post", "/api/v1/passes/products/{product}/buy", {"provider": "nope"}, 404),
        ("post", "/api/v1/passes/products/{product}/buy", {"email": "not-mail"}, 422),
        ("post", "/api/v1/passes/products/{product}/buy", {"extra": 1}, 422),
        ("post", "/api/v1/passes/products/{product}/buy", [1, 2], 422),
        ("post", "/api/v1/passes/123456/release", {"session_id": 1}, 404),
        ("post", "/api/v1/passes/123456/release", {"session_id": "x"}, 422),
        ("post", "/api/v1/passes/123456/release", {}, 422),
    ],
)
def test_bad_input_gets_a_clear_error_and_never_a_500(method, path, body, status):
    league = make_league(matches=1)
    client = client_for(make_buyer())
    path = path.format(product=league.product.pk)
    response = client.get(path) if method == "get" else post(client, path, body)
    assert response.status_code == status, response.content
    assert response.json()["error"]["message"]
    assert not Order.objects.exists()


def test_buying_needs_a_signed_in_account():
    league = make_league(matches=1)
    response = post(Client(), f"/api/v1/passes/products/{league.product.pk}/buy", {})
    assert response.status_code == 401
