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


@task()
def refund_payments(refund_ids: list[str]) -> dict:
    """``refund_payment`` for many refunds (a session change's batch), one after the other;
    returns counts by status. A refund that raises is left pending: ``retry_refunds`` sends
    it again."""
    import logging

    from tessera.payments.services import execute_refund

    counts: dict[str, int] = {}
    for refund_id in refund_ids:
        try:
            status = execute_refund(refund_id=UUID(refund_id), now=clock_now()).status
        except Exception:
            logging.getLogger(__name__).exception("refund %s not sent", refund_id)
            status = "error"
        counts[status] = counts.get(status, 0) + 1
    return counts


@task()
def retry_refunds() -> dict:
    """Send pending refunds whose next attempt is due (and first attempts whose task was
    lost); ``manage.py serve`` runs it with the other housekeeping."""
    from tessera.payments.services import retry_due_refunds

    return retry_due_refunds(now=clock_now())


@task()
def daily_ledger_check() -> int | None:
    """Compare every order's ledger with its providers once a day (asked every minute by
    the housekeeping; runs when due). Returns the number of orders that differ."""
    from tessera.payments.services import check_ledgers_if_due

    run = check_ledgers_if_due(now=clock_now())
    return None if run is None else run.differences
