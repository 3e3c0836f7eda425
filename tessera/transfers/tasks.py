"""Background work of transfers: tidying expired offers (correctness never depends on it)."""

from django_tasks import task

from tessera.core.clock import now as clock_now


@task()
def expire_transfers() -> int:
    """Mark pending transfers whose time is up as expired (``PERIODIC_TASKS``)."""
    from tessera.transfers.services import expire_transfers as expire

    return expire(now=clock_now())
