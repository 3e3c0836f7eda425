"""Helpers for tests: calls to the WSGI application directly (the fast lane included), and
races of service calls on threads."""

import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.core import signals
from django.db import OperationalError, close_old_connections, connection
from django.test import TestCase

from tessera.core.errors import DomainError


def wsgi_call(
    app, method, path, *, body=b"", query="", headers=None, cookies=None, with_headers=False
):
    """Send one request to the WSGI ``app``: (status, JSON body or bytes), and the answer's
    headers too with ``with_headers``. ``headers`` by their HTTP names (``Content-Type``
    included); ``body`` bytes, or JSON-ready data."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_ACCEPT_LANGUAGE": "en",
    }
    for name, value in (headers or {}).items():
        if name.lower() == "content-type":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    if cookies:
        environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(response_headers)

    # As Django's test client does: the test's transaction must outlive the request, so
    # Django's connection handlers may not close the connection (the test client connects
    # close_old_connections again after each of its requests).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        chunks = app(environ, start_response)
        data = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
    finally:
        signals.request_finished.connect(close_old_connections)
    content_type = answer["headers"].get("Content-Type", "")
    result = answer["status"], json.loads(data) if "json" in content_type and data else data
    return (*result, answer["headers"]) if with_headers else result


def race(*calls, run_on_commit: bool = False):
    """Run the calls at the same moment, one thread each; returns (result, error) pairs (a
    ``DomainError`` is a result; SQLite's lock is waited out). ``run_on_commit``: each
    call's on-commit callbacks run when it commits, as in a request."""
    start = threading.Barrier(len(calls), timeout=30)

    def one(call):
        try:
            start.wait()
            deadline = time.monotonic() + 60
            while True:
                try:
                    if not run_on_commit:
                        return call(), None
                    with TestCase.captureOnCommitCallbacks(execute=True):
                        return call(), None
                except DomainError as exc:
                    return None, exc
                except OperationalError as exc:
                    if connection.vendor != "sqlite" or "locked" not in str(exc):
                        raise
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
        finally:
            connection.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))
