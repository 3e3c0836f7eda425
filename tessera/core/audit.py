from datetime import datetime

from django.db import models

from tessera.core.models import AuditEntry


def record(
    *,
    action: str,
    obj: models.Model,
    actor=None,
    organization_id: int | None = None,
    now: datetime,
    data: dict | None = None,
) -> AuditEntry:
    """Append one audit entry; call inside the service's transaction."""
    return AuditEntry.objects.create(
        at=now,
        actor=actor if (actor is not None and getattr(actor, "pk", None)) else None,
        organization_id=organization_id,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        data=data or {},
    )


def record_many(
    *,
    action: str,
    objects: list[tuple[models.Model, dict]],
    actor=None,
    organization_id: int | None = None,
    now: datetime,
) -> int:
    """Append one audit entry per ``(object, data)`` with one INSERT per 1,000 (a batch job's
    entries, e.g. a session change's refunds); call inside the service's transaction."""
    actor = actor if (actor is not None and getattr(actor, "pk", None)) else None
    AuditEntry.objects.bulk_create(
        (
            AuditEntry(
                at=now,
                actor=actor,
                organization_id=organization_id,
                action=action,
                object_type=obj._meta.label_lower,
                object_id=str(obj.pk),
                data=data or {},
            )
            for obj, data in objects
        ),
        batch_size=1000,
    )
    return len(objects)
