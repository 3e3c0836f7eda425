"""The worker's side of webhooks: claim due deliveries, POST each, log every attempt.

Claiming is one conditional UPDATE (pending and due, or "sending" with an expired claim) that
stamps a claim token, as the notifications' outbox does; a delivery is marked only by the
worker whose token it carries. No transaction is open during the HTTP call, which has a short
timeout (``WEBHOOKS_TIMEOUT_SECONDS``, default 5 s) and follows no redirect. A 2xx answer is
delivered; anything else (another status, a refused address, a timeout) is retried after
1, 2, 4 … minutes (at most ``WEBHOOKS_MAX_DELAY_MINUTES``, default 60) until the delivery's
``give_up_at`` (24 h after it was recorded, or after a redelivery), then it is failed.

Every attempt sends the event's stored body byte for byte and the delivery's id as
``Tessera-Webhook-Id``; only ``Tessera-Timestamp`` and ``Tessera-Signature`` change. A
receiver that got an attempt whose answer was lost sees the same id again and drops it.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from tessera.core import vault
from tessera.webhooks import addresses, signing
from tessera.webhooks.errors import UrlRefused
from tessera.webhooks.models import (
    DeliveryAttempt,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)
CLAIM_SECONDS = 60
READ_LIMIT = 65536


def timeout_seconds() -> float:
    return float(getattr(settings, "WEBHOOKS_TIMEOUT_SECONDS", 5))


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4 … minutes, capped."""
    cap = int(getattr(settings, "WEBHOOKS_MAX_DELAY_MINUTES", 60))
    return timedelta(minutes=min(cap, 2 ** min(max(0, attempts - 1), 20)))


def secrets_in_use(endpoint: WebhookEndpoint, now: datetime) -> list[bytes]:
    """The current secret, then the previous one while it is still honoured."""
    found = [bytes(endpoint.secret)]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and (endpoint.previous_secret_until > now)
    ):
        found.append(bytes(endpoint.previous_secret))
    return found


@dataclass
class Response:
    code: int | None
    error: str
    duration_ms: int


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Response:
    """POST ``body`` to ``url`` at the address checked by ``addresses.resolve``; no redirect
    is followed (a 3xx is an answer like any other)."""
    started = time.monotonic()

    def done(code, error=""):
        return Response(code, error[:300], int((time.monotonic() - started) * 1000))

    try:
        scheme, host, port, path = addresses.parse(url)
        address = addresses.resolve(host, port)
    except UrlRefused as exc:
        return done(None, f"refused: {exc.details.get('reason', 'address not allowed')}")
    if scheme == "https":
        conn = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def connect_checked(_address, timeout=None, source_address=None):
        return socket.create_connection((address, port), timeout, source_address)

    conn._create_connection = connect_checked
    try:
        conn.request("POST", path, body=body, headers=headers)
        answer = conn.getresponse()
        answer.read(READ_LIMIT)
        return done(answer.status, "" if 200 <= answer.status < 300 else answer.reason or "")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return done(None, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def _due(now: datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, claimed_until__lt=now
    )


def claim(*, now: datetime, limit: int = 20, ids=None) -> tuple[str, list[WebhookDelivery]]:
    """Claim up to ``limit`` due deliveries for this worker: (token, deliveries). The read
    and the conditional UPDATE share one short transaction (PostgreSQL: the rows read
    ``FOR UPDATE SKIP LOCKED``, so concurrent workers take different ones; SQLite: the
    transaction holds the write lock), so a worker never reads rows another is claiming."""
    token = uuid.uuid4().hex
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(_due(now))
        if ids is not None:
            due = due.filter(pk__in=list(ids))
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        found = list(due.order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        if not found:
            return token, []
        WebhookDelivery.objects.filter(_due(now), pk__in=found).update(
            status=DeliveryStatus.SENDING,
            claimed_by=token,
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
        )
    return token, list(
        WebhookDelivery.objects.select_related("endpoint", "event").filter(
            claimed_by=token, status=DeliveryStatus.SENDING
        )
    )


@dataclass
class Outcome:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def deliver_due(
    *, now: datetime, limit: int = 20, rounds: int = 50, ids=None, budget_seconds: float = 50
) -> Outcome:
    """Send due deliveries, ``limit`` at a time, up to ``rounds`` batches; no new batch is
    claimed after ``budget_seconds`` (a run against slow receivers ends; the next run goes
    on)."""
    outcome = Outcome()
    started = time.monotonic()
    for _ in range(rounds):
        if time.monotonic() - started > budget_seconds:
            break
        token, batch = claim(now=now, limit=limit, ids=ids)
        if not batch:
            break
        for delivery in batch:
            deliver_one(delivery, token=token, now=now, outcome=outcome)
    return outcome


def request_of(delivery: WebhookDelivery, *, now: datetime) -> tuple[bytes, dict[str, str]]:
    """The body (the event's, byte for byte) and headers of an attempt at ``now``."""
    body = delivery.event.body.encode()
    try:
        keys = secrets_in_use(delivery.endpoint, now)
    except vault.VaultError:
        keys = []
    headers = signing.headers(
        webhook_id=str(delivery.uid),
        kind=delivery.event.kind,
        timestamp=int(now.timestamp()),
        body=body,
        secrets_in_use=keys,
    )
    return body, headers


def deliver_one(delivery: WebhookDelivery, *, token: str, now: datetime, outcome: Outcome) -> None:
    number = delivery.attempts + 1
    if not delivery.endpoint.is_active:
        response = Response(None, "endpoint disabled", 0)
    else:
        body, headers = request_of(delivery, now=now)
        response = post(delivery.endpoint.url, body, headers, timeout=timeout_seconds())
    ok = response.code is not None and 200 <= response.code < 300
    if ok:
        fields = {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "last_error": ""}
    else:
        next_at = now + retry_delay(number)
        final = next_at > delivery.give_up_at or not delivery.endpoint.is_active
        fields = {
            "status": DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
            "next_attempt_at": next_at,
            "last_error": response.error or f"HTTP {response.code}",
        }
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(pk=delivery.pk, claimed_by=token).update(
            attempts=number,
            last_response_code=response.code,
            claimed_by="",
            claimed_until=None,
            **fields,
        )
        if updated:
            DeliveryAttempt.objects.create(
                delivery_id=delivery.pk,
                number=number,
                at=now,
                response_code=response.code,
                duration_ms=response.duration_ms,
                error=response.error if not ok else "",
            )
    if not updated:
        return
    if ok:
        outcome.delivered += 1
    elif fields["status"] == DeliveryStatus.FAILED:
        outcome.failed += 1
    else:
        outcome.retrying += 1
