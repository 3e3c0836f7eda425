"""The bucket rule on every backend: a burst passes, the next is refused with the wait until
one token is back, the bucket refills at its rate, buckets are independent."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tessera.ratelimit.buckets import (
    DatabaseBackend,
    MemoryBackend,
    RedisBackend,
    Rule,
    Take,
    rules_for,
)
from tessera.ratelimit.models import Bucket

RULE = Rule(per_minute=6, burst=3)  # one token every 10 s, three at once


def run_burst(backend, now=None):
    kwargs = {} if now is None else {"now": now}
    return [backend.take([Take("hold:account:7", RULE)], **kwargs) for _ in range(4)]


@pytest.mark.parametrize("make", [MemoryBackend, DatabaseBackend], ids=["memory", "database"])
@pytest.mark.django_db
def test_a_burst_passes_then_one_token_every_interval(make):
    backend = make()
    t0 = 1_800_000_000.0
    outcomes = run_burst(backend, now=t0)
    assert [o.allowed for o in outcomes] == [True, True, True, False]
    assert outcomes[3].retry_after == pytest.approx(10.0)
    assert outcomes[3].refused_key == "hold:account:7"
    # 9.9 s later still empty; at 10 s exactly one token is back
    assert backend.take([Take("hold:account:7", RULE)], now=t0 + 9.9).retry_after == (
        pytest.approx(0.1)
    )
    assert backend.take([Take("hold:account:7", RULE)], now=t0 + 10).allowed
    assert not backend.take([Take("hold:account:7", RULE)], now=t0 + 10.5).allowed
    # after a long pause the bucket is full again, never fuller
    late = [backend.take([Take("hold:account:7", RULE)], now=t0 + 3600) for _ in range(4)]
    assert [o.allowed for o in late] == [True, True, True, False]


@pytest.mark.parametrize("make", [MemoryBackend, DatabaseBackend], ids=["memory", "database"])
@pytest.mark.django_db
def test_buckets_are_independent_and_a_request_passes_only_with_all(make):
    backend = make()
    t0 = 1_800_000_000.0
    one = Rule(per_minute=60, burst=1)
    wide = Rule(per_minute=60, burst=100)
    assert backend.take([Take("a:ip:1", wide), Take("a:account:1", one)], now=t0).allowed
    refused = backend.take([Take("a:ip:1", wide), Take("a:account:1", one)], now=t0)
    assert not refused.allowed and refused.refused_key == "a:account:1"
    assert refused.retry_after == pytest.approx(1.0)
    # another account from the same address still passes
    assert backend.take([Take("a:ip:1", wide), Take("a:account:2", one)], now=t0).allowed


@pytest.mark.django_db
def test_the_database_backend_is_one_statement(django_assert_num_queries):
    backend = DatabaseBackend()
    takes = [Take(f"hold:{scope}:x", RULE) for scope in ("ip", "device", "account")]
    with django_assert_num_queries(1):
        assert backend.take(takes, now=1_800_000_000.0).allowed
    with django_assert_num_queries(1):
        assert backend.take(takes, now=1_800_000_000.0).allowed
    assert Bucket.objects.count() == 3
    assert set(Bucket.objects.values_list("tat", flat=True)) == {1_800_000_020.0}


def test_redis_takes_every_bucket_in_one_script(redis_url, redis_prefix):
    backend = RedisBackend(redis_url, prefix=redis_prefix)
    outcomes = run_burst(backend)
    assert [o.allowed for o in outcomes] == [True, True, True, False]
    assert 9.0 < outcomes[3].retry_after <= 10.0
    one = Rule(per_minute=60, burst=1)
    assert backend.take([Take("b:ip:1", RULE), Take("b:account:1", one)]).allowed
    refused = backend.take([Take("b:ip:1", RULE), Take("b:account:1", one)])
    assert not refused.allowed and refused.refused_key == "b:account:1"
    keys = sorted(k.decode() for k in backend.client.scan_iter(match=f"{redis_prefix}:*"))
    assert keys == [f"{redis_prefix}:{k}" for k in ("b:account:1", "b:ip:1", "hold:account:7")]
    assert 0 < backend.client.pttl(f"{redis_prefix}:hold:account:7") <= 31_000


def test_an_unreachable_redis_lets_requests_through():
    backend = RedisBackend("redis://127.0.0.1:1/0", prefix="x")
    assert backend.take([Take("a:ip:1", RULE)]).allowed


def burst_from_threads(backend, threads: int = 24) -> int:
    rule = Rule(per_minute=1, burst=5)
    barrier = threading.Barrier(threads)

    def one(_):
        barrier.wait()
        try:
            return backend.take([Take("join:device:d:1", rule), Take("join:ip:1.2.3.4", RULE)])
        finally:
            connection.close()

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(one, range(threads)))
    return sum(o.allowed for o in outcomes)


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_threads_never_gets_more_than_the_bucket_database():
    # PostgreSQL: the row lock of INSERT … ON CONFLICT DO UPDATE makes takes serial;
    # SQLite: one writer. Either way exactly the bucket's three (RULE: burst 3) pass.
    assert burst_from_threads(DatabaseBackend()) == 3
    assert Bucket.objects.get(key="join:device:d:1").tat > 0


def test_a_burst_of_threads_never_gets_more_than_the_bucket_memory():
    assert burst_from_threads(MemoryBackend()) == 3


def test_a_burst_of_threads_never_gets_more_than_the_bucket_redis(redis_url, redis_prefix):
    assert burst_from_threads(RedisBackend(redis_url, prefix=redis_prefix)) == 3


def test_rules_come_from_settings_with_a_wildcard_and_null(settings):
    settings.RATELIMITS = {
        "hold": {"ip": (600, 100), "device": (30, 10)},
        "checkout": {"account": (30, 10)},
        "*": {"ip": None, "account": (10, 5)},
    }
    assert rules_for("hold") == (("account", Rule(10, 5)), ("device", Rule(30, 10)))
    assert rules_for("checkout") == (("account", Rule(30, 10)),)
    assert rules_for("nothing") == (("account", Rule(10, 5)),)
