"""Background work of settlement (a periodic task, see settings.PERIODIC_TASKS)."""

from django_tasks import task

from tessera.core import clock
from tessera.settlement import services


@task()
def generate_due_statements() -> int:
    """Draft the statements of periods that have ended. Idempotent; cheap when nothing is
    due (one existence check per contract)."""
    return services.generate_due_statements(now=clock.now())
