"""Background work of after-sales: the batches of a session change (``changes``).

Tasks take ids, never objects, and are enqueued with ``transaction.on_commit``.
"""

from django_tasks import task

from tessera.core.clock import now as clock_now


@task()
def run_session_change(change_id: int) -> int:
    """Deal with the next batch of the change's orders and, while some are pending, hand
    the next batch to the workers; returns how many are still pending. A task that is
    retried after its worker died resumes with the orders still pending (each order is
    marked done in its own transaction)."""
    from django.db import transaction

    from tessera.aftersales import changes

    left = changes.run_batch(change_id=change_id, now=clock_now())
    if left:
        with transaction.atomic():
            changes.enqueue(change_id)
    return left
