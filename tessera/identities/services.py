"""Attendees of a fan's account and the identities bound to real-name tickets.

See the package docstring for how numbers are kept and the lock order. The plain document
number is never logged, audited or returned: audit entries carry the masked number only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from tessera.core import audit, locks
from tessera.core.clock import now as clock_now
from tessera.identities import documents
from tessera.identities.errors import (
    DOCUMENT_MESSAGES,
    AttendeeExists,
    AttendeeNotFound,
    AttendeesRequired,
    DocumentRejected,
    IdentityLimitReached,
    TooManyAttendees,
)
from tessera.identities.models import Attendee, BlindIndexKey, LineIdentity
from tessera.limits.errors import IdentityLimitReached as EventLimitReached
from tessera.limits.models import PurchaseLimits

MAX_ATTENDEES = 20
BLIND_INDEX_KEY_BYTES = 32


# -- the blind index ---------------------------------------------------------------------------

_blind_key: bytes | None = None


def _blind_index_key() -> bytes:
    """The HMAC key of the blind index (created once, sealed in the database)."""
    global _blind_key
    if _blind_key is None:
        row = BlindIndexKey.objects.order_by("id").first()
        if row is None:
            with transaction.atomic():
                locks.lock_name("identities.blind_index_key")  # one creator at a time
                row = BlindIndexKey.objects.order_by("id").first()
                if row is None:
                    row = BlindIndexKey.objects.create(
                        secret=os.urandom(BLIND_INDEX_KEY_BYTES), created_at=clock_now()
                    )
        _blind_key = bytes(row.secret)
    return _blind_key


def forget_blind_index_key() -> None:
    """Read the key again on next use (tests that start from an empty database)."""
    global _blind_key
    _blind_key = None


def blind_index(doc_type: str, number: str) -> str:
    """HMAC-SHA256 (hex) of a normalised number and its type under the blind-index key."""
    message = f"{doc_type}:{number}".encode()
    return hmac.new(_blind_index_key(), message, hashlib.sha256).hexdigest()


def check_document(*, doc_type, number, name, today) -> tuple[str, str, str]:
    """(name, doc type, normalised number) of valid input; raises DocumentRejected with the
    field and the reason in its details."""
    try:
        clean = documents.clean_name(name)
    except documents.DocumentInvalid as exc:
        message = DOCUMENT_MESSAGES[exc.reason]
        raise DocumentRejected(message, details={"name": exc.reason}) from None
    try:
        value = documents.validate(doc_type, number, today=today)
    except documents.DocumentInvalid as exc:
        field = "doc_type" if exc.reason == "type" else "number"
        raise DocumentRejected(DOCUMENT_MESSAGES[exc.reason], details={field: exc.reason}) from None
    return clean, doc_type, value


# -- the fan's attendees -----------------------------------------------------------------------


def add_attendee(*, user, name, doc_type, number, now: datetime) -> Attendee:
    """Add a person to the fan's attendee list. Raises DocumentRejected (naming the field),
    AttendeeExists (the same document already listed), TooManyAttendees."""
    clean, doc_type, value = check_document(
        doc_type=doc_type, number=number, name=name, today=now.date()
    )
    index = blind_index(doc_type, value)
    with transaction.atomic(durable=True):
        locks.lock_name(f"identities.attendees:{user.pk}")
        if Attendee.objects.filter(user=user).count() >= MAX_ATTENDEES:
            raise TooManyAttendees()
        if Attendee.objects.filter(user=user, blind_index=index).exists():
            raise AttendeeExists()
        try:
            with transaction.atomic():
                attendee = Attendee.objects.create(
                    user=user,
                    name=clean,
                    doc_type=doc_type,
                    number=value.encode(),
                    blind_index=index,
                    masked=documents.mask(value),
                    created_at=now,
                )
        except IntegrityError:
            raise AttendeeExists() from None
        audit.record(
            action="identities.attendee_added",
            obj=attendee,
            actor=user,
            now=now,
            data={"doc_type": doc_type, "masked": attendee.masked},
        )
    return attendee


def remove_attendee(*, user, attendee_id: int, now: datetime) -> None:
    """Remove one of the fan's attendees (tickets already bound keep their identity).
    Raises AttendeeNotFound for someone else's or an unknown attendee."""
    with transaction.atomic(durable=True):
        attendee = Attendee.objects.filter(user=user, pk=attendee_id).first()
        if attendee is None:
            raise AttendeeNotFound()
        audit.record(
            action="identities.attendee_removed",
            obj=attendee,
            actor=user,
            now=now,
            data={"masked": attendee.masked},
        )
        attendee.delete()


def forget_person(*, user) -> int:
    """Erase the account's attendees and the identities of its orders' tickets (the
    privacy erasure: called inside its transaction, once no ticket can be used) -> how
    many rows went."""
    attendees, _ = Attendee.objects.filter(user=user).delete()
    bound, _ = LineIdentity.objects.filter(line__order__user=user).delete()
    return attendees + bound


def list_attendees(*, user) -> list[Attendee]:
    return list(Attendee.objects.filter(user=user).defer("number"))


# -- binding identities to a real-name order ---------------------------------------------------


def _attendee_ids(attendees, count: int) -> list[int]:
    if not attendees or len(attendees) != count:
        raise AttendeesRequired(details={"expected": count, "given": len(attendees or [])})
    ids = []
    for index, item in enumerate(attendees):
        value = item.get("attendee_id") if isinstance(item, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise AttendeesRequired(details={"index": index})
        ids.append(value)
    return ids


def _lock_identity(session_id: int, index: str) -> None:
    locks.lock_name(f"identities.session:{session_id}:{index}")


def _lock_event_identity(event_id: int, index: str) -> None:
    locks.lock_name(f"identities.event:{event_id}:{index}")


def identity_limit_per_event(event_id: int) -> int:
    """The event's ``limits.PurchaseLimits.identity_per_event`` (0: no limit)."""
    found = PurchaseLimits.objects.filter(event_id=event_id, session__isnull=True).values_list(
        "identity_per_event", flat=True
    )
    return next(iter(found), 0)


def live_tickets(
    *,
    index: str,
    now: datetime,
    session_id: int | None = None,
    event_id: int | None = None,
    excluding_lines: list[int] = (),
) -> int:
    """Tickets of an identity in a session (or, with ``event_id``, in every session of an
    event) that count against its limit: lines of paid orders still active, and lines of
    orders awaiting payment whose places are still held (``excluding_lines``: the caller's
    own)."""
    where = Q(session_id=session_id) if event_id is None else Q(session__event_id=event_id)
    return (
        LineIdentity.objects.filter(where, blind_index=index, line__status="active")
        .exclude(line_id__in=list(excluding_lines))
        .filter(
            Q(line__order__status__in=("paid", "fulfilled", "partially_refunded"))
            | Q(
                line__order__status="pending_payment",
                line__unit__status="held",
                line__unit__hold_id=F("line__order__hold_id"),
                line__unit__hold_expires_at__gt=now,
            )
        )
        .count()
    )


def bind_identities(*, order, lines, session, user, attendees, now: datetime) -> None:
    """Bind one of the buyer's attendees to each line of a real-name order, inside the
    caller's (the order's) transaction.

    ``attendees`` holds one ``{"attendee_id": …}`` per line, in the lines' order. When the
    event limits tickets per identity (``limits.PurchaseLimits.identity_per_event``), each
    identity is first locked per event (ascending blind index) and its live tickets in every
    session of the event counted with this order's; then each is locked per session
    (ascending) and counted against ``session.max_tickets_per_identity``. Raises
    AttendeesRequired, AttendeeNotFound, ``limits.errors.IdentityLimitReached``
    (``limit_identity``) or IdentityLimitReached (naming the attendee); the caller's
    transaction then rolls back.
    """
    locks.require_transaction()
    ids = _attendee_ids(attendees, len(lines))
    found = {a.pk: a for a in Attendee.objects.filter(user=user, pk__in=set(ids))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise AttendeeNotFound(details={"attendee_id": missing[0]})
    wanted: dict[str, int] = {}
    for attendee_id in ids:
        index = found[attendee_id].blind_index
        wanted[index] = wanted.get(index, 0) + 1
    by_index = {found[i].blind_index: found[i] for i in ids}
    if event_limit := identity_limit_per_event(session.event_id):
        for index in sorted(wanted):
            _lock_event_identity(session.event_id, index)
            already = live_tickets(event_id=session.event_id, index=index, now=now)
            if already + wanted[index] > event_limit:
                raise EventLimitReached.for_attendee(
                    attendee=by_index[index],
                    limit=event_limit,
                    already=already,
                    requested=wanted[index],
                )
    limit = session.max_tickets_per_identity
    for index in sorted(wanted):
        _lock_identity(session.pk, index)
        already = live_tickets(session_id=session.pk, index=index, now=now)
        if already + wanted[index] > limit:
            attendee = by_index[index]
            raise IdentityLimitReached(
                _(
                    "%(name)s (%(number)s) already holds %(already)d of the %(limit)d "
                    "tickets one person may have for this session."
                )
                % {
                    "name": attendee.name,
                    "number": attendee.masked,
                    "already": already,
                    "limit": limit,
                },
                details={
                    "attendee_id": attendee.pk,
                    "limit": limit,
                    "already": already,
                    "requested": wanted[index],
                },
            )
    rows = []
    for line, attendee_id in zip(lines, ids, strict=True):
        attendee = found[attendee_id]
        line.attendee_name = attendee.name
        line.attendee_id_type = attendee.doc_type
        line.attendee_id_number = attendee.masked  # masked only: the number stays sealed
        rows.append(
            LineIdentity(
                line=line,
                session_id=session.pk,
                name=attendee.name,
                doc_type=attendee.doc_type,
                number=bytes(attendee.number),
                blind_index=attendee.blind_index,
                masked=attendee.masked,
            )
        )
    type(lines[0]).objects.bulk_update(
        lines, ["attendee_name", "attendee_id_type", "attendee_id_number"]
    )
    LineIdentity.objects.bulk_create(rows)


def late_sale_within_limits(*, session, line_ids: list[int], now: datetime) -> bool:
    """Whether the lines of a real-name order whose hold ran out may still be sold: each
    identity's other live tickets in the event (when it limits them) and in the session plus
    these stay within the limits. Takes the identities' locks (per event, then per session,
    each ascending) inside the caller's transaction (after the hold's: identities are always
    the last locks a flow takes)."""
    locks.require_transaction()
    wanted: dict[str, int] = {}
    for index in LineIdentity.objects.filter(line_id__in=line_ids).values_list(
        "blind_index", flat=True
    ):
        wanted[index] = wanted.get(index, 0) + 1
    if wanted and (event_limit := identity_limit_per_event(session.event_id)):
        for index in sorted(wanted):
            _lock_event_identity(session.event_id, index)
            others = live_tickets(
                event_id=session.event_id, index=index, now=now, excluding_lines=line_ids
            )
            if others + wanted[index] > event_limit:
                return False
    for index in sorted(wanted):
        _lock_identity(session.pk, index)
        others = live_tickets(session_id=session.pk, index=index, now=now, excluding_lines=line_ids)
        if others + wanted[index] > session.max_tickets_per_identity:
            return False
    return True


def identity_number(*, line_id: int) -> str | None:
    """The normalised document number of a line's identity (for signing its credential),
    None when the line has none. Kept in memory only."""
    row = LineIdentity.objects.filter(line_id=line_id).only("number").first()
    return bytes(row.number).decode() if row is not None else None


__all__ = [
    "add_attendee",
    "bind_identities",
    "blind_index",
    "list_attendees",
    "remove_attendee",
]
