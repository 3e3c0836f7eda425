"""Background work of the resale: withdrawing listings that can no longer sell (buyers never
see them anyway: ``services.live_listings`` checks at read)."""

from django_tasks import task

from tessera.core.clock import now as clock_now


@task()
def withdraw_stale_listings() -> int:
    """``PERIODIC_TASKS``: listings of used, returned or closed tickets become withdrawn."""
    from tessera.resale.services import withdraw_stale_listings as withdraw

    return withdraw(now=clock_now())
