"""Corrections of attendee names by the organizer's staff, within the policy:

- the ticket is valid (not refunded, not revoked) and has not entered at a gate;
- the session has not started;
- at most ``MAX_NAME_CORRECTIONS`` corrections per ticket (a correction is not a transfer:
  transfers have their own terms in the event's policy).

The holder's name is inside the ticket's credential (its holder digest), so a correction
re-issues the credential: the old version is revoked (scanners refuse it after their next
sync) and the next one carries the new name. One transaction, locks in the refund's order
(``services`` R2): order → order line → ticket; each change audited.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from tessera.aftersales.errors import NameNotCorrectable
from tessera.aftersales.selectors import entered_ticket_ids
from tessera.core import audit, locks
from tessera.core.models import AuditEntry
from tessera.orders.attendees import set_attendee_name
from tessera.orders.models import Order, OrderLine
from tessera.orders.services import AttendeesInvalid, clean_attendees
from tessera.tickets.models import Ticket, TicketStatus
from tessera.tickets.services import reissue_ticket

MAX_NAME_CORRECTIONS = 2
ACTION = "ticket.name_corrected"


def corrections_of(ticket: Ticket) -> int:
    return AuditEntry.objects.filter(
        action=ACTION, object_type="tickets.ticket", object_id=str(ticket.pk)
    ).count()


def correct_attendee_name(*, line: OrderLine, name: str, actor, now: datetime) -> Ticket:
    """Correct the attendee name of ``line`` and re-issue its ticket for that name.

    Raises AttendeesInvalid for a name that is not one (empty, too long, control
    characters), NameNotCorrectable outside the policy; nothing changes then.
    """
    name = clean_attendees([name], 1)[0]
    if not name:
        raise AttendeesInvalid(details={"name": "required"})
    session = line.order.session
    organization_id = session.event.organization_id
    with transaction.atomic():
        # The refund's lock order (services R2): order → order line → ticket. The order's
        # lock also serialises corrections of one ticket (the count below).
        locks.lock_rows(Order.objects).get(pk=line.order_id)
        locks.lock_rows(OrderLine.objects).get(pk=line.pk)
        ticket = locks.lock_rows(Ticket.objects).filter(order_line=line).first()
        if (
            ticket is None
            or ticket.status != TicketStatus.VALID
            or session.starts_at <= now
            or entered_ticket_ids([ticket.pk])
            or corrections_of(ticket) >= MAX_NAME_CORRECTIONS
        ):
            raise NameNotCorrectable
        old = ticket.holder_name
        set_attendee_name(
            line=line, name=name, actor=actor, now=now, organization_id=organization_id
        )
        ticket = reissue_ticket(ticket=ticket, holder_name=name, now=now, actor=actor)
        audit.record(
            action=ACTION,
            obj=ticket,
            actor=actor,
            now=now,
            organization_id=organization_id,
            data={"from": old, "to": name, "version": ticket.version},
        )
    return ticket
