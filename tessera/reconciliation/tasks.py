"""Background work of the reconciliation."""

from django_tasks import task

from tessera.core.clock import now as clock_now


@task()
def reconcile_yesterday() -> int:
    """Reconcile the last days (yesterday first) whose statement was imported since their
    last run; ``manage.py serve`` asks every minute and it does nothing until a statement
    arrives. Returns how many days ran."""
    from tessera.reconciliation.services import reconcile_due_days

    return len(reconcile_due_days(now=clock_now()))
