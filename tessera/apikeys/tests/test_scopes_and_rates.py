"""The channel order needs the scope ``orders``, and every authenticated call takes a token
from the key's own bucket: in the Django route and in the fast lane alike."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tessera.apikeys.tests.factories import make_key
from tessera.core.errors import DomainError
from tessera.core.testing import wsgi_call as call
from tessera.orders.models import Order
from tessera.sale import channels

ORDERS = "/api/v1/channel/orders"


def order_body(sale, quantity=1):
    return {"session": sale.session.pk, "zone": sale.zones["A"].pk, "quantity": quantity}


def headers(secret, idem):
    return {"Authorization": f"Bearer {secret}", "Idempotency-Key": idem}


@pytest.mark.django_db
def test_a_key_without_the_orders_scope_places_no_order(wsgi_apps, sale, partner, now):
    _row, secret = make_key(partner, now=now, scopes=["catalog:read", "availability"])
    for name, app in wsgi_apps.items():
        status, body = call(
            app, "POST", ORDERS, body=order_body(sale), headers=headers(secret, name)
        )
        assert status == 403, name
        assert body["error"]["code"] == "scope_missing"
        assert body["error"]["details"] == {"scope": "orders"}
    assert not Order.objects.exists()
    _row, allowed = make_key(partner, now=now, scopes=["orders"])
    status, _body = call(
        wsgi_apps["lane"], "POST", ORDERS, body=order_body(sale), headers=headers(allowed, "ok")
    )
    assert status == 201
    assert Order.objects.count() == 1


@pytest.fixture
def key_limits(settings):
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_BACKEND = "memory"
    return settings


@pytest.mark.django_db
def test_a_key_past_its_rate_gets_429_with_retry_after_in_both_routes(
    wsgi_apps, sale, partner, now, key_limits
):
    _row, secret = make_key(partner, now=now, rate=2)
    _other, unlimited = make_key(partner, now=now, rate=0, name="unlimited")
    lane, django = wsgi_apps["lane"], wsgi_apps["django"]
    assert call(lane, "POST", ORDERS, body=order_body(sale), headers=headers(secret, "1"))[0] == 201
    assert (
        call(django, "POST", ORDERS, body=order_body(sale), headers=headers(secret, "2"))[0] == 201
    )
    for app in (lane, django):
        status, body, answer_headers = call(
            app,
            "POST",
            ORDERS,
            body=order_body(sale),
            headers=headers(secret, "3"),
            with_headers=True,
        )
        assert status == 429
        assert body["error"]["code"] == "rate_limited"
        assert body["error"]["details"]["scope"] == "key"
        assert 1 <= int(answer_headers["Retry-After"]) <= 30
    assert Order.objects.count() == 2
    # another key of the same channel has its own budget (none here)
    for n in range(4):
        idem = f"u{n}"
        assert (
            call(lane, "POST", ORDERS, body=order_body(sale), headers=headers(unlimited, idem))[0]
            == 201
        )


@pytest.mark.django_db
def test_rate_limits_switched_off_cost_nothing(
    sale, partner, now, settings, django_assert_num_queries
):
    settings.RATELIMIT_ENABLED = False
    _row, secret = make_key(partner, now=now, rate=1)
    channels.authenticate(secret, now=now)
    with django_assert_num_queries(0):
        for _ in range(5):
            channels.authenticate(secret, now=now)


def _race_authenticate(secret, now, calls: int) -> list[str]:
    parallel = connection.vendor == "postgresql"
    start = threading.Barrier(calls if parallel else 1, timeout=60)

    def one(_n):
        try:
            start.wait()
            channels.authenticate(secret, now=now)
            return "ok"
        except DomainError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(calls if parallel else 1) as pool:
        return list(pool.map(one, range(calls)))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_concurrent_calls_never_exceed_the_keys_budget(partner, now, settings, backend, request):
    """Twenty-four threads (in parallel on PostgreSQL) call with a key of 10 a minute: ten
    pass, fourteen get rate_limited, whatever the interleaving."""
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_BACKEND = backend
    if backend == "redis":
        import redis

        url = request.getfixturevalue("redis_url")
        settings.REDIS_URL = url
        settings.RATELIMIT_REDIS_PREFIX = f"tessera:test-apikeys:{now.timestamp()}"
        redis.Redis.from_url(url).close()
    _row, secret = make_key(partner, now=now, rate=10)
    results = _race_authenticate(secret, now, 24)
    assert results.count("ok") == 10
    assert results.count("rate_limited") == 14


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key",
    [
        "tsk_test_",
        "tsk_test__",
        "tsk_test_0123456789_",
        "tsk_test_0123_56789_abc",
        "tsk_test_test_0123456789_abc",
        "tsk_" + "9" * 400,
        "tsk_test_0123456789_\x00",
        "Bearer",
    ],
)
def test_malformed_keys_are_refused_with_401_in_both_routes(wsgi_apps, sale, key):
    for name, app in wsgi_apps.items():
        status, _body = call(app, "POST", ORDERS, body=order_body(sale), headers=headers(key, name))
        assert status in (400, 401), (name, status)
    assert not Order.objects.exists()
