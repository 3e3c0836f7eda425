"""Background work of channel allocations (``settings.PERIODIC_TASKS``)."""

from django_tasks import task

from tessera.core.clock import now as clock_now


@task()
def release_due_allocations() -> int:
    """Allocations past their release date give their unsold places back to the open pool
    (and ended ones what lapsed holds and refunds freed since). Returns the places returned."""
    from tessera.allocations.services import release_due_allocations as release

    return release(now=clock_now())
