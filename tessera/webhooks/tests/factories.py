"""Partner organizations with webhook endpoints, and a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.utils import timezone

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.webhooks import services
from tessera.webhooks.models import SUBSCRIBABLE


@dataclass
class Received:
    headers: dict
    body: bytes
    path: str


@dataclass
class Receiver:
    """A partner's server: answers ``fail_first`` requests with ``fail_code``, then 200
    (``fail_first=None``: always fails). Every request is kept, with its raw body."""

    fail_first: int | None = 0
    fail_code: int = 500
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tessera"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(Received(dict(self.headers.items()), body, self.path))
                failing = receiver.fail_first is None or len(receiver.requests) <= (
                    receiver.fail_first
                )
                self.send_response(receiver.fail_code if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def make_partner(kind=OrganizationKind.DISTRIBUTOR, role=Role.STAFF, **fields):
    org = make_organization(kind=kind, **fields)
    user = make_member(organization=org, role=role)
    return org, user


def make_endpoint(organization, url="https://hooks.example.com/tessera", kinds=None, now=None):
    """(endpoint, secret)."""
    return services.create_endpoint(
        organization=organization,
        url=url,
        kinds=list(kinds or SUBSCRIBABLE),
        description="ERP",
        actor=None,
        now=now or timezone.now(),
    )
