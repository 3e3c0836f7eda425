"""``/metrics``, the health endpoints, request ids and JSON logs, through the real WSGI
application (``tessera.wsgi``: the observing layer, the fast lane, Django)."""

import io
import json
import logging
import re
from datetime import timedelta

import pytest
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tessera.core.logs import JsonFormatter, RequestIdFilter
from tessera.core.models import WorkerHeartbeat
from tessera.inventory.services import hold_units
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.payments.services import start_payment
from tessera.payments.testing import pay_locally
from tessera.payments.tests.conftest import make_purchase
from tessera.waitingroom.tests.factories import make_room
from tessera.wsgi import application

TOKEN = "metrics-token-for-tests-0123456789"


def call(path: str, *, method: str = "GET", headers: dict | None = None):
    """One request through the WSGI application; (status, headers, body)."""
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    answered = {}

    def start_response(status, response_headers, exc_info=None):
        answered["status"] = int(status[:3])
        answered["headers"] = dict(response_headers)

    # As Django's test client does: the test's transaction must outlive the request, so
    # Django's connection closing at request start and end (which its client re-connects to
    # request_started after each of its requests) is off meanwhile.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, start_response)
        body = b"".join(response)
        if hasattr(response, "close"):
            response.close()
    finally:
        signals.request_finished.connect(close_old_connections)
    return answered["status"], answered["headers"], body


def scrape() -> dict:
    """name → {labels (sorted tuple) → value} of every sample of /metrics."""
    status, headers, body = call("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=")
    found: dict = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("TESSERA_METRICS_TOKEN", TOKEN)


# -- /metrics ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_are_not_there_without_a_configured_token(monkeypatch):
    monkeypatch.delenv("TESSERA_METRICS_TOKEN", raising=False)
    assert call("/metrics")[0] == 404
    assert call("/metrics", headers={"Authorization": "Bearer anything"})[0] == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", TOKEN]
)
def test_metrics_refuse_a_missing_or_wrong_token(token, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    status, response_headers, body = call("/metrics", headers=headers)
    assert (status, body) == (401, b"token required\n")
    assert response_headers["WWW-Authenticate"] == 'Bearer realm="metrics"'


@pytest.mark.django_db
def test_metrics_count_requests_by_route_and_status_with_latency_and_queries(token):
    # given what was counted so far (the counters are this process's)
    before = scrape()

    # when the sessions list is asked for three times and an unknown page once
    for _ in range(3):
        assert call("/api/v1/sessions?limit=1")[0] == 200
    assert call("/no/such/page/")[0] == 404
    after = scrape()

    # then each is counted under its route (the URL pattern, not the path) and status
    def delta(name, **labels):
        key = tuple(sorted(labels.items()))
        return after.get(name, {}).get(key, 0) - before.get(name, {}).get(key, 0)

    route = "/api/v1/sessions"
    assert delta("tessera_http_requests_total", method="GET", route=route, status="200") == 3
    assert delta("tessera_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert delta("tessera_http_request_duration_seconds_count", method="GET", route=route) == 3
    assert (
        delta("tessera_http_request_duration_seconds_bucket", method="GET", route=route, le="+Inf")
        == 3
    )
    # each list request sends its SQL (a count and a page at least)
    assert delta("tessera_db_queries_total", route=route) >= 6
    assert delta("tessera_http_request_db_queries_count", route=route) == 3


@pytest.mark.django_db
def test_metrics_report_the_state_of_the_sale_from_the_database(token):
    # given a paid order (2 tickets), an order awaiting payment, a live hold of 3 places,
    # a waiting room with 5 fans queued and 2 admitted, one waiting task and a live worker
    now = timezone.now()
    paid = make_purchase(now=now)
    payment = start_payment(order=paid.order, provider="sandbox", user=paid.buyer, now=now)
    pay_locally(payment_id=payment.pk, now=now)
    make_purchase(now=now)
    sale = make_sale(sections=1, rows=1, seats_per_row=4, now=now)
    hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=list(sale.units().values_list("id", flat=True)[:3]),
        now=now,
    )
    room = make_room(sale=sale, now=now, opens_in_minutes=-5)
    from tessera.waitingroom.backends import get_backend

    backend = get_backend()
    for user_id in range(1, 8):
        backend.join(room.pk, user_id, now=now)
    backend.order_prequeue(room.pk, now=now)
    backend.advance(room.pk, 2, now=now)
    WorkerHeartbeat.objects.create(
        worker_id="w", backend="database", host="h", pid=1, started_at=now, beat_at=now
    )

    # when /metrics is scraped
    found = scrape()

    # then
    def value(metric, **labels):
        return found[metric][tuple(sorted(labels.items()))]

    assert value("tessera_orders", status="fulfilled") == 1
    assert value("tessera_orders", status="pending_payment") == 1
    assert value("tessera_tickets_sold_total") == 2
    assert value("tessera_tickets_valid") == 2
    assert value("tessera_holds_active") == 1
    assert value("tessera_holds_active_places") == 3
    assert value("tessera_payment_callbacks_total", provider="sandbox", outcome="applied") == 1
    labels = {"room": str(room.pk), "name": room.name}
    assert value("tessera_waitingroom_queued", **labels) == 5
    assert value("tessera_waitingroom_admitted_total", **labels) == 2
    assert value("tessera_waitingroom_rate_per_minute", **labels) == room.shown_rate
    assert value("tessera_task_workers_alive") == 1
    assert value("tessera_tasks_running") == 0
    # the test settings run tasks at once (nothing waits); the queue is still reported
    assert value("tessera_task_queue_depth", queue="default") == 0
    assert value("tessera_task_queue_oldest_age_seconds", queue="default") == 0


@pytest.mark.django_db
def test_the_task_queue_depth_and_age_are_read_from_the_database_backend(token, settings):
    # given two tasks waiting in the database backend, the older enqueued 90 s ago
    from django_tasks_db.models import DBTaskResult

    from tessera.inventory.tasks import tidy_expired_holds

    settings.TASKS = {"default": {"BACKEND": "tessera.core.taskbackends.DatabaseBackend"}}
    first = tidy_expired_holds.enqueue()
    tidy_expired_holds.enqueue()
    DBTaskResult.objects.filter(pk=first.id).update(
        enqueued_at=timezone.now() - timedelta(seconds=90)
    )

    found = scrape()

    assert found["tessera_task_queue_depth"][(("queue", "default"),)] == 2
    assert 90 <= found["tessera_task_queue_oldest_age_seconds"][(("queue", "default"),)] < 120


# -- health -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_live_answers_while_the_process_runs():
    status, headers, body = call("/health/live")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert headers["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_ready_needs_a_live_worker(settings):
    settings.REDIS_URL = ""
    # given no task worker's heartbeat
    status, _, body = call("/health/ready")
    answer = json.loads(body)
    assert (status, answer["status"]) == (503, "unavailable")
    assert answer["checks"]["database"]["ok"] is True
    assert {k: answer["checks"]["workers"][k] for k in ("ok", "alive")} == {
        "ok": False,
        "alive": 0,
    }
    assert "redis" not in answer["checks"]

    # when a worker beats (and a dead one's old heartbeat is on record)
    now = timezone.now()
    for worker_id, at in (("live", now), ("dead", now - timedelta(minutes=5))):
        WorkerHeartbeat.objects.create(
            worker_id=worker_id, backend="database", host="h", pid=1, started_at=at, beat_at=at
        )
    status, _, body = call("/health/ready")
    answer = json.loads(body)

    # then it is ready
    assert (status, answer["status"]) == (200, "ok")
    assert answer["checks"]["workers"]["alive"] == 1


@pytest.mark.django_db
def test_ready_checks_redis_when_configured(settings, redis_url):
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="live", backend="database", host="h", pid=1, started_at=now, beat_at=now
    )
    settings.REDIS_URL = redis_url
    status, _, body = call("/health/ready")
    assert status == 200
    assert json.loads(body)["checks"]["redis"]["ok"] is True

    # a Redis nobody listens at: not ready, and the body says why
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    status, _, body = call("/health/ready")
    redis = json.loads(body)["checks"]["redis"]
    assert status == 503
    assert redis["ok"] is False and redis["error"].startswith("ConnectionError")


# -- request ids and logs ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("nginx-0f3a9c2e77b1", True),
        ("7d5c1a0e-2b6f-4c1d-9e3a-5f8b2c4d6e1a", True),
        ("short", False),  # fewer than 8 characters
        ("has spaces in it", False),
        ("x" * 129, False),
        ("évil\u2028line", False),
        (None, False),
    ],
)
def test_the_request_id_is_taken_from_the_request_or_made_and_returned(given, kept):
    headers = {"X-Request-ID": given} if given is not None else {}
    _, response_headers, _ = call("/health/live", headers=headers)
    answered = response_headers["X-Request-ID"]
    if kept:
        assert answered == given
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", answered)


@pytest.mark.django_db
def test_the_fast_lane_answers_carry_a_request_id_and_count_under_its_route(token):
    before = scrape()
    status, headers, _ = call(
        "/api/v1/orders/-/status?t=nonsense", headers={"X-Request-ID": "req-fastlane-1"}
    )
    after = scrape()
    key = (("method", "GET"), ("route", "/api/v1/orders/-/status"), ("status", str(status)))
    assert headers["X-Request-ID"] == "req-fastlane-1"
    assert (
        after["tessera_http_requests_total"][key]
        - before.get("tessera_http_requests_total", {}).get(key, 0)
        == 1
    )


def test_json_log_lines_carry_the_request_id_and_extra_fields():
    from tessera.core import requestid

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("tessera.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with requestid.bound("req-json-0001"):
            logger.warning("paid %s", "订单 1", extra={"order": 1})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("outside")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert {k: first[k] for k in ("level", "logger", "message", "request_id", "order")} == {
        "level": "WARNING",
        "logger": "tessera.test.json",
        "message": "paid 订单 1",
        "request_id": "req-json-0001",
        "order": 1,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["time"])
    assert "request_id" not in second
    assert second["exception"].endswith("ValueError: boom")
