"""Background work of payments: the sandbox gateway's callbacks, and refunds at providers.

Tasks take ids, never objects, and are enqueued with ``transaction.on_commit``.
"""

import logging
from datetime import timedelta
from uuid import UUID

from django_tasks import task

from tessera.core.clock import now as clock_now
from tessera.payments import sandbox_gateway
from tessera.payments.models import SandboxTrade

logger = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 6


class CallbackUndelivered(Exception):
    """The merchant did not acknowledge every callback and no retry can be scheduled."""


@task()
def deliver_sandbox_callbacks(reference: str, attempt: int = 1) -> list[int]:
    """POST the sandbox trade's signed callbacks to its notify URL over HTTP, as a real
    gateway does. Unacknowledged deliveries are tried again later (30 s, 60 s, 120 s …) on
    backends that can defer; the HTTP statuses are returned."""
    trade = SandboxTrade.objects.get(reference=reference)
    statuses = sandbox_gateway.deliver_over_http(trade)
    if all(status == 200 for status in statuses):
        return statuses
    retry = deliver_sandbox_callbacks
    if attempt < MAX_DELIVERY_ATTEMPTS and retry.get_backend().supports_defer:
        later = clock_now() + timedelta(seconds=30 * 2 ** (attempt - 1))
        retry.using(run_after=later).enqueue(reference, attempt + 1)
        return statuses
    raise CallbackUndelivered(f"{reference}: {statuses}")


@task()
def refund_payment(refund_id: str) -> str:
    """Carry out a pending refund at its provider and book it; returns the refund's status."""
    from tessera.payments.services import execute_refund

    return execute_refund(refund_id=UUID(refund_id), now=clock_now()).status
