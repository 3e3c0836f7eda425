"""Hook points of transfers.

``settings.TRANSFER_GUARDS``: dotted paths of callables that may refuse a transfer by
raising a ``DomainError``. Each is called as ``guard(ticket=, session=, sender=,
recipient=, step=, now=)`` — ``step`` is ``"send"`` (``recipient`` None for a link) or
``"accept"`` — inside the transfer's transaction, after its locks and before anything is
written. Real-name sessions add the recipient's identity check here.

``refuse_tickets_in_transfer`` is for the apps that refund or exchange tickets (a refund
guard): call it under the order's lock, like a transfer's own checks run.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils.module_loading import import_string

from tessera.transfers import selectors
from tessera.transfers.errors import TicketGivenAway, TicketInTransfer


def run_transfer_guards(*, ticket, session, sender, recipient, step: str, now: datetime) -> None:
    for path in getattr(settings, "TRANSFER_GUARDS", ()):
        import_string(path)(
            ticket=ticket, session=session, sender=sender, recipient=recipient, step=step, now=now
        )


def refuse_tickets_in_transfer(*, ticket_ids, now: datetime) -> None:
    """Raise TicketInTransfer when one of the tickets is offered to someone by an open
    transfer, TicketGivenAway when a transfer gave one to an account other than the buyer.

    Refunds and exchanges are the buyer's; a ticket on its way to someone else, or already
    theirs, is not the buyer's to return."""
    ids = list(ticket_ids)
    in_transfer = selectors.open_transfer_ticket_ids(ids, now=now)
    if in_transfer:
        raise TicketInTransfer(details={"tickets": sorted(in_transfer)})
    given = selectors.given_away_ticket_ids(ids)
    if given:
        raise TicketGivenAway(details={"tickets": sorted(given)})
