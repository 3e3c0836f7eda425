"""Background work of notifications (``settings.PERIODIC_TASKS`` and on demand). Every task
is idempotent: message keys are unique and claims expire."""

from django_tasks import task

from tessera.core.clock import now as clock_now


@task()
def deliver_messages() -> dict:
    """Deliver due email and text messages (``delivery.deliver_due``)."""
    from tessera.notifications.delivery import deliver_due

    return deliver_due(now=clock_now()).as_dict()


@task()
def derive_messages() -> dict:
    """Record the derived messages (paid orders, reminders, places about to be released),
    continue announcements being sent, then deliver."""
    from tessera.notifications import producers
    from tessera.notifications.delivery import deliver_due
    from tessera.notifications.models import Announcement, AnnouncementStatus

    now = clock_now()
    outcome = {
        "paid_orders": producers.derive_paid_orders(now=now),
        "reminders": len(producers.record_reminders(now=now)),
        "expiring_holds": producers.warn_expiring_holds(now=now),
    }
    for pk in Announcement.objects.filter(status=AnnouncementStatus.SENDING).values_list(
        "pk", flat=True
    ):
        producers.fan_out_announcement(announcement_id=pk, now=now)
    outcome["delivered"] = deliver_due(now=clock_now()).as_dict()
    return outcome


@task()
def fan_out_announcement(announcement_id: int) -> dict:
    from tessera.notifications import producers

    announcement = producers.fan_out_announcement(announcement_id=announcement_id, now=clock_now())
    deliver_messages.enqueue()
    return {"done": announcement.done, "total": announcement.total}
