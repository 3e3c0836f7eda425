"""Periodic work of the group and box sales (``settings.PERIODIC_TASKS``)."""

from django_tasks import task

from tessera.core import clock
from tessera.groupsales import services


@task()
def settle_group_sales() -> dict:
    """Paid quotes recorded, quotes past their deadline expired (places back), lapsed box
    holds set aside again."""
    return services.settle_group_sales(now=clock.now())
