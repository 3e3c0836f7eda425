"""Transfers (转赠): a ticket's holder gives it to another account.

The holder (the order's buyer, or the account a transfer gave the ticket to: ``Ticket.holder``)
sends a ticket to an account named by its phone number or email address, or makes a one-time
link (a random token shown once; only its SHA-256 is stored) that any other signed-in
account may accept. Until the recipient accepts, the ticket stays the sender's and its
credential stays valid; the sender may cancel. On acceptance, in one transaction, the
ticket's current credential version is revoked (scanners refuse it after their next sync), the
next version is issued for the recipient's name, and the recipient becomes the holder
account.

Limits come from the session's after-sales policy (``catalog.selectors.policy_for``):
``is_transferable``, ``max_transfers`` (accepted transfers per ticket) and
``transfer_cutoff_hours`` before the start. A ticket that entered at a gate, that is not
valid (refunded, revoked) or whose refund has been requested is not transferred. A transfer
expires after ``TRANSFER_HOURS`` or at the policy's deadline, whichever comes first. The
recipient's identity (real-name sessions) is checked by ``settings.TRANSFER_GUARDS``
(``guards``).

Transactions and locks (after the sale's and the refunds' order: order first)
-----------------------------------------------------------------------------
T1  send, one transaction:  order → ticket → insert the transfer (a partial unique
    constraint: one pending transfer per ticket) → audit.
T2  accept, one transaction:  order → transfer → ticket → attendance
    (``checkin.lock_attendance``) → revocation of the old version and the new version
    (``tickets.reissue_ticket``) → transfer accepted → audit.
T3  cancel, one transaction:  order → transfer → cancelled → audit.

Invariants
----------
- At most one credential version of a ticket verifies: accepting revokes the old one in
  the transaction that issues the new one.
- A transfer is accepted at most once and never after it was cancelled: accept and cancel
  lock the transfer's order, then re-read the transfer.
- A ticket that entered is never transferred, and a transferred ticket's old code never
  enters: the scan and the acceptance take the same attendance lock and each sees the
  other's result under it (a scan re-reads the ticket's version after the lock).
- A refund request and a transfer of one ticket exclude each other: both run under the
  order's lock and each checks the other (``guards.refuse_tickets_in_transfer``).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tessera.aftersales.models import RefundRequestLine
from tessera.catalog.models import AfterSalesPolicy, Session
from tessera.catalog.selectors import policy_for
from tessera.checkin.models import Presence
from tessera.checkin.services import lock_attendance
from tessera.core import audit, locks
from tessera.notifications.models import Kind
from tessera.notifications.services import notify
from tessera.orders.models import LineStatus, Order
from tessera.tickets import services as tickets
from tessera.tickets.models import Ticket, TicketStatus
from tessera.tickets.selectors import held_by
from tessera.transfers import selectors
from tessera.transfers.errors import (
    AlreadyOffered,
    ChannelInvalid,
    ContactInvalid,
    HolderNameInvalid,
    LinkNotValid,
    RecipientIsSender,
    RecipientUnknown,
    RefundPending,
    TicketGivenAway,
    TicketNotFound,
    TicketNotTransferable,
    TicketUsed,
    TransferLimitReached,
    TransferNotAllowed,
    TransferNotFound,
    TransferNotOpen,
    TransferTooLate,
)
from tessera.transfers.guards import run_transfer_guards
from tessera.transfers.models import Channel, Transfer, TransferStatus

TRANSFER_HOURS = 72
TOKEN_BYTES = 32  # 256 random bits, 43 URL-safe characters
HOLDER_NAME_MAX = 80
CONTACT_MAX = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Sent:
    """A transfer just sent; ``token`` is the link's secret (empty for phone and email),
    shown to the sender this once."""

    transfer: Transfer
    token: str


# -- input ------------------------------------------------------------------------------------


def _printable(value, *, max_length: int, error) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise error()
    text = unicodedata.normalize("NFKC", value).strip()
    if len(text) > max_length or any(
        unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text
    ):
        raise error()
    return text


def clean_channel(channel) -> str:
    if channel not in Channel.values:
        raise ChannelInvalid()
    return channel


def phone_digits(value: str) -> str:
    """A mobile number as digits, without a leading +86 / 0086 (mainland China)."""
    digits = re.sub(r"\D", "", value or "")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def clean_contact(channel: str, contact) -> str:
    """The phone number (digits) or the email address (lower case) given; "" for a link."""
    if channel == Channel.LINK:
        return ""
    text = _printable(contact, max_length=CONTACT_MAX, error=ContactInvalid)
    if channel == Channel.PHONE:
        if not re.fullmatch(r"\+?[\d\s\-()]{6,24}", text):
            raise ContactInvalid(details={"contact": "phone"})
        digits = phone_digits(text)
        if not 6 <= len(digits) <= 15:
            raise ContactInvalid(details={"contact": "phone"})
        return digits
    if not _EMAIL.match(text):
        raise ContactInvalid(details={"contact": "email"})
    return text.lower()


def clean_holder_name(value) -> str:
    """The name the recipient gives for the ticket ("" when they give none)."""
    return _printable(value, max_length=HOLDER_NAME_MAX, error=HolderNameInvalid)


def find_recipient(channel: str, contact: str):
    """The one active account with this phone number or email address; RecipientUnknown
    when there is none (or more than one: the sender should use a link then)."""
    users = get_user_model().objects.filter(is_active=True)
    if channel == Channel.EMAIL:
        found = list(users.filter(email__iexact=contact)[:2])
    else:
        found = [
            user
            for user in users.filter(phone__contains=contact[-4:])[:50]
            if phone_digits(user.phone) == contact
        ][:2]
    if len(found) != 1:
        raise RecipientUnknown()
    return found[0]


def display_name(user) -> str:
    return (user.display_name or user.get_full_name() or user.username).strip()[:HOLDER_NAME_MAX]


# -- the rules ----------------------------------------------------------------------------------


def deadline(session: Session, policy: AfterSalesPolicy) -> datetime:
    return session.starts_at - timedelta(hours=policy.transfer_cutoff_hours)


def _check_rules(ticket: Ticket, session: Session, policy: AfterSalesPolicy, now: datetime):
    """Raise what stops this ticket from being transferred now (the caller holds the
    order's lock). The gate's attendance is checked by the caller."""
    if ticket.status != TicketStatus.VALID:
        raise TicketNotTransferable()
    if ticket.order_line.status != LineStatus.ACTIVE:
        raise TicketNotTransferable()
    if not policy.is_transferable or not policy.max_transfers:
        raise TransferNotAllowed()
    if now >= deadline(session, policy):
        raise TransferTooLate(details={"deadline": deadline(session, policy).isoformat()})
    if selectors.accepted_transfer_count(ticket.pk) >= policy.max_transfers:
        raise TransferLimitReached(details={"max_transfers": policy.max_transfers})
    if RefundRequestLine.objects.filter(line_id=ticket.order_line_id, is_claimed=True).exists():
        raise RefundPending()


def _organization_id(session: Session) -> int:
    return session.event.organization_id


def _lock_ticket(order_id: int, ticket_id: int) -> tuple[Order, Ticket]:
    order = locks.lock_rows(Order.objects).get(pk=order_id)
    ticket = locks.lock_rows(Ticket.objects.select_related("order_line")).get(pk=ticket_id)
    return order, ticket


# -- send ---------------------------------------------------------------------------------------


def send_transfer(
    *,
    ticket: Ticket,
    sender,
    channel: str,
    contact: str = "",
    now: datetime,
    idempotency_key: str = "",
) -> Sent:
    """Offer ``ticket`` (held by ``sender``) to the account with this phone number or email
    address, or make a one-time link (``channel`` link; ``contact`` ignored).

    Raises ChannelInvalid, ContactInvalid, RecipientUnknown, RecipientIsSender,
    TicketNotFound (not the sender's ticket), TicketNotTransferable, TransferNotAllowed,
    TransferTooLate, TransferLimitReached, RefundPending, TicketUsed, AlreadyOffered, and
    whatever ``settings.TRANSFER_GUARDS`` raise. Nothing is written then.
    """
    channel = clean_channel(channel)
    contact = clean_contact(channel, contact)
    recipient = None
    if channel != Channel.LINK:
        recipient = find_recipient(channel, contact)
        if recipient.pk == sender.pk:
            raise RecipientIsSender()
    token = secrets.token_urlsafe(TOKEN_BYTES) if channel == Channel.LINK else ""
    try:
        with transaction.atomic():
            order, locked = _lock_ticket(ticket.order_line.order_id, ticket.pk)
            if not locked.is_held_by(sender):
                raise TicketNotFound()
            session = Session.objects.select_related("event").get(pk=locked.session_id)
            policy = policy_for(session)
            _expire_stale(locked.pk, now)
            if selectors.open_transfers().filter(ticket_id=locked.pk).exists():
                raise AlreadyOffered()
            _check_rules(locked, session, policy, now)
            if Presence.objects.filter(ticket_id=locked.pk, entries__gt=0).exists():
                raise TicketUsed()
            run_transfer_guards(
                ticket=locked,
                session=session,
                sender=sender,
                recipient=recipient,
                step="send",
                now=now,
            )
            transfer = Transfer.objects.create(
                ticket=locked,
                order=order,
                sender=sender,
                channel=channel,
                contact=contact,
                recipient=recipient,
                token_hash=selectors.hash_token(token) if token else "",
                from_version=locked.version,
                created_at=now,
                expires_at=min(now + timedelta(hours=TRANSFER_HOURS), deadline(session, policy)),
                idempotency_key=(idempotency_key or "")[:120],
            )
            audit.record(
                action="transfer.sent",
                obj=transfer,
                actor=sender,
                organization_id=_organization_id(session),
                now=now,
                data={
                    "ticket": locked.pk,
                    "order": order.number,
                    "channel": channel,
                    "recipient": recipient.pk if recipient else None,
                    "version": locked.version,
                },
            )
            if recipient is not None:
                notify(
                    recipient,
                    Kind.TRANSFER_RECEIVED,
                    {
                        "transfer": str(transfer.pk),
                        "session": session.pk,
                        "sender": display_name(sender),
                    },
                    key=f"transfer_received:{transfer.pk}",
                    now=now,
                )
    except IntegrityError as exc:
        # A concurrent send of the same ticket inserted its pending transfer first.
        raise AlreadyOffered() from exc
    return Sent(transfer=transfer, token=token)


def _expire_stale(ticket_id: int, now: datetime) -> None:
    """Write the status of this ticket's pending transfers whose time is up (caller holds
    the order's lock)."""
    selectors.open_transfers().filter(ticket_id=ticket_id, expires_at__lte=now).update(
        status=TransferStatus.EXPIRED, closed_at=now
    )


# -- accept -------------------------------------------------------------------------------------


def accept_transfer(*, transfer: Transfer, user, holder_name: str = "", now: datetime) -> Transfer:
    """``user`` accepts a transfer addressed to them (phone or email). See ``_accept``."""
    if transfer.channel == Channel.LINK or transfer.recipient_id != user.pk:
        raise TransferNotFound()
    return _accept(transfer.pk, user=user, holder_name=holder_name, now=now)


def accept_link(*, token: str, user, holder_name: str = "", now: datetime) -> Transfer:
    """``user`` accepts the transfer of this one-time link (any signed-in account but the
    sender's). Raises LinkNotValid for an unknown token or one already accepted by someone
    else, and what ``_accept`` raises."""
    found = selectors.get_by_token(token)
    if found is None or found.channel != Channel.LINK:
        raise LinkNotValid()
    if found.status == TransferStatus.ACCEPTED and found.recipient_id != user.pk:
        raise LinkNotValid()
    return _accept(found.pk, user=user, holder_name=holder_name, now=now)


def _accept(transfer_id, *, user, holder_name: str, now: datetime) -> Transfer:
    """T2 of the module docstring. Accepting a transfer already accepted by the same user
    answers it again (a double click); otherwise raises TransferNotOpen (cancelled, expired,
    accepted), RecipientIsSender, HolderNameInvalid, TicketGivenAway, the rules' errors
    (the policy may have changed since it was sent), TicketUsed (it entered since) and what
    ``settings.TRANSFER_GUARDS`` raise. Nothing is written then."""
    name = clean_holder_name(holder_name) or display_name(user)
    order_id = Transfer.objects.filter(pk=transfer_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise TransferNotFound()
    with transaction.atomic():
        locks.lock_rows(Order.objects).get(pk=order_id)
        transfer = locks.lock_rows(Transfer.objects).get(pk=transfer_id)
        if transfer.status == TransferStatus.ACCEPTED and transfer.recipient_id == user.pk:
            return transfer
        if not transfer.is_open_at(now):
            raise TransferNotOpen()
        if transfer.sender_id == user.pk:
            raise RecipientIsSender()
        if transfer.recipient_id is not None and transfer.recipient_id != user.pk:
            raise TransferNotFound()
        ticket = locks.lock_rows(Ticket.objects.select_related("order_line__order")).get(
            pk=transfer.ticket_id
        )
        if ticket.holder_account_id != transfer.sender_id:
            raise TicketGivenAway()
        if ticket.version != transfer.from_version:
            raise TransferNotOpen()
        session = Session.objects.select_related("event").get(pk=ticket.session_id)
        policy = policy_for(session)
        _check_rules(ticket, session, policy, now)
        attendance = lock_attendance(session_id=session.pk, ticket_ids=[ticket.pk])
        if attendance[ticket.pk].entries:
            raise TicketUsed()
        run_transfer_guards(
            ticket=ticket,
            session=session,
            sender=transfer.sender,
            recipient=user,
            step="accept",
            now=now,
        )
        old_version = ticket.version
        reissued = tickets.reissue_ticket(
            ticket=ticket, holder_name=name, holder=user, now=now, actor=user
        )
        transfer.status = TransferStatus.ACCEPTED
        transfer.recipient = user
        transfer.holder_name = name
        transfer.to_version = reissued.version
        transfer.closed_at = now
        transfer.save(
            update_fields=["status", "recipient", "holder_name", "to_version", "closed_at"]
        )
        audit.record(
            action="transfer.accepted",
            obj=transfer,
            actor=user,
            organization_id=_organization_id(session),
            now=now,
            data={
                "ticket": ticket.pk,
                "from": transfer.sender_id,
                "to": user.pk,
                "revoked_version": old_version,
                "version": reissued.version,
            },
        )
    return transfer


# -- cancel -------------------------------------------------------------------------------------


def _close(transfer: Transfer, *, user, status: str, action: str, now: datetime) -> Transfer:
    """Close a pending transfer as ``status`` (cancelled by its sender, declined by its
    recipient); closing it the same way again answers the same. Raises TransferNotOpen
    (accepted, expired or closed the other way)."""
    with transaction.atomic():
        locks.lock_rows(Order.objects).get(pk=transfer.order_id)
        locked = locks.lock_rows(Transfer.objects).get(pk=transfer.pk)
        if locked.status == status:
            return locked
        if not locked.is_open_at(now):
            raise TransferNotOpen()
        locked.status = status
        locked.closed_at = now
        locked.save(update_fields=["status", "closed_at"])
        audit.record(
            action=action,
            obj=locked,
            actor=user,
            organization_id=Session.objects.filter(pk=locked.ticket.session_id)
            .values_list("event__organization_id", flat=True)
            .get(),
            now=now,
            data={"ticket": locked.ticket_id},
        )
    return locked


def cancel_transfer(*, transfer: Transfer, user, now: datetime) -> Transfer:
    """The sender takes back a transfer nobody has accepted yet (T3). Cancelling a cancelled
    transfer answers it again. Raises TransferNotFound (not the sender's) and
    TransferNotOpen (accepted or expired)."""
    if transfer.sender_id != user.pk:
        raise TransferNotFound()
    return _close(
        transfer, user=user, status=TransferStatus.CANCELLED, action="transfer.cancelled", now=now
    )


def decline_transfer(*, transfer: Transfer, user, now: datetime) -> Transfer:
    """The recipient says no to a transfer addressed to them: the ticket stays the sender's
    and the sender may send it again. Declining twice answers the same. Raises
    TransferNotFound (not addressed to ``user``) and TransferNotOpen (accepted, cancelled or
    expired)."""
    if transfer.recipient_id != user.pk:
        raise TransferNotFound()
    return _close(
        transfer, user=user, status=TransferStatus.DECLINED, action="transfer.declined", now=now
    )


def expire_transfers(*, now: datetime) -> int:
    """Write the status of pending transfers whose time is up (tidying only: an expired
    transfer is refused by its time whatever its status says). Returns how many."""
    return (
        selectors.open_transfers()
        .filter(expires_at__lte=now)
        .update(status=TransferStatus.EXPIRED, closed_at=now)
    )


# -- reads for callers ----------------------------------------------------------------------


def get_held_ticket(*, public_id, user) -> Ticket:
    """The ticket with ``public_id`` if ``user`` holds it; TicketNotFound otherwise."""
    if not getattr(user, "is_authenticated", False):
        raise TicketNotFound()
    try:
        return (
            Ticket.objects.select_related(
                "order_line__order", "session__event", "session__layout__venue"
            )
            .filter(held_by(user))
            .get(public_id=public_id)
        )
    except (Ticket.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise TicketNotFound() from exc


def get_transfer_for(*, transfer_id, user) -> Transfer:
    """A transfer ``user`` sent or received; TransferNotFound otherwise."""
    try:
        return (
            Transfer.objects.filter(selectors.visible_to(user))
            .select_related("ticket__order_line__order", "ticket__session__event")
            .get(pk=transfer_id)
        )
    except (Transfer.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise TransferNotFound() from exc
