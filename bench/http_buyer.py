"""A fan's side of the purchase path over HTTP, with the standard library only.

One keep-alive ``http.client`` connection per buyer thread; cookies (session, CSRF) are kept
per fan. Every request is counted and timed.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit


class Stats:
    """Requests and their latency per step, shared by all buyer threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.step_ms: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}

    def timed(self, step: str, ms: float) -> None:
        with self._lock:
            self.requests += 1
            self.step_ms.setdefault(step, []).append(ms)

    def error(self, key: str) -> None:
        with self._lock:
            self.errors[key] = self.errors.get(key, 0) + 1


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    @property
    def error_code(self) -> str:
        data = self.json()
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            return str(data["error"].get("code", ""))
        return f"http_{self.status}"


class Disconnected(Exception):
    """The connection broke mid-request (the request may or may not have run)."""


class Client:
    """A browser-like client: keep-alive connection, cookie jar, CSRF header on writes."""

    def __init__(self, base_url: str, stats: Stats, *, timeout: float = 120.0):
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self.stats = stats
        self.cookies: dict[str, str] = {}
        self._connection: http.client.HTTPConnection | None = None

    def reset(self, cookies: dict[str, str] | None = None) -> None:
        """Another fan takes over this connection (as behind one proxy)."""
        self.cookies = dict(cookies or {})

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _send(self, method: str, path: str, body: bytes | None, headers: dict) -> Answer:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout
            )
        self._connection.request(method, path, body=body, headers=headers)
        response = self._connection.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.will_close:
            self.close()
        return Answer(response.status, data, dict(response.headers.items()))

    def request(
        self, step: str, method: str, path: str, *, json_body=None, form: dict | None = None
    ) -> Answer:
        headers = {"Accept": "application/json", "Accept-Language": "en"}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if method != "GET" and "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                answer = self._send(method, path, body, headers)
                break
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                # A GET is safe to repeat; a write is not (it may have run).
                if attempt == 2 or method != "GET":
                    self.stats.error(f"{step}:disconnected")
                    raise Disconnected(f"{method} {path}: {exc!r}") from exc
        self.stats.timed(step, (time.perf_counter() - started) * 1000)
        return answer
