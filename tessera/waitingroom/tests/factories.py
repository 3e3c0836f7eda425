from datetime import timedelta

from tessera.waitingroom import services


def make_room(*, sale, now, prequeue_minutes: int = 30, opens_in_minutes: int = 10, **fields):
    """A room over ``sale.session``: pre-queue open since ``now - prequeue_minutes``,
    on-sale at ``now + opens_in_minutes`` (negative: already open)."""
    session = sale.session
    return services.create_room(
        organization=session.event.organization,
        name=fields.pop("name", "开票排队"),
        sessions=fields.pop("sessions", [session]),
        prequeue_opens_at=now - timedelta(minutes=prequeue_minutes),
        opens_at=now + timedelta(minutes=opens_in_minutes),
        now=now,
        **fields,
    )
