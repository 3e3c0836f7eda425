"""The sale's endpoints: one thin test per answer, bad input of every shape, the status read."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client

from tessera.orders import changes
from tessera.orders.models import Order, OrderStatus
from tessera.sale import status
from tessera.sale.tests.conftest import deliver, gateway_callbacks, sale_rows

pytestmark = pytest.mark.django_db


def url(sale) -> str:
    return f"/api/v1/sessions/{sale.session.pk}/checkout"


def post(client, path, body, **headers):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(path, data, content_type="application/json", **headers)


@pytest.fixture
def fan(client, buyer):
    client.force_login(buyer)
    return client


def test_checkout_answers_the_order_where_to_pay_and_a_status_token(fan, sale, buyer):
    response = post(
        fan, url(sale), {"zone": sale.zones["B"].pk, "quantity": 2, "provider": "sandbox"}
    )
    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get(user=buyer)
    payment = order.payments.get()
    assert body["order"]["number"] == order.number
    assert (body["order"]["status"], body["order"]["total"], body["order"]["currency"]) == (
        "pending_payment",
        "560.00",
        "CNY",
    )
    assert [
        (ln["section_code"], ln["row_label"], ln["seat_label"], ln["price"])
        for ln in body["order"]["lines"]
    ] == [("S2", "A", "1", "280.00"), ("S2", "A", "2", "280.00")]
    assert body["payment"] == {
        "id": str(payment.pk),
        "provider": "sandbox",
        "status": "created",
        "amount": "560.00",
        "currency": "CNY",
        "cashier_url": payment.cashier_url,
        "qr_content": payment.qr_content,
    }
    assert body["status_url"] == f"/api/v1/orders/-/status?t={body['status_token']}"
    assert status.read_token(body["status_token"]).order_id == order.pk


def test_checkout_needs_a_signed_in_buyer_and_the_csrf_token(sale, buyer):
    anonymous = Client()
    response = post(
        anonymous, url(sale), {"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (401, "not_authenticated")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(buyer)
    before = sale_rows(sale.session)
    response = post(
        strict, url(sale), {"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"}
    )
    assert response.status_code == 403
    assert sale_rows(sale.session) == before


@pytest.mark.parametrize(
    "body",
    [
        {"zone": "1", "quantity": 1, "provider": "sandbox"},
        {"zone": 1, "quantity": True, "provider": "sandbox"},
        {"zone": 1, "quantity": 10**30, "provider": "sandbox"},
        {"zone": 1, "quantity": -1, "provider": "sandbox"},
        {"unit_ids": "1,2", "provider": "sandbox"},
        {"unit_ids": [1, None], "provider": "sandbox"},
        {"unit_ids": [2**70], "provider": "sandbox"},
        {"zone": 1, "quantity": 1},
        {"zone": 1, "quantity": 1, "provider": "sandbox", "best_available": "yes"},
        {"zone": 1, "quantity": 1, "provider": "sandbox", "attendees": [{"name": 5}]},
        {"zone": 1, "quantity": 1, "provider": "sandbox\x00"},
        {"zone": 1, "quantity": 1, "provider": "sandbox", "email": "x" * 300},
        {"zone": 1, "quantity": 1, "provider": "sandbox", "seat_labels": ["1-2-3"]},
        [],
        None,
        "checkout",
        b"\xff\xfe not json",
        b'{"zone": 1, "quantity": ',
    ],
)
def test_bad_bodies_get_a_422_and_change_nothing(fan, sale, body):
    before = sale_rows(sale.session)
    response = post(fan, url(sale), body)
    assert response.status_code in (400, 422), response.content
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert sale_rows(sale.session) == before


def test_a_nul_character_in_a_name_is_refused_not_a_server_error(fan, sale):
    response = post(
        fan,
        url(sale),
        {
            "zone": sale.zones["A"].pk,
            "quantity": 1,
            "provider": "sandbox",
            "attendees": [{"name": "Li\x00Lei"}],
        },
    )
    # the JSON escape \u0000 is refused before the endpoint (core.inputguard)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_input")
    [error] = response.json()["error"]["details"]["errors"]
    assert error["field"] == "request"


def test_the_status_token_reads_the_order_without_signing_in(fan, sale):
    body = post(
        fan, url(sale), {"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"}
    ).json()
    response = Client().get(body["status_url"])
    assert response.status_code == 200
    assert response.json() == {
        "number": body["order"]["number"],
        "status": "pending_payment",
        "status_label": "等待支付",  # no language asked for: the site's own
        "is_final": False,
    }
    english = Client().get(body["status_url"], HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["status_label"] == "Waiting for payment"


@pytest.mark.parametrize("token", ["", "1.T.1.1.x", "abc", "9" * 300])
def test_a_forged_or_garbled_token_is_not_found(token):
    response = Client().get("/api/v1/orders/-/status", {"t": token})
    assert response.status_code in (404, 422)
    assert "error" in response.json()


def test_a_token_for_another_order_does_not_verify(fan, sale):
    body = post(
        fan, url(sale), {"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"}
    ).json()
    order_id, number, user_id, issued, mac = body["status_token"].split(".")
    forged = ".".join([str(int(order_id) + 1), number, user_id, issued, mac])
    response = Client().get("/api/v1/orders/-/status", {"t": forged})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "order_token_invalid")


@pytest.mark.django_db(transaction=True)
def test_a_waiting_status_read_answers_when_the_payment_is_confirmed(sale, buyer, now):
    fan = Client()
    fan.force_login(buyer)
    body = post(
        fan, url(sale), {"zone": sale.zones["A"].pk, "quantity": 2, "provider": "sandbox"}
    ).json()
    answers = {}

    def read():
        try:
            started = time.monotonic()
            answers["body"] = Client().get(body["status_url"] + "&wait=10").json()
            answers["seconds"] = time.monotonic() - started
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.5)  # the reader is waiting now
    [callback] = gateway_callbacks(body["payment"]["id"], now + timedelta(seconds=30))
    deliver(Client(), callback)
    reader.join(timeout=15)
    assert answers["body"]["status"] == OrderStatus.FULFILLED
    assert answers["body"]["is_final"] is True
    assert 0.5 < answers["seconds"] < 5


@pytest.mark.django_db(transaction=True)
def test_every_process_hears_what_another_announced(sale):
    """The listener (PostgreSQL): a change announced on another connection reaches this
    process's board; without PostgreSQL there is nothing to hear."""
    if not changes.ensure_listening():
        assert connection.vendor != "postgresql"
        return
    deadline = time.monotonic() + 10
    while changes.board.listening_since is None and time.monotonic() < deadline:
        time.sleep(0.05)
    import psycopg

    params = {k: v for k, v in connection.get_connection_params().items() if k != "context"}
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_notify(%s, %s)", [changes.CHANNEL, "987654321:fulfilled"])
    assert changes.board.wait(987654321, unless="pending_payment", timeout=5) == "fulfilled"
