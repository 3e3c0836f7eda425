"""Partners' webhook endpoints: create, change, delete, rotate the secret, test ping,
redeliver. Each is one transaction, audited; the secret is returned only by ``create_endpoint``
and ``rotate_secret``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction

from tessera.core import audit, locks
from tessera.webhooks import addresses, signing
from tessera.webhooks.errors import DeliveryBusy, KindsInvalid
from tessera.webhooks.models import (
    PING,
    SUBSCRIBABLE,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from tessera.webhooks.receivers import RETRY_HOURS, record_events

ROTATION_OVERLAP = timedelta(hours=24)


def _kinds(kinds) -> list[str]:
    if not isinstance(kinds, list | tuple) or not all(isinstance(k, str) for k in kinds):
        raise KindsInvalid()
    chosen = [k for k in SUBSCRIBABLE if k in set(kinds)]
    if not chosen or len(chosen) != len(set(kinds)):
        raise KindsInvalid()
    return chosen


def _description(text) -> str:
    return str(text or "").strip()[:120]


def create_endpoint(
    *, organization, url: str, kinds, description: str = "", actor, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned only here). Raises UrlRefused,
    KindsInvalid."""
    url = addresses.check_url(url)
    kinds = _kinds(kinds)
    secret = signing.new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organization=organization,
            url=url,
            kinds=kinds,
            description=_description(description),
            secret=secret.encode(),
            created_at=now,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit.record(
            action="webhook_endpoint.created",
            obj=endpoint,
            actor=actor,
            organization_id=organization.pk,
            now=now,
            data={"url": url, "kinds": kinds},
        )
    return endpoint, secret


def update_endpoint(
    *, endpoint: WebhookEndpoint, url: str, kinds, description: str, is_active: bool, actor, now
) -> WebhookEndpoint:
    url = addresses.check_url(url)
    kinds = _kinds(kinds)
    with transaction.atomic():
        row = locks.lock_rows(WebhookEndpoint.objects).get(pk=endpoint.pk)
        row.url, row.kinds, row.is_active = url, kinds, bool(is_active)
        row.description = _description(description)
        row.save(update_fields=["url", "kinds", "description", "is_active"])
        audit.record(
            action="webhook_endpoint.changed",
            obj=row,
            actor=actor,
            organization_id=row.organization_id,
            now=now,
            data={"url": url, "kinds": kinds, "active": row.is_active},
        )
    return row


def delete_endpoint(*, endpoint: WebhookEndpoint, actor, now: datetime) -> None:
    """The endpoint and its deliveries go (the events stay, for other endpoints)."""
    with transaction.atomic():
        audit.record(
            action="webhook_endpoint.deleted",
            obj=endpoint,
            actor=actor,
            organization_id=endpoint.organization_id,
            now=now,
            data={"url": endpoint.url},
        )
        WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


def rotate_secret(*, endpoint: WebhookEndpoint, actor, now: datetime) -> str:
    """A new secret (returned only here). For ``ROTATION_OVERLAP`` deliveries carry a second
    ``v1`` signed with the old secret, so the partner can switch without losing any."""
    secret = signing.new_secret()
    with transaction.atomic():
        row = locks.lock_rows(WebhookEndpoint.objects).get(pk=endpoint.pk)
        row.previous_secret = bytes(row.secret)
        row.previous_secret_until = now + ROTATION_OVERLAP
        row.secret = secret.encode()
        row.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
        audit.record(
            action="webhook_endpoint.secret_rotated",
            obj=row,
            actor=actor,
            organization_id=row.organization_id,
            now=now,
            data={"previous_until": row.previous_secret_until.isoformat()},
        )
    return secret


def send_ping(*, endpoint: WebhookEndpoint, actor, now: datetime) -> WebhookDelivery:
    """A ``ping`` event to this endpoint only, due at once."""
    key = f"ping:{uuid.uuid4().hex}"
    with transaction.atomic():
        record_events(
            kind=PING,
            organization_ids=[endpoint.organization_id],
            payload={"endpoint": endpoint.pk, "message": "ping"},
            key=key,
            now=now,
            only_endpoint_id=endpoint.pk,
        )
        delivery = WebhookDelivery.objects.get(endpoint=endpoint, event__key=key)
        audit.record(
            action="webhook_endpoint.pinged",
            obj=endpoint,
            actor=actor,
            organization_id=endpoint.organization_id,
            now=now,
            data={"delivery": str(delivery.uid)},
        )
    return delivery


def redeliver(*, delivery: WebhookDelivery, actor, now: datetime) -> WebhookDelivery:
    """Send the delivery again now: the same body and ``Tessera-Webhook-Id``, a new
    timestamp and signature; retried again for 24 h if it fails. Raises DeliveryBusy while an
    attempt is under way."""
    with transaction.atomic():
        updated = (
            WebhookDelivery.objects.filter(pk=delivery.pk)
            .exclude(status=DeliveryStatus.SENDING, claimed_until__gte=now)
            .update(
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                give_up_at=now + timedelta(hours=RETRY_HOURS),
                claimed_by="",
                claimed_until=None,
            )
        )
        if not updated:
            raise DeliveryBusy()
        audit.record(
            action="webhook_delivery.redelivered",
            obj=delivery,
            actor=actor,
            organization_id=delivery.endpoint.organization_id,
            now=now,
            data={"event": str(delivery.event.uid)},
        )
    delivery.refresh_from_db()
    return delivery
