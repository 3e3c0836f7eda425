"""Refunds over HTTP: quote, request with the fee shown, status, withdraw; bad input answered
in the one error shape, in the user's language, with nothing changed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.aftersales.models import RefundRequest
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import LedgerEntry, OrderStatus
from tessera.tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def sale(now):
    sale = make_sale(sections=1, rows=1, seats_per_row=6, starts_at=now + timedelta(days=5))
    catalog.set_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        tiers=[(168, 0), (72, 10), (0, 20)],
    )
    return sale


@pytest.fixture
def fan():
    return make_buyer(preferred_language="en")


def post(client, url, body, **headers):
    return client.post(url, body, content_type="application/json", headers=headers)


def test_a_fan_quotes_then_refunds_one_ticket_and_follows_it(client, sale, fan, now):
    order = bought(sale, fan, [1, 2], now)
    first = order.lines.order_by("pk").first()
    client.force_login(fan)
    base = f"/api/v1/orders/{order.number}"

    quote = post(client, f"{base}/refund-quote", {"lines": [first.pk]}, **{"Accept-Language": "en"})
    assert quote.status_code == 200, quote.content
    body = quote.json()
    assert (body["price"], body["fee"], body["amount"], body["needs_review"]) == (
        "380.00",
        "38.00",
        "342.00",
        False,
    )
    assert body["lines"][0]["explanation"][-1] == "Fee ¥38.00 of ¥380.00: ¥342.00 goes back to you."

    done = post(
        client,
        f"{base}/refunds",
        {"lines": [first.pk], "expected_fee": "38.00", "reason": "生病了"},
        **{"Idempotency-Key": "r-1"},
    )
    assert done.status_code == 201, done.content
    made = done.json()
    assert (made["status"], made["stage"], made["stage_label"], made["amount"]) == (
        "approved",
        "refunded",
        "已退款",
        "342.00",
    )
    # the same key answers the same request
    again = post(
        client,
        f"{base}/refunds",
        {"lines": [first.pk], "expected_fee": "38.00", "reason": "生病了"},
        **{"Idempotency-Key": "r-1"},
    )
    assert (again.status_code, again.json()["id"]) == (201, made["id"])
    assert RefundRequest.objects.count() == 1

    listed = client.get(f"{base}/refunds").json()
    assert [r["id"] for r in listed] == [made["id"]]
    assert client.get(f"/api/v1/refunds/{made['id']}").json()["stage"] == "refunded"
    assert Ticket.objects.get(order_line=first).status == TicketStatus.REVOKED


def test_a_changed_fee_is_refused_with_the_new_figures_in_chinese(client, sale, fan, now):
    order = bought(sale, fan, [1], now)
    client.force_login(fan)
    answer = post(
        client,
        f"/api/v1/orders/{order.number}/refunds",
        {"expected_fee": "0.00"},
        **{"Accept-Language": "zh-hans"},
    )
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "refund_fee_changed"
    assert error["details"] == {"fee": "38.00", "amount": "342.00"}
    assert "手续费" in error["message"]
    assert not RefundRequest.objects.exists()
    assert Ticket.objects.get(order_line__order=order).status == TicketStatus.VALID


def test_someone_elses_order_and_request_are_not_found(client, sale, fan, now):
    order = bought(sale, fan, [1], now)
    stranger = make_buyer()
    client.force_login(fan)
    made = post(client, f"/api/v1/orders/{order.number}/refunds", {"expected_fee": "38.00"})
    assert made.status_code == 201
    client.force_login(stranger)
    for answer in (
        post(client, f"/api/v1/orders/{order.number}/refund-quote", {}),
        post(client, f"/api/v1/orders/{order.number}/refunds", {}),
        client.get(f"/api/v1/orders/{order.number}/refunds"),
        client.get(f"/api/v1/refunds/{made.json()['id']}"),
        post(client, f"/api/v1/refunds/{made.json()['id']}/withdraw", {}),
    ):
        assert answer.status_code == 404, answer.content
        assert set(answer.json()["error"]) == {"code", "message", "details"}
    client.logout()
    assert post(client, f"/api/v1/orders/{order.number}/refunds", {}).status_code == 401


def test_bad_input_never_changes_anything(client, sale, fan, now):
    order = bought(sale, fan, [1, 2], now)
    client.force_login(fan)
    url = f"/api/v1/orders/{order.number}/refunds"
    ledger = list(LedgerEntry.objects.values_list("pk", flat=True))
    bodies = [
        "not json",
        "[]",
        "null",
        '"text"',
        {"lines": "all"},
        {"lines": [True]},
        {"lines": [2**80]},
        {"lines": [-1]},
        {"lines": list(range(200))},
        {"expected_fee": 38},
        {"expected_fee": "NaN"},
        {"expected_fee": "1" * 30},
        {"expected_fee": "3\x008"},
        {"reason": "x" * 501},
        {"reason": ["a"]},
    ]
    for body in bodies:
        answer = client.post(url, body, content_type="application/json")
        assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.content)
        assert set(answer.json()["error"]) == {"code", "message", "details"}, body
    assert client.get("/api/v1/refunds/not-a-uuid").status_code in (404, 422)
    assert not RefundRequest.objects.exists()
    assert list(LedgerEntry.objects.values_list("pk", flat=True)) == ledger
    assert order.__class__.objects.get(pk=order.pk).status == OrderStatus.FULFILLED


def test_a_request_waiting_for_review_is_withdrawn_over_the_api(client, sale, fan, now):
    catalog.set_policy(
        event=sale.session.event, actor=None, now=now, is_refundable=True, refunds_need_review=True
    )
    order = bought(sale, fan, [1], now)
    client.force_login(fan)
    made = post(client, f"/api/v1/orders/{order.number}/refunds", {}).json()
    assert made["stage"] == "requested"
    withdrawn = post(client, f"/api/v1/refunds/{made['id']}/withdraw", {})
    assert (withdrawn.status_code, withdrawn.json()["stage"]) == (200, "cancelled")
    again = post(client, f"/api/v1/refunds/{made['id']}/withdraw", {})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "refund_request_not_open")
