"""Background work of the waiting list (a periodic task, see settings.PERIODIC_TASKS)."""

from django_tasks import task

from tessera.core import clock
from tessera.waitlist import services


@task()
def settle_waitlist_offers() -> int:
    """Close due offers (bought, run out: the places pass to the next fan) and offer places
    that came free without an event. Idempotent."""
    return services.settle_offers(now=clock.now())
