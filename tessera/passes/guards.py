"""Guards the passes add to other apps' flows: a pass's tickets belong to the pass, so they
are neither refunded, exchanged nor transferred one by one (the holder releases a match
instead: ``services.release_match``)."""

from __future__ import annotations

from datetime import datetime

from tessera.passes.errors import PassTicket
from tessera.passes.models import PassEntry


def refuse_pass_tickets(*, ticket_ids, now: datetime) -> None:
    """``settings.TICKET_RETURN_GUARDS``: refunds and exchanges refuse a pass's tickets."""
    found = sorted(
        PassEntry.objects.filter(ticket_id__in=list(ticket_ids)).values_list("ticket_id", flat=True)
    )
    if found:
        raise PassTicket(details={"tickets": found})


def refuse_pass_transfers(*, ticket, session, sender, recipient, step: str, now) -> None:
    """``settings.TRANSFER_GUARDS``: a pass's ticket is not transferred on its own."""
    if PassEntry.objects.filter(ticket_id=ticket.pk).exists():
        raise PassTicket(details={"tickets": [ticket.pk]})
