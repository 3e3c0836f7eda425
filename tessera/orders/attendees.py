"""Attendee names of paid orders, corrected by the organizer's staff (a typo, a name
written in another script). The policy and the ticket's new credential are the caller's
(``aftersales.corrections``); this module changes the line and records it."""

from datetime import datetime

from tessera.core import audit, locks
from tessera.orders.models import OrderLine
from tessera.orders.services import clean_attendees


def set_attendee_name(
    *, line: OrderLine, name: str, actor, now: datetime, organization_id: int
) -> OrderLine:
    """Write ``name`` on the line (inside the caller's transaction) with an audit entry
    holding the old and new names. Raises AttendeesInvalid for a name that is not one."""
    locks.require_transaction()
    name = clean_attendees([name], 1)[0]
    locked = locks.lock_rows(OrderLine.objects).get(pk=line.pk)
    old = locked.attendee_name
    locked.attendee_name = name
    locked.save(update_fields=["attendee_name"])
    audit.record(
        action="order.attendee_corrected",
        obj=locked.order,
        actor=actor,
        now=now,
        organization_id=organization_id,
        data={"line": locked.pk, "from": old, "to": name},
    )
    return locked
