"""Reads of transfers: what a person sent and received, what a refund or exchange must know
about tickets on their way to someone else."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db.models import F, Q, QuerySet

from tessera.core.clock import now as clock_now
from tessera.tickets.models import Ticket, TicketStatus
from tessera.transfers.models import Transfer, TransferStatus


def hash_token(token: str) -> str:
    """The stored form of a link's token: SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def open_transfers() -> QuerySet[Transfer]:
    """Pending transfers (some may have expired: compare ``expires_at`` with now)."""
    return Transfer.objects.filter(status=TransferStatus.PENDING)


def open_transfer_ticket_ids(ticket_ids, *, now: datetime | None = None) -> set[int]:
    """Those of the tickets offered to someone by a transfer that can still be accepted.
    A refund or an exchange of such a ticket must be refused (``guards``)."""
    ids = list(ticket_ids)
    if not ids:
        return set()
    return set(
        open_transfers()
        .filter(ticket_id__in=ids, expires_at__gt=now or clock_now())
        .values_list("ticket_id", flat=True)
    )


def given_away_ticket_ids(ticket_ids) -> set[int]:
    """Those of the tickets that a transfer gave to an account other than the buyer: the
    buyer may no longer refund or exchange them."""
    ids = list(ticket_ids)
    if not ids:
        return set()
    return set(
        Ticket.objects.filter(pk__in=ids, holder__isnull=False)
        .exclude(holder=F("order_line__order__user"))
        .values_list("pk", flat=True)
    )


def accepted_transfer_count(ticket_id: int) -> int:
    return Transfer.objects.filter(ticket_id=ticket_id, status=TransferStatus.ACCEPTED).count()


def _for_display(qs: QuerySet[Transfer]) -> QuerySet[Transfer]:
    return qs.select_related(
        "ticket__order_line__order",
        "ticket__session__event",
        "ticket__session__layout__venue",
        "sender",
        "recipient",
    )


def list_sent(user) -> QuerySet[Transfer]:
    """Transfers ``user`` sent, newest first."""
    return _for_display(Transfer.objects.filter(sender=user)).order_by("-created_at")


def list_received(user) -> QuerySet[Transfer]:
    """Transfers addressed to ``user`` (by phone or email) and links they accepted, newest
    first."""
    return _for_display(Transfer.objects.filter(recipient=user)).order_by("-created_at")


def list_offers_to(user, *, now: datetime) -> list[Transfer]:
    """Transfers waiting for ``user`` to accept them."""
    return list(list_received(user).filter(status=TransferStatus.PENDING, expires_at__gt=now))


def list_tickets_given_to(user) -> list[Ticket]:
    """Valid tickets that transfers gave to ``user`` (tickets they bought themselves are on
    their orders), by session start."""
    return list(
        Ticket.objects.filter(holder=user, status=TicketStatus.VALID)
        .exclude(order_line__order__user=user)
        .select_related("order_line__order", "session__event", "session__layout__venue")
        .order_by("session__starts_at", "pk")
    )


def transfers_of_tickets(ticket_ids) -> dict[int, Transfer]:
    """The latest transfer of each of these tickets."""
    latest: dict[int, Transfer] = {}
    for transfer in (
        Transfer.objects.filter(ticket_id__in=list(ticket_ids))
        .select_related("recipient")
        .order_by("ticket_id", "-created_at")
    ):
        latest.setdefault(transfer.ticket_id, transfer)
    return latest


def get_by_token(token: str) -> Transfer | None:
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    return _for_display(Transfer.objects.filter(token_hash=hash_token(token))).first()


def visible_to(user) -> Q:
    return Q(sender=user) | Q(recipient=user)
