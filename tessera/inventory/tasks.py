"""Background work of the inventory. Correctness never depends on it: expiry is lazy."""

from django_tasks import task

from tessera.core.clock import now as clock_now
from tessera.inventory import services


@task()
def tidy_expired_holds() -> int:
    """Reset places of expired holds to available and mark the holds released.

    Run it every few minutes (a cron entry or the worker's scheduler); it only keeps rows
    and counts tidy. Returns the number of places freed.
    """
    return services.tidy_expired_holds(now=clock_now())
