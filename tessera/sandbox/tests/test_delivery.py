"""The delivery pool: callbacks POSTed over HTTP from background threads, several trades at
once, retried with backoff, delayed without holding a thread, given up after a bound."""

import json
import logging
import os
import socket
import threading
import time
from datetime import timedelta
from uuid import UUID

import pytest

from tessera.sandbox import delivery, services
from tessera.sandbox.checks import check_delivery_mode
from tessera.sandbox.delivery import Delivery, DeliveryPool
from tessera.sandbox.signing import SIGNATURE_HEADER, sign, signed_callback
from tessera.sandbox.tests.conftest import NOW, PAYMENT_ID, make_terms

LATER = NOW + timedelta(minutes=2)


def _job(notify_server, *, n: int = 0, **switches) -> Delivery:
    """A decided trade's delivery, to the local notify server."""
    terms = make_terms(
        payment_id=UUID(int=PAYMENT_ID.int + n),
        notify_url=notify_server.url(),
        switches=switches,
    )
    trade = services.record_choice(terms=terms, choice="pay", now=LATER)
    return Delivery(trade.reference, trade.notify_url, tuple(services.build_callbacks(trade)))


def _events(received) -> list[tuple[str, int]]:
    return [(json.loads(r.body)["status"], json.loads(r.body)["sequence"]) for r in received]


@pytest.fixture
def own_pool():
    pools = []

    def make(**options) -> DeliveryPool:
        pools.append(DeliveryPool(**options))
        return pools[-1]

    yield make
    for pool in pools:
        pool.close()


def test_several_trades_are_delivered_at_once(db, notify_server, own_pool):
    # given a merchant that answers no callback until three are in flight together
    together = threading.Barrier(3, timeout=5)

    def answer(_n):
        try:
            together.wait()
        except threading.BrokenBarrierError:
            return 500
        return 200

    notify_server.answer = answer
    pool = own_pool(threads=8, retry_seconds=())
    jobs = [_job(notify_server, n=n) for n in range(3)]

    # when three decided trades are handed to the pool
    for job in jobs:
        pool.submit(job)

    # then all three were acknowledged at the first attempt, from three threads
    assert pool.wait_idle(10)
    received = notify_server.received
    assert len(received) == 3
    assert sorted(json.loads(r.body)["reference"] for r in received) == sorted(
        job.reference for job in jobs
    )
    assert len({r.thread for r in received}) == 3


def test_a_refused_delivery_is_tried_again_with_backoff(db, notify_server, own_pool):
    notify_server.answer = lambda n: 500 if n <= 2 else 200
    pool = own_pool()
    job = _job(notify_server)

    pool.submit(job)

    assert pool.wait_idle(10)
    first, second, third = notify_server.received
    assert len(notify_server.received) == 3
    assert first.body == second.body == third.body == job.callbacks[0].body
    assert first.headers[SIGNATURE_HEADER] == third.headers[SIGNATURE_HEADER] == sign(first.body)
    assert first.headers["Content-Type"] == "application/json"
    assert 0.5 <= second.at - first.at < 1.5  # RETRY_SECONDS[0]
    assert 1.0 <= third.at - second.at < 2.0  # RETRY_SECONDS[1]


def test_a_retry_resends_the_refused_callback_and_the_rest_in_order(db, notify_server, own_pool):
    notify_server.answer = lambda n: 500 if n == 2 else 200
    pool = own_pool(retry_seconds=(0.05,))

    pool.submit(_job(notify_server, duplicates=2, out_of_order=True))

    assert pool.wait_idle(10)
    assert _events(notify_server.received) == [
        ("succeeded", 3),
        ("succeeded", 3),  # refused
        ("succeeded", 3),
        ("failed", 2),
    ]


def test_an_unacknowledged_delivery_is_given_up_after_its_last_attempt(
    db, notify_server, own_pool, caplog
):
    notify_server.answer = lambda n: 503
    pool = own_pool(retry_seconds=(0.05, 0.05))
    job = _job(notify_server)

    with caplog.at_level(logging.WARNING, logger="tessera.sandbox.delivery"):
        pool.submit(job)
        assert pool.wait_idle(10)
        time.sleep(0.2)  # nothing more arrives

    assert len(notify_server.received) == 3
    assert caplog.messages[-1] == (
        f"sandbox callbacks of {job.reference} given up after 3 attempts: "
        f"1 not acknowledged by {notify_server.url()}"
    )


def test_an_unreachable_merchant_is_retried_then_given_up(db, own_pool, caplog):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    job = Delivery("SBX-UNREACHABLE", f"http://127.0.0.1:{port}/notify", (_callback(),))
    pool = own_pool(retry_seconds=(0.05,))

    with caplog.at_level(logging.WARNING, logger="tessera.sandbox.delivery"):
        pool.submit(job)
        assert pool.wait_idle(10)

    undeliverable = [m for m in caplog.messages if "undeliverable" in m]
    assert len(undeliverable) == 2
    assert caplog.messages[-1].startswith("sandbox callbacks of SBX-UNREACHABLE given up after 2")


def test_a_delayed_delivery_holds_no_delivery_thread(db, notify_server, own_pool):
    pool = own_pool(threads=1)
    delayed, prompt = _job(notify_server, n=0), _job(notify_server, n=1)
    started = time.monotonic()

    pool.submit(delayed, delay_seconds=1.0)
    pool.submit(prompt)

    assert pool.wait_idle(10)
    first, second = notify_server.received
    assert json.loads(first.body)["reference"] == prompt.reference
    assert first.at - started < 0.9
    assert json.loads(second.body)["reference"] == delayed.reference
    assert second.at - started >= 1.0


def test_the_delay_switch_delays_the_callbacks_after_the_press(
    db, notify_server, settings, django_capture_on_commit_callbacks
):
    settings.SANDBOX_DELIVERY = "pool"
    terms = make_terms(notify_url=notify_server.url(), switches={"delay_seconds": 1})
    started = time.monotonic()

    with django_capture_on_commit_callbacks(execute=True):
        services.press_button(terms=terms, choice="pay", now=LATER)
    handed_over = time.monotonic()

    assert delivery.default_pool().wait_idle(10)
    [received] = notify_server.received
    assert handed_over - started < 0.5  # the press does not wait for the delivery
    assert received.at - started >= 1.0
    assert _events([received]) == [("succeeded", 2)]


def test_pressing_a_button_never_waits_for_the_merchant(
    db, notify_server, settings, django_capture_on_commit_callbacks
):
    settings.SANDBOX_DELIVERY = "pool"
    notify_server.answer = lambda n: time.sleep(1.0) or 200
    terms = make_terms(notify_url=notify_server.url(), switches={"duplicates": 2})
    started = time.monotonic()

    with django_capture_on_commit_callbacks(execute=True):
        services.press_button(terms=terms, choice="pay", now=LATER)
    handed_over = time.monotonic()

    assert handed_over - started < 0.5
    assert delivery.default_pool().wait_idle(10)
    assert _events(notify_server.received) == [("succeeded", 2), ("succeeded", 2)]


def test_inline_delivery_is_done_when_the_press_returns_and_never_retried(
    db, notify_server, settings, django_capture_on_commit_callbacks
):
    settings.SANDBOX_DELIVERY = "inline"
    notify_server.answer = lambda n: 500
    terms = make_terms(notify_url=notify_server.url(), switches={"duplicates": 2})

    with django_capture_on_commit_callbacks(execute=True):
        services.press_button(terms=terms, choice="pay", now=LATER)

    assert _events(notify_server.received) == [("succeeded", 2)]
    time.sleep(0.6)
    assert len(notify_server.received) == 1


def test_a_notify_url_that_is_not_http_gets_nothing(caplog, own_pool):
    pool = own_pool()

    with caplog.at_level(logging.ERROR, logger="tessera.sandbox.delivery"):
        pool.submit(Delivery("SBX-FILE", "file:///etc/passwd", (_callback(),)))
        assert pool.wait_idle(5)

    assert caplog.messages == ["sandbox trade SBX-FILE has no HTTP notify URL; nothing sent"]


def test_a_forked_child_starts_its_own_pool(notify_server):
    parent = delivery.default_pool()
    read_end, write_end = os.pipe()

    pid = os.fork()
    if pid == 0:  # the child: report, deliver once, and leave without running any cleanup
        try:
            os.close(read_end)
            child = delivery.default_pool()
            job = Delivery("SBX-CHILD", notify_server.url("/child"), (_callback(),))
            child.submit(job)
            done = child.wait_idle(10)
            os.write(write_end, f"{child is not parent} {child.pid == os.getpid()} {done}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    _pid, status = os.waitpid(pid, 0)
    with os.fdopen(read_end) as report:
        assert report.read() == "True True True"
    assert os.waitstatus_to_exitcode(status) == 0
    assert delivery.default_pool() is parent
    assert [r.path for r in notify_server.received] == ["/child"]


def test_an_unknown_delivery_mode_fails_the_system_check(settings):
    settings.SANDBOX_DELIVERY = "carrier-pigeon"

    [error] = check_delivery_mode()

    assert error.id == "sandbox.E001"
    assert "carrier-pigeon" in error.msg
    settings.SANDBOX_DELIVERY = "pool"
    assert check_delivery_mode() == []


def _callback():
    return signed_callback(b'{"status":"succeeded"}')
