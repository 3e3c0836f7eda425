"""Background work of payments: refunds at providers.

Tasks take ids, never objects, and are enqueued with ``transaction.on_commit``.
"""

from uuid import UUID

from django_tasks import task

from tessera.core.clock import now as clock_now


@task()
def refund_payment(refund_id: str) -> str:
    """Carry out a pending refund at its provider and book it; returns the refund's status."""
    from tessera.payments.services import execute_refund

    return execute_refund(refund_id=UUID(refund_id), now=clock_now()).status
