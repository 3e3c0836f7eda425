import pytest
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.inventory import services as inventory
from tessera.inventory.tests.factories import make_sale
from tessera.orders.models import Order, OrderStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(client):
    sale = make_sale(sections=1, rows=1, seats_per_row=6)
    buyer = make_user()
    client.force_login(buyer)
    hold = inventory.hold_units(
        session=sale.session,
        user=buyer,
        unit_ids=[u.id for u in sale.seat_units("S1", "A", [1, 2])],
        now=timezone.now(),
    )
    return sale, buyer, hold


def test_order_from_hold_with_idempotency_key(client, setup):
    _sale, _buyer, hold = setup
    body = {"attendees": [{"name": "王芳"}, {"name": "Li"}], "email": "a@example.com"}
    first = client.post(
        f"/api/v1/holds/{hold.pk}/order",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    again = client.post(
        f"/api/v1/holds/{hold.pk}/order",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert first.status_code == 201
    assert again.status_code == 201
    data = first.json()
    assert again.json()["number"] == data["number"]
    assert Order.objects.count() == 1
    assert data["status"] == "pending_payment"
    assert data["total"] == "760.00"
    assert [(ln["seat_label"], ln["price"], ln["attendee_name"]) for ln in data["lines"]] == [
        ("1", "380.00", "王芳"),
        ("2", "380.00", "Li"),
    ]


def test_reused_key_with_another_body_is_refused(client, setup):
    _sale, _buyer, hold = setup
    url = f"/api/v1/holds/{hold.pk}/order"
    client.post(
        url, {"email": "a@example.com"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k2"
    )
    response = client.post(
        url, {"email": "b@example.com"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k2"
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.get().email == "a@example.com"


def test_wrong_attendee_count_is_a_clear_error_and_creates_nothing(client, setup):
    _sale, _buyer, hold = setup
    response = client.post(
        f"/api/v1/holds/{hold.pk}/order",
        {"attendees": [{"name": "x"}]},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "attendees_invalid",
        "message": "Please give one attendee name (at most 80 characters) per ticket.",
        "details": {"expected": 2, "given": 1},
    }
    assert not Order.objects.exists()


def test_read_list_update_and_cancel(client, setup):
    _sale, _buyer, hold = setup
    number = client.post(
        f"/api/v1/holds/{hold.pk}/order", {}, content_type="application/json"
    ).json()["number"]
    assert client.get(f"/api/v1/orders/{number}").json()["number"] == number
    assert [o["number"] for o in client.get("/api/v1/orders").json()["items"]] == [number]
    response = client.put(
        f"/api/v1/orders/{number}/attendees",
        {"attendees": [{"name": "A"}, {"name": "B"}]},
        content_type="application/json",
    )
    assert [ln["attendee_name"] for ln in response.json()["lines"]] == ["A", "B"]
    response = client.post(
        f"/api/v1/orders/{number}/cancel",
        {"reason": "plans changed"},
        content_type="application/json",
    )
    assert response.json()["status"] == OrderStatus.CANCELLED
    assert response.json()["close_reason"] == "plans changed"


def test_someone_elses_order_is_not_found(client, setup):
    _sale, _buyer, hold = setup
    number = client.post(
        f"/api/v1/holds/{hold.pk}/order", {}, content_type="application/json"
    ).json()["number"]
    client.force_login(make_user())
    response = client.get(f"/api/v1/orders/{number}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
    assert (
        client.post(
            f"/api/v1/holds/{hold.pk}/order", {}, content_type="application/json"
        ).status_code
        == 404
    )
