"""429 with Retry-After on every counted action, as the API's one error shape or a page,
in the fan's language; the fast lane answers as Django does; a genuine fan never meets the
default buckets."""

import json

import pytest
from django.test import Client

from tessera.core.testing import wsgi_call
from tessera.inventory.models import Hold
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import Order
from tessera.waitingroom.tests.factories import make_room

pytestmark = pytest.mark.django_db

CSRF = "A" * 32


def fan_client(user=None, language="en", address="10.0.0.1") -> Client:
    client = Client(headers={"Accept-Language": language, "X-Real-IP": address})
    if user is not None:
        client.force_login(user)
    return client


def assert_refused_json(answer, *, scope: str, action: str):
    assert answer.status_code == 429
    retry_after = int(answer["Retry-After"])
    assert 55 <= retry_after <= 60  # a token a minute, less the time the test took
    assert answer.json() == {
        "error": {
            "code": "rate_limited",
            "message": f"Too many requests. Please wait {retry_after} seconds and try again.",
            "details": {"retry_after": retry_after, "scope": scope, "action": action},
        }
    }


def assert_refused_page(answer, *, language: str = "en"):
    assert answer.status_code == 429
    retry_after = int(answer["Retry-After"])
    assert 55 <= retry_after <= 60
    assert answer["Content-Type"].startswith("text/html")
    text = answer.content.decode()
    if language == "en":
        assert "Too many requests" in text
        assert f"You can try again in {retry_after} seconds." in text
    else:
        assert "请求过于频繁" in text
        assert f"{retry_after} 秒后" in text


@pytest.fixture
def sale():
    return make_sale(sections=1, rows=2, seats_per_row=10)


def test_sign_in_is_limited_per_address_and_account_name(limits):
    client = fan_client()
    for _ in range(2):
        answer = client.post("/accounts/login/", {"username": "ann", "password": "wrong"})
        assert answer.status_code == 200  # the form again, with its error
    assert_refused_page(client.post("/accounts/login/", {"username": "ann", "password": "x"}))
    # another address, same name: the name's bucket is empty too
    other = fan_client(address="10.0.0.2")
    refused = other.post("/accounts/login/", {"username": "ANN ", "password": "x"})
    assert_refused_page(refused)
    assert other.post("/accounts/login/", {"username": "bob", "password": "x"}).status_code == 200


def test_sign_up_is_limited_and_the_page_speaks_chinese(limits):
    client = fan_client(language="zh-hans")
    first = client.post("/signup/", {"username": "", "email": "bad"})
    assert first.status_code == 200
    assert_refused_page(client.post("/signup/", {"username": ""}), language="zh-hans")


def test_queue_join_is_limited_per_account(limits, sale):
    from django.utils import timezone

    room = make_room(sale=sale, now=timezone.now(), opens_in_minutes=-1)
    fan = make_buyer()
    client = fan_client(fan)
    assert client.post(f"/api/v1/waitingrooms/{room.pk}/entries").status_code == 201
    refused = client.post(f"/api/v1/waitingrooms/{room.pk}/entries")
    assert_refused_json(refused, scope="account", action="queue_join")
    # the queue page's form counts against the same bucket
    assert_refused_page(client.post(f"/queue/{room.pk}/"))
    # another account is not refused: joins here have only an account rule
    assert (
        fan_client(make_buyer()).post(f"/api/v1/waitingrooms/{room.pk}/entries").status_code == 201
    )


def test_holds_are_limited_per_device_and_account(limits, sale):
    fan = make_buyer()
    client = fan_client(fan)
    client.get("/health/live")  # the browser's first answer gives it its device cookie
    assert "tessera_device" in client.cookies
    url = f"/api/v1/sessions/{sale.session.pk}/holds"
    body = json.dumps({"zone": sale.zones["A"].pk, "quantity": 1})
    assert client.post(url, body, content_type="application/json").status_code == 201
    refused = client.post(url, body, content_type="application/json")
    assert_refused_json(refused, scope="device", action="hold")
    assert Hold.objects.count() == 1
    # the buy page's form: a page
    page = client.post(f"/sessions/{sale.session.pk}/buy/", {"mode": "any", "quantity": 1})
    assert_refused_page(page)
    assert Hold.objects.count() == 1


def test_checkout_and_payment_start_are_limited(limits, sale):
    fan = make_buyer()
    client = fan_client(fan)
    url = f"/api/v1/sessions/{sale.session.pk}/checkout"
    body = json.dumps({"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"})
    bought = client.post(url, body, content_type="application/json")
    assert bought.status_code == 201
    assert_refused_json(
        client.post(url, body, content_type="application/json"), scope="account", action="checkout"
    )
    assert Order.objects.count() == 1
    number = bought.json()["order"]["number"]
    payments = f"/api/v1/orders/{number}/payments"
    first = client.post(payments, json.dumps({"provider": "sandbox"}), "application/json")
    assert first.status_code != 429
    second = client.post(payments, json.dumps({"provider": "sandbox"}), "application/json")
    assert_refused_json(second, scope="account", action="payment")


def test_the_fast_lane_refuses_a_checkout_as_django_does(limits, sale):
    from tessera import wsgi

    fan = make_buyer()
    signed = Client()
    signed.force_login(fan)
    cookies = {"sessionid": signed.cookies["sessionid"].value, "csrftoken": CSRF}
    path = f"/api/v1/sessions/{sale.session.pk}/checkout"
    body = {"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"}
    headers = {"X-CSRFToken": CSRF, "X-Real-IP": "10.0.0.9"}

    def call(app):
        return wsgi_call(
            app, "POST", path, body=body, cookies=cookies, headers=headers, with_headers=True
        )

    assert call(wsgi.application)[0] == 201
    lane = call(wsgi.application)
    django = call(wsgi.django_application)
    assert lane[0] == django[0] == 429
    assert lane[1]["error"]["code"] == django[1]["error"]["code"] == "rate_limited"
    assert lane[1]["error"]["details"]["scope"] == django[1]["error"]["details"]["scope"]
    assert lane[1]["error"]["details"]["scope"] == "account"
    assert lane[2]["Retry-After"] == str(lane[1]["error"]["details"]["retry_after"])
    assert 55 <= int(lane[2]["Retry-After"]) <= 60
    assert 55 <= int(django[2]["Retry-After"]) <= 60
    assert Order.objects.count() == 1


def test_the_queue_status_layer_checks_its_own_action(limits):
    from tessera import wsgi

    limits.RATELIMITS = {"queue_status": {"ip": (1, 1)}}
    headers = {"X-Real-IP": "10.0.0.7"}
    first = wsgi_call(
        wsgi.application, "GET", "/queue/-/status", query="t=x", headers=headers, with_headers=True
    )
    assert first[0] != 429
    status, body, answer_headers = wsgi_call(
        wsgi.application,
        "GET",
        "/queue/-/status",
        query="t=x",
        headers=headers,
        with_headers=True,
    )
    assert status == 429
    assert 55 <= int(answer_headers["Retry-After"]) <= 60
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["details"]["scope"] == "ip"


def test_a_genuine_fan_holding_releasing_and_holding_again_never_meets_the_defaults(settings, sale):
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_BACKEND = "memory"  # the defaults of tessera/settings.py
    fan = make_buyer()
    client = fan_client(fan)
    url = f"/api/v1/sessions/{sale.session.pk}/holds"
    body = json.dumps({"zone": sale.zones["A"].pk, "quantity": 2})
    for _ in range(8):  # eight holds and releases in well under a minute
        held = client.post(url, body, content_type="application/json")
        assert held.status_code == 201, held.content
        assert client.delete(f"/api/v1/holds/{held.json()['id']}").status_code == 204
    checkout = f"/api/v1/sessions/{sale.session.pk}/checkout"
    bought = client.post(
        checkout,
        json.dumps({"zone": sale.zones["A"].pk, "quantity": 2, "provider": "sandbox"}),
        content_type="application/json",
    )
    assert bought.status_code == 201


def test_limits_off_means_no_bucket_at_all(settings, sale):
    settings.RATELIMIT_ENABLED = False
    settings.RATELIMIT_BACKEND = "memory"
    settings.RATELIMITS = {"hold": {"account": (1, 1)}}
    client = fan_client(make_buyer())
    url = f"/api/v1/sessions/{sale.session.pk}/holds"
    body = json.dumps({"zone": sale.zones["A"].pk, "quantity": 1})
    assert [client.post(url, body, "application/json").status_code for _ in range(3)] == [201] * 3


@pytest.fixture(params=["database", "redis"])
def shared_backend(request, limits):
    """The buckets every web process shares: the database, then the tests' Redis."""
    limits.RATELIMIT_BACKEND = request.param
    if request.param == "redis":
        limits.REDIS_URL = request.getfixturevalue("redis_url")
        limits.RATELIMIT_REDIS_PREFIX = request.getfixturevalue("redis_prefix")
    return request.param


@pytest.mark.django_db(transaction=True)
def test_a_checkout_is_refused_on_the_shared_backends(shared_backend, sale):
    from tessera.ratelimit.models import Bucket

    client = fan_client(make_buyer())
    url = f"/api/v1/sessions/{sale.session.pk}/checkout"
    body = json.dumps({"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"})
    assert client.post(url, body, content_type="application/json").status_code == 201
    refused = client.post(url, body, content_type="application/json")
    assert_refused_json(refused, scope="account", action="checkout")
    assert Order.objects.count() == 1
    # the database keeps the buckets in rows; Redis keeps none there
    assert Bucket.objects.count() == (2 if shared_backend == "database" else 0)
