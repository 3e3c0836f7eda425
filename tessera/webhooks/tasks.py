"""Background work of webhooks (``settings.PERIODIC_TASKS`` and on demand). Idempotent:
event keys are unique per organization and delivery claims expire."""

from django_tasks import task

from tessera.core.clock import now as clock_now


@task()
def run_webhooks() -> dict:
    """Derive the partner events since the last run, then send what is due."""
    from tessera.webhooks.delivery import deliver_due
    from tessera.webhooks.producers import derive_events

    derived = derive_events(now=clock_now())
    return {"derived": derived, "sent": deliver_due(now=clock_now()).as_dict()}


@task()
def deliver_webhooks(delivery_ids: list[int] | None = None) -> dict:
    """Send due deliveries now (a redelivery or a test ping asked from the console)."""
    from tessera.webhooks.delivery import deliver_due

    return deliver_due(now=clock_now(), ids=delivery_ids).as_dict()
