"""Guards other apps run: a listed ticket is not refunded, exchanged or transferred until its
seller withdraws the listing (``settings.TICKET_RETURN_GUARDS``, ``settings.TRANSFER_GUARDS``).
A listing of a session no longer scheduled (cancelled) does not hold its refunds back."""

from __future__ import annotations

from datetime import datetime

from tessera.catalog.models import SessionStatus
from tessera.resale.errors import TicketListed
from tessera.resale.models import Listing, ListingStatus


def _listed(ticket_ids) -> list[int]:
    return sorted(
        Listing.objects.filter(
            ticket_id__in=list(ticket_ids),
            status=ListingStatus.LISTED,
            session__status=SessionStatus.SCHEDULED,
        ).values_list("ticket_id", flat=True)
    )


def refuse_listed_tickets(*, ticket_ids, now: datetime) -> None:
    """A refund or exchange guard: raise TicketListed for a ticket listed for resale."""
    listed = _listed(ticket_ids)
    if listed:
        raise TicketListed(details={"tickets": listed})


def refuse_listed_transfer(*, ticket, session, sender, recipient, step: str, now: datetime) -> None:
    """A transfer guard: raise TicketListed for a ticket listed for resale."""
    if _listed([ticket.pk]):
        raise TicketListed(details={"tickets": [ticket.pk]})
