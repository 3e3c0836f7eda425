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
