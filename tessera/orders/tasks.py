"""Background work of the orders."""

from django_tasks import task

from tessera.core.clock import now as clock_now
from tessera.orders import services


@task()
def expire_overdue_orders() -> int:
    """Mark unpaid orders whose hold ran out as expired (their places are already free)."""
    return services.expire_overdue_orders(now=clock_now())
