"""Background work of the waiting room."""

from django_tasks import task

from tessera.core.clock import now as clock_now
from tessera.waitingroom import services


@task()
def advance_waiting_rooms() -> int:
    """Open, advance and detect sell-outs of every live room (``PERIODIC_TASKS``; status
    checks also advance lazily at most once a second). Returns the rooms advanced."""
    return services.advance_open_rooms(now=clock_now())
