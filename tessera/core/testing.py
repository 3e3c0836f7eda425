"""Helpers for tests that talk to the WSGI application directly (the fast lane included)."""

import io
import json

from django.core import signals
from django.db import close_old_connections


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
