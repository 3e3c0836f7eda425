"""Background work of the sale."""

from django_tasks import task

from tessera.core.clock import now as clock_now
from tessera.sale import services


@task()
def reconcile_payments() -> dict:
    """Complete or fail payments still open from the providers' own answers (a lost callback
    must not leave a paid buyer without tickets). ``manage.py serve`` hands it to a worker
    with the other housekeeping; returns counts by outcome."""
    return services.reconcile_payments(now=clock_now())
