"""The fast lane answers exactly as the Ninja endpoints at the same URLs do.

Every request is sent twice through real WSGI applications: the served one
(``tessera.wsgi.application``, with the lane) and Django alone
(``tessera.wsgi.django_application``). Status, error bodies and the shape of success
bodies must be equal.
"""

import pytest
from django.test import Client

from tessera.core.models import IdempotencyRecord
from tessera.core.testing import wsgi_call as call
from tessera.inventory.tests.factories import make_channel
from tessera.orders.models import Order
from tessera.sale import channels
from tessera.sale.tests.conftest import gateway_callbacks, sale_rows

pytestmark = pytest.mark.django_db

CSRF = "A" * 32


@pytest.fixture
def apps():
    from tessera import wsgi

    return {"lane": wsgi.application, "django": wsgi.django_application}


@pytest.fixture
def cookies(buyer):
    client = Client()
    client.force_login(buyer)
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}


def both(apps, *args, **kwargs):
    return {name: call(app, *args, **kwargs) for name, app in apps.items()}


def shape(value):
    """The structure of a JSON value: keys and types, not the values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def checkout_path(sale):
    return f"/api/v1/sessions/{sale.session.pk}/checkout"


def test_a_checkout_is_answered_alike(apps, sale, cookies):
    answers = both(
        apps,
        "POST",
        checkout_path(sale),
        body={"zone": sale.zones["A"].pk, "quantity": 2, "provider": "sandbox"},
        cookies=cookies,
        headers={"X-CSRFToken": CSRF},
    )
    (lane_status, lane), (django_status, django) = answers["lane"], answers["django"]
    assert lane_status == django_status == 201
    assert shape(lane) == shape(django)
    assert lane["order"]["total"] == django["order"]["total"] == "760.00"
    assert Order.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "with_cookie", "with_csrf"),
    [
        ({"zone": 1, "quantity": 1, "provider": "sandbox"}, False, True),
        ({"zone": 1, "quantity": 1, "provider": "sandbox"}, True, False),
        ({"zone": "1", "quantity": 1, "provider": "sandbox"}, True, True),
        ({"zone": 1, "quantity": True, "provider": "sandbox"}, True, True),
        ({"zone": 1, "quantity": 1, "provider": "sandbox", "extra": 1}, True, True),
        ({"zone": 1, "quantity": 1}, True, True),
        ([], True, True),
        (b"not json", True, True),
        ({"zone": 987654, "quantity": 1, "provider": "sandbox"}, True, True),
        ({"zone": 1, "quantity": 50, "provider": "sandbox"}, True, True),
        ({"zone": 1, "quantity": 1, "provider": "nobody"}, True, True),
    ],
)
def test_refusals_are_answered_alike(apps, sale, cookies, body, with_cookie, with_csrf):
    before = sale_rows(sale.session)
    answers = both(
        apps,
        "POST",
        checkout_path(sale),
        body=body,
        cookies=cookies if with_cookie else {"csrftoken": CSRF},
        headers={"X-CSRFToken": CSRF} if with_csrf else {},
    )
    assert answers["lane"] == answers["django"]
    assert answers["lane"][0] in (400, 401, 403, 404, 409, 422)
    assert sale_rows(sale.session) == before


def test_the_status_read_is_answered_alike(apps, sale, buyer, cookies):
    status, bought = call(
        apps["lane"],
        "POST",
        checkout_path(sale),
        body={"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"},
        cookies=cookies,
        headers={"X-CSRFToken": CSRF},
    )
    assert status == 201
    token = bought["status_token"]
    for query in (f"t={token}", "t=forged", "t=", f"t={token}&wait=abc", f"t={token}&wait=99"):
        answers = both(apps, "GET", "/api/v1/orders/-/status", query=query)
        lane, django = answers["lane"], answers["django"]
        assert lane[0] == django[0], query
        if lane[0] == 422:  # pydantic's wording differs; the shape does not
            assert lane[1]["error"]["code"] == django[1]["error"]["code"] == "invalid_input"
        else:
            assert lane == django, query


def test_a_callback_is_answered_alike(apps, sale, buyer, now):
    from tessera.sale import services
    from tessera.sale.tests.conftest import choose

    bought = services.checkout(
        session_id=sale.session.pk,
        user=buyer,
        choice=choose(zone=sale.zones["A"].pk, quantity=1),
        provider="sandbox",
        now=now,
    )
    [callback] = gateway_callbacks(bought.payment.pk, now)
    forged = {**callback.headers, "X-Sandbox-Signature": "0" * 64}
    path = "/api/v1/payments/callbacks/sandbox"
    answers = both(apps, "POST", path, body=callback.body, headers=forged)
    assert answers["lane"] == answers["django"] == (400, {"code": "FAIL", "message": "rejected"})
    assert call(apps["lane"], "POST", path, body=callback.body, headers=callback.headers) == (
        200,
        {"code": "SUCCESS"},
    )
    assert Order.objects.get(pk=bought.order.pk).status == "fulfilled"
    unknown = both(apps, "POST", "/api/v1/payments/callbacks/nobody", body=b"{}")
    assert unknown["lane"] == unknown["django"]
    assert unknown["lane"][0] == 404


def test_a_channel_order_is_answered_alike(apps, sale, now):
    channel = make_channel(organization=sale.session.event.organization)
    _row, key = channels.issue_key(channel=channel, name="ERP", actor=None, now=now)
    body = {"session": sale.session.pk, "zone": sale.zones["A"].pk, "quantity": 2}
    path = "/api/v1/channel/orders"
    auth = {"Authorization": f"Bearer {key}"}
    for headers in ({}, {"Authorization": "Bearer tsk_x_y"}, auth):
        answers = both(apps, "POST", path, body=body, headers=headers)
        assert answers["lane"] == answers["django"], headers
        assert answers["lane"][0] in (401, 422)
    lane = call(apps["lane"], "POST", path, body=body, headers={**auth, "Idempotency-Key": "a"})
    django = call(apps["django"], "POST", path, body=body, headers={**auth, "Idempotency-Key": "b"})
    assert lane[0] == django[0] == 201
    assert shape(lane[1]) == shape(django[1])
    again = call(apps["lane"], "POST", path, body=body, headers={**auth, "Idempotency-Key": "b"})
    assert again == django
    assert IdempotencyRecord.objects.count() == 2


def test_the_lane_refuses_a_foreign_host_and_a_huge_body(apps, sale, cookies, settings):
    status, body = call(
        apps["lane"], "GET", "/api/v1/orders/-/status", query="t=x", headers={"Host": "evil.test"}
    )
    assert (status, body["error"]["code"]) == (400, "bad_host")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    status, body = call(
        apps["lane"],
        "POST",
        "/api/v1/channel/orders",
        body=b"{" + b" " * 2000 + b"}",
        headers={"Authorization": "Bearer tsk_0123456789_x"},
    )
    assert status in (401, 413)


def test_the_lane_speaks_the_fans_language(apps):
    status, body = call(
        apps["lane"],
        "GET",
        "/api/v1/orders/-/status",
        query="t=x",
        headers={"Accept-Language": "zh-CN"},
    )
    assert status == 404
    assert body["error"]["message"] == "此订单状态链接无效。"
