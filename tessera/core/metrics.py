"""What every process counts for ``/metrics`` (Prometheus), and the WSGI layer that counts
requests.

Counters and histograms live in prometheus-client's objects. Under ``manage.py serve``
(several granian web processes and task workers) ``PROMETHEUS_MULTIPROC_DIR`` is set for
every child: each process writes its figures to memory-mapped files there and a scrape,
answered by any one web process, adds up the files of all of them (those of processes that
died included, so counters never go back). Without that variable (tests, ``runserver``) the
figures are this process's. The state of the sale (holds, orders, tickets, queues, tasks)
is not counted here: ``tessera.ops.collectors`` reads it from the database at scrape time, so
it is the same whichever process answers.

``observe`` is the outermost WSGI layer (``tessera/wsgi.py``): it gives every request its
request id (``core.requestid``), returns it in ``X-Request-ID``, counts the request by route
and status, times it and counts its SQL statements. The route is the fast lane's pattern
(``tessera.route`` in the environ) or Django's URL pattern, never the raw path, so the
number of series stays bounded.
"""

from __future__ import annotations

import functools
import logging
import os
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import Resolver404, resolve
from prometheus_client import CollectorRegistry, Counter, Histogram

from tessera.core import requestid

access_logger = logging.getLogger("tessera.access")

ROUTE_KEY = "tessera.route"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "tessera_http_requests",
    "HTTP requests answered, by method, route and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "tessera_http_request_duration_seconds",
    "Time from a request's arrival in the application to its answer, by method and route.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
DB_QUERIES = Counter(
    "tessera_db_queries",
    "SQL statements sent while answering requests, by route.",
    ["route"],
    registry=REGISTRY,
)
DB_QUERIES_PER_REQUEST = Histogram(
    "tessera_http_request_db_queries",
    "SQL statements per request, by route.",
    ["route"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89),
    registry=REGISTRY,
)
TASKS = Counter(
    "tessera_tasks",
    "Tasks run by task workers, by task and outcome (successful, failed).",
    ["task", "outcome"],
    registry=REGISTRY,
)
TASK_SECONDS = Histogram(
    "tessera_task_duration_seconds",
    "Time a task ran, by task.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0),
    registry=REGISTRY,
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def observe_task(task: str, outcome: str, seconds: float | None) -> None:
    TASKS.labels(task, outcome).inc()
    if seconds is not None:
        TASK_SECONDS.labels(task).observe(seconds)


@functools.lru_cache(maxsize=4096)
def route_of(path: str) -> str:
    """The URL pattern that answers ``path`` ("unmatched" when none does)."""
    if path.startswith(settings.STATIC_URL):
        return "static"
    try:
        match = resolve(path)
    except Resolver404:
        return "unmatched"
    return "/" + (match.route or "").lstrip("^").rstrip("$")


_series: dict[tuple[str, str, str], tuple] = {}


def _series_of(method: str, route: str, status: str) -> tuple:
    """The labelled children of the request metrics for one (method, route, status), made
    once: ``labels()`` takes a lock and builds keys on every call (routes are patterns and
    statuses few, so this stays small)."""
    found = _series.get((method, route, status))
    if found is None:
        found = _series[(method, route, status)] = (
            HTTP_REQUESTS.labels(method, route, status),
            HTTP_SECONDS.labels(method, route),
            DB_QUERIES.labels(route),
            DB_QUERIES_PER_REQUEST.labels(route),
        )
    return found


def observe(application):
    """``application`` with request ids, request metrics and (``TESSERA_ACCESS_LOG=1``) one
    log line per request."""
    access_log = os.environ.get("TESSERA_ACCESS_LOG", "0") == "1"

    def observed(environ, start_response):
        request_id = requestid.accept(environ.get(requestid.ENVIRON_KEY))
        environ[requestid.ENVIRON_KEY] = request_id
        token = requestid.bind(request_id)
        started = time.perf_counter()
        answered = {"status": "500"}
        queries = [0]

        def counting(execute, sql, params, many, context):
            queries[0] += 1
            return execute(sql, params, many, context)

        def start(status, headers, exc_info=None):
            answered["status"] = status[:3]
            headers.append((requestid.HEADER, request_id))
            return start_response(status, headers, exc_info)

        # What connection.execute_wrapper() does, without a context manager per request.
        wrappers = connections[DEFAULT_DB_ALIAS].execute_wrappers
        wrappers.append(counting)
        try:
            return application(environ, start)
        finally:
            wrappers.remove(counting)
            seconds = time.perf_counter() - started
            method = environ.get("REQUEST_METHOD", "")
            method = method if method in METHODS else "other"
            path = environ.get("PATH_INFO", "")
            route = environ.get(ROUTE_KEY) or route_of(path)
            status = answered["status"]
            requests, latency, statements, per_request = _series_of(method, route, status)
            requests.inc()
            latency.observe(seconds)
            statements.inc(queries[0])
            per_request.observe(queries[0])
            if access_log or status.startswith("5"):
                (access_logger.warning if status.startswith("5") else access_logger.info)(
                    "%s %s %s %.1f ms",
                    method,
                    path,
                    status,
                    seconds * 1000,
                    extra={
                        "method": method,
                        "path": path,
                        "route": route,
                        "status": int(status) if status.isdigit() else 0,
                        "duration_ms": round(seconds * 1000, 1),
                        "db_queries": queries[0],
                    },
                )
            requestid.unbind(token)

    return observed
