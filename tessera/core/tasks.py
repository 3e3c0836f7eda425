"""Background work of the core: the lease on claimed tasks (``core.workers``)."""

from django_tasks import task

from tessera.core.clock import now as clock_now
from tessera.core.workers import requeue_abandoned_tasks as sweep


@task()
def requeue_abandoned_tasks() -> dict:
    """Put back in the queue the tasks of workers that died (heartbeat older than the
    lease). ``manage.py serve`` hands it to a worker with the other housekeeping, and every
    worker runs the same sweep as it starts. Returns counts (requeued, failed)."""
    return sweep(now=clock_now()).as_dict()
