"""Guards the passes add to other apps' flows: a pass's tickets belong to the pass, so they
are neither refunded, exchanged nor transferred one by one (the holder releases a match
instead: ``services.release_match``)."""

from __future__ import annotations

from datetime import datetime

from tessera.passes.errors import PassTicket, SessionHasPasses
from tessera.passes.models import EntryStatus, PassEntry, PassStatus


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


def refuse_sessions_with_passes(*, session) -> None:
    """``settings.SESSION_CANCEL_GUARDS``: a session that live passes cover is not cancelled
    plainly: the passes' holders release the match, or the passes are dealt with first),
    unless through an after-sales cancellation (``aftersales.changes.start_cancellation``),
    whose change row is written in the same transaction and whose job refunds each pass's
    share of the session (``passes.changes``)."""
    from tessera.aftersales.models import ChangeKind, SessionChange

    if SessionChange.objects.filter(session_id=session.pk, kind=ChangeKind.CANCEL).exists():
        return
    covered = PassEntry.objects.filter(
        session_id=session.pk,
        status=EntryStatus.ACTIVE,
        sold_pass__status__in=[PassStatus.ACTIVE, PassStatus.PENDING],
    ).count()
    if covered:
        raise SessionHasPasses(details={"passes": covered})
