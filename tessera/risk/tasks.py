"""Background work of risk control (``settings.PERIODIC_TASKS``)."""

from django_tasks import task

from tessera.core.clock import now as clock_now
from tessera.risk import anomalies, services


@task()
def find_anomalies() -> int:
    """Run the anomaly rules and flag orders into the review queue; the new cases."""
    return anomalies.find_and_flag(now=clock_now())


@task()
def purge_used_proofs() -> int:
    """Forget spent proofs of expired challenges."""
    return services.purge_used_proofs(now=clock_now())
