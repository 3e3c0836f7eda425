"""The sandbox gateway on its own: cashier links built from plain terms (no merchant app), and
a small local HTTP server standing in for a merchant's notify endpoint."""

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import UUID

import pytest

from tessera.sandbox.pagepay import TradeTerms

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PAYMENT_ID = UUID("7f1c2a56-4b1e-4f0e-9a51-3c2d4e5f6a7b")


def make_terms(**changes) -> TradeTerms:
    """A trade of ¥760.00 for order T261122-K7M3QX of the organizer 星光文化."""
    fields = {
        "payment_id": PAYMENT_ID,
        "amount_minor": 76000,
        "currency": "CNY",
        "order_number": "T261122-K7M3QX",
        "subject": "周杰伦 2026 嘉年华 · 上海站",
        "merchant_name": "星光文化",
        "notify_url": "http://127.0.0.1:8000/api/v1/payments/callbacks/sandbox",
        "return_url": "http://127.0.0.1:8000/orders/T261122-K7M3QX/",
        "switches": {},
    }
    return TradeTerms(**{**fields, **changes})


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()
    thread: str


@dataclass
class NotifyServer:
    """Answers each POST with ``answer(request number from 1) -> HTTP status`` and keeps
    what it received."""

    answer: object = None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/notify") -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def wait_for(self, count: int, timeout_seconds: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        with self.lock:
            return list(self.received)


@pytest.fixture
def notify_server():
    server = NotifyServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with server.lock:
                server.received.append(
                    Received(
                        self.path,
                        dict(self.headers.items()),
                        body,
                        time.monotonic(),
                        threading.current_thread().name,
                    )
                )
                number = len(server.received)
            status = server.answer(number) if server.answer else 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.httpd.daemon_threads = True
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
