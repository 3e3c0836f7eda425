"""The resale endpoints, one thin test each, plus a tampered price and bad input: clear,
translated errors, never a 5xx, nothing written."""

import json
import uuid
from decimal import Decimal

import pytest
from django.test import Client, TestCase
from django.utils import timezone

from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import Order, OrderStatus
from tessera.payments.testing import pay_locally
from tessera.resale.models import Listing, ListingStatus
from tessera.resale.tests.factories import make_resale
from tessera.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def client_for(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def post(client, path, body=None):
    return client.post(
        path, json.dumps(body) if body is not None else "", content_type="application/json"
    )


def test_list_browse_buy_and_pay_through_the_api():
    now = timezone.now().replace(microsecond=0)
    r = make_resale(now, cap="10", fee="5")
    seller = client_for(r.seller)
    ticket = r.tickets[0]
    made = post(
        seller, "/api/v1/resale/listings", {"ticket": str(ticket.public_id), "price": "418.00"}
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["status"], body["price"], body["fee"], body["payout"]) == (
        "listed",
        "418.00",
        "20.90",
        "380.00",
    )
    mine = seller.get("/api/v1/resale/listings/mine").json()
    assert [m["id"] for m in mine] == [body["id"]]
    # anyone browses the session's listings (no fee or payout shown)
    browse = Client().get(f"/api/v1/sessions/{r.sale.session.pk}/resale").json()
    assert [(b["id"], b["price"], b["fee"]) for b in browse] == [(body["id"], "418.00", None)]
    # a buyer buys it
    buyer = make_buyer()
    bought = post(client_for(buyer), f"/api/v1/resale/listings/{body['id']}/buy")
    assert bought.status_code == 201, bought.content
    answer = bought.json()
    assert answer["amount"] == "418.00" and answer["cashier_url"].startswith("http")
    # while the buyer pays, browsing shows nothing and the seller cannot withdraw
    assert Client().get(f"/api/v1/sessions/{r.sale.session.pk}/resale").json() == []
    refused = post(seller, f"/api/v1/resale/listings/{body['id']}/withdraw")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "resale_not_withdrawable"
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=uuid.UUID(answer["payment_id"]), now=timezone.now())
    order = Order.objects.get(number=answer["order_number"])
    assert order.status == OrderStatus.FULFILLED
    assert Ticket.objects.filter(order_line__order=order).count() == 1
    assert seller.get("/api/v1/resale/listings/mine").json()[0]["status"] == "sold"


def test_withdraw_through_the_api():
    now = timezone.now().replace(microsecond=0)
    r = make_resale(now)
    seller = client_for(r.seller)
    made = post(
        seller, "/api/v1/resale/listings", {"ticket": str(r.tickets[0].public_id), "price": "380"}
    ).json()
    answer = post(seller, f"/api/v1/resale/listings/{made['id']}/withdraw")
    assert answer.status_code == 200
    assert answer.json()["status"] == "withdrawn"
    assert Listing.objects.get(pk=made["id"]).status == ListingStatus.WITHDRAWN


def test_tampered_price_is_refused_in_both_languages():
    now = timezone.now().replace(microsecond=0)
    r = make_resale(now, cap="0")
    body = {"ticket": str(r.tickets[0].public_id), "price": "380.01"}
    en = post(client_for(r.seller, "en"), "/api/v1/resale/listings", body)
    zh = post(client_for(r.seller, "zh-hans"), "/api/v1/resale/listings", body)
    assert en.status_code == zh.status_code == 422
    assert en.json()["error"]["code"] == "resale_price_above_cap"
    assert en.json()["error"]["message"] == "The price may be at most 380.00 CNY for this ticket."
    assert zh.json()["error"]["message"] == "此票的价格最高为 380.00 CNY。"
    assert Listing.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"ticket": "not-a-uuid", "price": "100"},
        {"ticket": None, "price": "100"},
        {"price": "100"},
        {"ticket": "00000000-0000-0000-0000-000000000000", "price": 100},
        {"ticket": "00000000-0000-0000-0000-000000000000", "price": "1\u0000"},
        {"ticket": "00000000-0000-0000-0000-000000000000", "price": "9" * 33},
        {"ticket": "00000000-0000-0000-0000-000000000000", "price": "1e999999"},
        {"ticket": "00000000-0000-0000-0000-000000000000", "price": "100", "extra": 1},
        ["not", "an", "object"],
        "text",
    ],
)
def test_bad_input_is_a_clear_error_not_a_500(body):
    now = timezone.now().replace(microsecond=0)
    r = make_resale(now)
    if isinstance(body, dict) and body.get("ticket") == "00000000-0000-0000-0000-000000000000":
        body = {**body, "ticket": str(r.tickets[0].public_id)}
    answer = post(client_for(r.seller), "/api/v1/resale/listings", body)
    assert 400 <= answer.status_code < 500, answer.content
    assert answer.json()["error"]["message"]
    assert Listing.objects.count() == 0


def test_someone_elses_ticket_and_unknown_listings():
    now = timezone.now().replace(microsecond=0)
    r = make_resale(now)
    other = client_for(make_buyer())
    answer = post(
        other, "/api/v1/resale/listings", {"ticket": str(r.tickets[0].public_id), "price": "100"}
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "resale_ticket_not_found"
    listing = post(
        client_for(r.seller),
        "/api/v1/resale/listings",
        {"ticket": str(r.tickets[0].public_id), "price": "100"},
    ).json()
    # someone else cannot withdraw it; unknown ids are 404; a bad id is a 4xx
    assert post(other, f"/api/v1/resale/listings/{listing['id']}/withdraw").status_code == 404
    assert post(other, f"/api/v1/resale/listings/{uuid.uuid4()}/buy").status_code == 404
    assert post(other, "/api/v1/resale/listings/not-a-uuid/buy").status_code in (404, 422)
    assert Client().get("/api/v1/sessions/999999999/resale").status_code == 404
    assert Client().get("/api/v1/sessions/99999999999999999999999/resale").status_code in (404, 422)
    assert post(Client(), f"/api/v1/resale/listings/{listing['id']}/buy").status_code in (401, 403)
    assert Listing.objects.get(pk=listing["id"]).buyer_id is None
    assert Listing.objects.get(pk=listing["id"]).price == Decimal("100.00")
