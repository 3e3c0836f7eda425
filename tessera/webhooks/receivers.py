"""Events recorded in the sender's transaction (``tessera.partners.signals.partner_event``).

For the organizations concerned that have an active endpoint subscribed to the kind: one
INSERT of the events (``ON CONFLICT (organization, key) DO NOTHING``: the same key again is
the same event, recorded once) and one INSERT of their deliveries, after one read of the
endpoints. No network: the deliveries are sent by the worker (``delivery.deliver_due``)
after the sender committed; an event whose cause rolls back rolls back with it.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from django.db import connection, transaction

from tessera.core import clock
from tessera.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

RETRY_HOURS = 24


def event_body(*, uid: uuid.UUID, kind: str, organization_id: int, created_at, payload) -> str:
    """The exact JSON every delivery of the event sends (and a redelivery sends again)."""
    return json.dumps(
        {
            "id": str(uid),
            "type": kind,
            "created_at": created_at.isoformat().replace("+00:00", "Z"),
            "organization": organization_id,
            "data": payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )


def subscribed_endpoints(kind: str, organization_ids) -> dict[int, list[int]]:
    """organization id → its active endpoints subscribed to ``kind`` (one query)."""
    found: dict[int, list[int]] = {}
    rows = WebhookEndpoint.objects.filter(
        organization_id__in=list(organization_ids), is_active=True
    ).values_list("pk", "organization_id", "kinds")
    for pk, org_id, kinds in rows:
        if isinstance(kinds, list) and kind in kinds:
            found.setdefault(org_id, []).append(pk)
    return found


def _insert_events(rows: list[dict]) -> list[tuple[int, int]]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING (id, organization): the events new now."""
    fields = {f.name: f for f in WebhookEvent._meta.concrete_fields}
    columns = ["uid", "organization_id", "kind", "key", "payload", "body", "created_at"]
    names = {"organization_id": "organization"}
    values, params = [], []
    for row in rows:
        values.append("(" + ", ".join(["%s"] * len(columns)) + ")")
        for column in columns:
            field = fields[names.get(column, column)]
            params.append(field.get_db_prep_save(row[column], connection))
    table = WebhookEvent._meta.db_table
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join(values)} "  # noqa: S608
        "ON CONFLICT (organization_id, key) DO NOTHING RETURNING id, organization_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(a), int(b)) for a, b in cursor.fetchall()]


def record_events(
    *,
    kind: str,
    organization_ids,
    payload: dict,
    key: str,
    now: datetime,
    only_endpoint_id: int | None = None,
) -> int:
    """Record the event for each organization concerned with a subscribed endpoint, and
    one delivery per such endpoint; the number of deliveries recorded now."""
    if only_endpoint_id is not None:
        endpoints = dict(
            WebhookEndpoint.objects.filter(pk=only_endpoint_id).values_list("organization_id", "pk")
        )
        wanted = {org: [pk] for org, pk in endpoints.items()}
    else:
        wanted = subscribed_endpoints(kind, organization_ids)
    if not wanted:
        return 0
    rows = []
    for org_id in sorted(wanted):
        uid = uuid.uuid4()
        rows.append(
            {
                "uid": uid,
                "organization_id": org_id,
                "kind": kind,
                "key": key[:160],
                "payload": payload,
                "body": event_body(
                    uid=uid, kind=kind, organization_id=org_id, created_at=now, payload=payload
                ),
                "created_at": now,
            }
        )
    with transaction.atomic(savepoint=False):
        new = _insert_events(rows)
        deliveries = [
            WebhookDelivery(
                endpoint_id=endpoint_id,
                event_id=event_id,
                next_attempt_at=now,
                give_up_at=now + timedelta(hours=RETRY_HOURS),
                created_at=now,
            )
            for event_id, org_id in new
            for endpoint_id in wanted.get(org_id, ())
        ]
        if deliveries:
            WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    return len(deliveries)


def record_partner_event(sender, *, kind, organization_ids, payload, key, **kwargs) -> None:
    """The receiver of ``partner_event``."""
    record_events(
        kind=kind,
        organization_ids=organization_ids,
        payload=payload,
        key=key,
        now=kwargs.get("now") or clock.now(),
    )
