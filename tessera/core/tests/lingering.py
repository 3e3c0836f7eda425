"""A task for the fault tests (``test_faults.py``): it runs long enough for a worker to be
killed while it holds it, and records each completed run, so a test can see that the task
was run again to the end after its worker died."""

import time

from django.utils import timezone
from django_tasks import task

from tessera.core.models import AuditEntry


@task()
def linger(marker: str, seconds: float) -> int:
    """Sleep ``seconds``, then record one finished run of ``marker``; returns the runs so
    far."""
    time.sleep(seconds)
    AuditEntry.objects.create(
        at=timezone.now(), action="test.linger", object_type="marker", object_id=marker
    )
    return AuditEntry.objects.filter(action="test.linger", object_id=marker).count()
