"""Tickets: session keys, issuance, credentials, revocation and reissue.

``issue_tickets`` runs inside the payments app's transaction that marks the places sold, so
every entry point here opens ``transaction.atomic()`` without ``durable``: nested, it is a
savepoint of the caller's transaction.
"""

import os
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils.translation import gettext_lazy as _

from tessera.catalog.models import Session
from tessera.core import audit, locks
from tessera.core.clock import now as clock_now
from tessera.core.errors import DomainError, InvalidInput
from tessera.identities.services import identity_number
from tessera.inventory.models import UnitStatus
from tessera.orders.models import LineStatus, Order, OrderStatus
from tessera.tickets import credentials
from tessera.tickets.models import KeyPurpose, Revocation, SessionKey, Ticket, TicketStatus

# Re-exported: the purchase contract names these reads as part of tickets.services.
from tessera.tickets.selectors import public_keys_for_session, revocation_list

__all__ = [
    "OrderNotPaid",
    "PlaceNotSold",
    "TicketRevoked",
    "TooManyReissues",
    "credential_for",
    "credential_valid_until",
    "get_or_create_rotation_key",
    "get_or_create_signing_key",
    "issue_tickets",
    "public_keys_for_session",
    "reissue_ticket",
    "revocation_list",
    "revoke_ticket",
    "rotate_signing_key",
    "sign_credential",
    "ticket_rotation_key",
]

# A credential stays valid this long after the session ends, or after it starts when the
# session has no end time (late leavers, re-entry, disputes at the gate).
VALID_AFTER_END = timedelta(hours=6)
VALID_AFTER_START_WITHOUT_END = timedelta(hours=12)
HOLDER_NAME_MAX = 80
REASON_MAX = 40
_KEY_ATTEMPTS = 64  # each round lets at least one concurrent creator through
_ISSUABLE = (
    OrderStatus.PAID,
    OrderStatus.FULFILLED,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.REFUNDED,
)


class OrderNotPaid(DomainError):
    code = "order_not_paid"
    status = 409
    default_message = _("Tickets are issued only for paid orders.")


class PlaceNotSold(DomainError):
    code = "place_not_sold"
    status = 409
    default_message = _("A place of this order is not sold to it, so no ticket can be issued.")


class TicketRevoked(DomainError):
    code = "ticket_revoked"
    status = 409
    default_message = _("This ticket is no longer valid.")


class TooManyReissues(DomainError):
    code = "too_many_reissues"
    status = 409
    default_message = _("This ticket cannot be reissued again.")


# -- keys --------------------------------------------------------------------------------


def _active_key(session_id: int, purpose: str) -> SessionKey | None:
    return (
        SessionKey.objects.filter(session_id=session_id, purpose=purpose, retired_at__isnull=True)
        .order_by("-kid")
        .first()
    )


def _new_key_material(purpose: str) -> tuple[bytes, bytes]:
    if purpose == KeyPurpose.SIGNING:
        private = Ed25519PrivateKey.generate()
        secret = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return secret, public
    return os.urandom(32), b""


def _create_key(*, session_id: int, purpose: str, now: datetime) -> tuple[SessionKey, bool]:
    """Insert the session's key in use for ``purpose`` -> (key, True), or return the one a
    concurrent caller inserted first -> (key, False).

    ``kid`` is global (a credential names its key by kid alone): max + 1, retried when a
    concurrent insert took that number. The partial unique constraint on (session,
    purpose) for unretired keys stops a second key in use.
    """
    secret, public = _new_key_material(purpose)
    for _attempt in range(_KEY_ATTEMPTS):
        kid = (SessionKey.objects.aggregate(top=Max("kid"))["top"] or 0) + 1
        if kid > credentials.MAX_KEY_ID:
            raise RuntimeError("key ids are exhausted")
        try:
            with transaction.atomic():
                key = SessionKey.objects.create(
                    session_id=session_id,
                    kid=kid,
                    purpose=purpose,
                    secret=secret,
                    public_key=public,
                    created_at=now,
                )
            return key, True
        except IntegrityError:
            existing = _active_key(session_id, purpose)
            if existing is not None:
                return existing, False
    raise RuntimeError(f"no free key id after {_KEY_ATTEMPTS} attempts")


def get_or_create_signing_key(*, session: Session, now: datetime) -> SessionKey:
    """The session's Ed25519 key in use, created on first need."""
    key = _active_key(session.pk, KeyPurpose.SIGNING)
    if key is not None:
        return key
    with transaction.atomic():
        key, created = _create_key(session_id=session.pk, purpose=KeyPurpose.SIGNING, now=now)
        if not created:
            return key
        audit.record(
            action="tickets.signing_key_created",
            obj=key,
            now=now,
            organization_id=session.organization_id,
            data={"kid": key.kid, "session": session.pk},
        )
    return key


def rotate_signing_key(*, session: Session, now: datetime, actor=None) -> SessionKey:
    """Retire the session's signing key and create a new one.

    Credentials signed by the retired key keep verifying (its public key stays published);
    new credentials are signed by the new key.
    """
    with transaction.atomic():
        retired = list(
            SessionKey.objects.filter(
                session=session, purpose=KeyPurpose.SIGNING, retired_at__isnull=True
            ).values_list("kid", flat=True)
        )
        SessionKey.objects.filter(
            session=session, purpose=KeyPurpose.SIGNING, retired_at__isnull=True
        ).update(retired_at=now)
        key, _created = _create_key(session_id=session.pk, purpose=KeyPurpose.SIGNING, now=now)
        audit.record(
            action="tickets.signing_key_rotated",
            obj=key,
            actor=actor,
            now=now,
            organization_id=session.organization_id,
            data={"kid": key.kid, "retired": retired},
        )
    return key


def get_or_create_rotation_key(*, session: Session, now: datetime) -> SessionKey:
    """The session's secret for rotating codes (32 random bytes), created on first need."""
    key = _active_key(session.pk, KeyPurpose.ROTATION)
    if key is not None:
        return key
    with transaction.atomic():
        key, created = _create_key(session_id=session.pk, purpose=KeyPurpose.ROTATION, now=now)
        if not created:
            return key
        audit.record(
            action="tickets.rotation_key_created",
            obj=key,
            now=now,
            organization_id=session.organization_id,
            data={"kid": key.kid, "session": session.pk},
        )
    return key


def ticket_rotation_key(*, ticket: Ticket, now: datetime) -> bytes:
    """The ticket's own rotating-code key (see ``credentials.derive_ticket_key``)."""
    key = get_or_create_rotation_key(session=ticket.session, now=now)
    return credentials.derive_ticket_key(bytes(key.secret), ticket.pk)


# -- issuance ----------------------------------------------------------------------------


def _buyer_name(user) -> str:
    return (user.display_name or user.get_full_name() or user.username).strip()


def issue_tickets(*, order: Order, now: datetime) -> list[Ticket]:
    """One ticket per active line of a paid order; the holder is the line's attendee or
    else the buyer. Idempotent: a second call creates nothing and returns the same tickets.

    Called inside the transaction that marks the order's places sold. Raises OrderNotPaid
    for an order that was never paid and PlaceNotSold when a line's place is not sold to
    that line (nothing is issued then).
    """
    with transaction.atomic():
        # Lock the order row only: joined rows (the session!) stay unlocked.
        order = locks.lock_rows(Order.objects).get(pk=order.pk)
        if order.status not in _ISSUABLE:
            raise OrderNotPaid()
        lines = list(
            order.lines.filter(status=LineStatus.ACTIVE).select_related("unit").order_by("id")
        )
        issued = set(
            Ticket.objects.filter(order_line__order=order).values_list("order_line_id", flat=True)
        )
        missing = [line for line in lines if line.pk not in issued]
        if missing:
            for line in missing:
                unit = line.unit
                if unit.status != UnitStatus.SOLD or unit.order_line_id != line.pk:
                    raise PlaceNotSold(details={"line": line.pk})
            session = Session.objects.select_related("event").get(pk=order.session_id)
            get_or_create_signing_key(session=session, now=now)
            # A pass's order has a line in each covered session: each ticket is its place's
            # session's, signed by that session's key.
            for other_id in sorted({line.unit.session_id for line in missing} - {session.pk}):
                get_or_create_signing_key(session=Session.objects.get(pk=other_id), now=now)
            buyer = _buyer_name(order.user)
            created = Ticket.objects.bulk_create(
                Ticket(
                    order_line=line,
                    session_id=line.unit.session_id,
                    unit_id=line.unit_id,
                    holder_name=((line.attendee_name or "").strip() or buyer)[:HOLDER_NAME_MAX],
                    issued_at=now,
                )
                for line in missing
            )
            audit.record(
                action="tickets.issued",
                obj=order,
                now=now,
                organization_id=session.event.organization_id,
                data={"tickets": [t.pk for t in created]},
            )
        return list(Ticket.objects.filter(order_line__order=order).order_by("order_line_id"))


def credential_valid_until(session: Session) -> datetime:
    """Session end + 6 h, or start + 12 h when the session has no end time."""
    if session.ends_at is not None:
        return session.ends_at + VALID_AFTER_END
    return session.starts_at + VALID_AFTER_START_WITHOUT_END


def credential_for(*, ticket: Ticket, now: datetime | None = None) -> str:
    """The signed credential of the ticket's current version, for its QR code: valid from
    issuance to ``credential_valid_until``. Signing is deterministic, so the same ticket
    version under the same key always gives the same text.

    Raises TicketRevoked for a revoked ticket.
    """
    if ticket.status != TicketStatus.VALID:
        raise TicketRevoked()
    session = ticket.session
    key = get_or_create_signing_key(session=session, now=now or clock_now())
    digest = None
    if session.real_name_required:
        number = identity_number(line_id=ticket.order_line_id)
        if number is not None:
            digest = credentials.identity_digest(number, ticket.pk)
    return sign_credential(
        ticket_id=ticket.pk,
        session_id=session.pk,
        unit_id=ticket.unit_id,
        issued_at=ticket.issued_at,
        valid_until=credential_valid_until(session),
        holder_name=ticket.holder_name,
        version=ticket.version,
        key=key,
        holder_digest=digest,
    )


def sign_credential(
    *,
    ticket_id: int,
    session_id: int,
    unit_id: int,
    issued_at: datetime,
    valid_until: datetime,
    holder_name: str,
    version: int,
    key: SessionKey,
    holder_digest: bytes | None = None,
) -> str:
    """The credential text of one ticket version under ``key`` (the session's signing key),
    from the ticket's values in hand (``credential_for`` reads them from a Ticket). The
    holder digest is the name's unless given (a real-name ticket's identity digest)."""
    payload = credentials.Payload(
        ticket_id=ticket_id,
        session_id=session_id,
        unit_id=unit_id,
        not_before=issued_at,
        not_after=valid_until,
        holder_digest=holder_digest or credentials.holder_digest(holder_name, ticket_id),
        version=version,
        key_id=key.kid,
    )
    return credentials.sign(payload, bytes(key.secret))


# -- revocation and reissue --------------------------------------------------------------


def _clean_text(value: str, *, field: str, max_length: int, message) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text or len(text) > max_length:
        raise InvalidInput(message, details={field: "required" if not text else "too_long"})
    return text


def _refresh(target: Ticket, source: Ticket) -> None:
    for field in ("status", "version", "holder_name", "holder_id", "revoked_at"):
        setattr(target, field, getattr(source, field))


def revoke_ticket(*, ticket: Ticket, reason: str, now: datetime, actor=None) -> Ticket:
    """Make the ticket invalid (refund, cancellation): its version is put on the session's
    revocation list and bumped, its status becomes revoked. Revoking a revoked ticket
    changes nothing. ``reason`` is a short code such as ``refund`` (at most 40 characters).
    """
    reason = _clean_text(
        reason,
        field="reason",
        max_length=REASON_MAX,
        message=_("Give a reason of at most 40 characters."),
    )
    with transaction.atomic():
        locked = locks.lock_rows(Ticket.objects).get(pk=ticket.pk)
        if locked.status == TicketStatus.REVOKED:
            _refresh(ticket, locked)
            return locked
        revoked_version = locked.version
        Revocation.objects.create(
            session_id=locked.session_id,
            ticket_id=locked.pk,
            version=revoked_version,
            reason=reason,
            at=now,
        )
        locked.version = revoked_version + 1
        locked.status = TicketStatus.REVOKED
        locked.revoked_at = now
        locked.save(update_fields=["version", "status", "revoked_at"])
        audit.record(
            action="ticket.revoked",
            obj=locked,
            actor=actor,
            now=now,
            organization_id=_organization_id(locked),
            data={"reason": reason, "revoked_version": revoked_version},
        )
    _refresh(ticket, locked)
    return locked


def reissue_ticket(
    *, ticket: Ticket, holder_name: str, now: datetime, actor=None, holder=None
) -> Ticket:
    """Give the ticket to a new holder (transfer): the current credential version is
    revoked and the next version, carrying the new holder, becomes the valid one. With
    ``holder`` (an account), that account holds the ticket from now on (``Ticket.holder``).

    Raises InvalidInput for an empty or too long name, TicketRevoked for a revoked ticket.
    """
    holder_name = _clean_text(
        holder_name,
        field="holder_name",
        max_length=HOLDER_NAME_MAX,
        message=_("Enter the new holder's name (at most 80 characters)."),
    )
    with transaction.atomic():
        locked = locks.lock_rows(Ticket.objects).get(pk=ticket.pk)
        if locked.status != TicketStatus.VALID:
            raise TicketRevoked()
        if locked.version >= credentials.MAX_VERSION:
            raise TooManyReissues()
        old_version = locked.version
        Revocation.objects.create(
            session_id=locked.session_id,
            ticket_id=locked.pk,
            version=old_version,
            reason="reissued",
            at=now,
        )
        locked.version = old_version + 1
        locked.holder_name = holder_name
        fields = ["version", "holder_name"]
        if holder is not None:
            locked.holder = holder
            fields.append("holder")
        locked.save(update_fields=fields)
        data = {"revoked_version": old_version, "version": locked.version}
        if holder is not None:
            data["holder"] = holder.pk
        audit.record(
            action="ticket.reissued",
            obj=locked,
            actor=actor,
            now=now,
            organization_id=_organization_id(locked),
            data=data,
        )
    _refresh(ticket, locked)
    return locked


def redate_tickets(*, order_ids: list[int], now: datetime, actor=None) -> int:
    """Issue the next credential version of every valid ticket of these orders, holder
    unchanged (their session moved: the new version carries the new validity), revoking the
    current one, in a few statements for many tickets (a postponement's batch). Returns how
    many tickets. Takes the tickets' locks (ascending id) inside the caller's transaction,
    after the orders' (the refund's lock order).

    Raises TooManyReissues, with nothing changed, when a ticket has no version left."""
    locks.require_transaction()
    found = list(
        locks.lock_rows(
            Ticket.objects.filter(order_line__order_id__in=order_ids, status=TicketStatus.VALID)
        )
        .order_by("pk")
        .values_list("pk", "session_id", "version")
    )
    if not found:
        return 0
    if any(version >= credentials.MAX_VERSION for _pk, _session, version in found):
        raise TooManyReissues()
    Revocation.objects.bulk_create(
        Revocation(session_id=session_id, ticket_id=pk, version=version, reason="redated", at=now)
        for pk, session_id, version in found
    )
    Ticket.objects.filter(pk__in=[pk for pk, _session, _version in found]).update(
        version=F("version") + 1
    )
    session_id = found[0][1]
    audit.record(
        action="tickets.redated",
        obj=Session.objects.get(pk=session_id),
        actor=actor,
        now=now,
        organization_id=Session.objects.filter(pk=session_id)
        .values_list("event__organization_id", flat=True)
        .get(),
        data={"orders": len(order_ids), "tickets": len(found)},
    )
    return len(found)


def revoke_tickets(
    *, ticket_ids: list[int], reason: str, now: datetime, actor=None, organization_id=None
) -> int:
    """``revoke_ticket`` for many tickets in a few statements (a session change's batch):
    each current version goes on its session's revocation list, the version is bumped and
    the ticket is revoked; tickets already revoked are left as they are. Takes the tickets'
    locks (ascending id) inside the caller's transaction. Returns how many were revoked."""
    locks.require_transaction()
    reason = _clean_text(
        reason,
        field="reason",
        max_length=REASON_MAX,
        message=_("Give a reason of at most 40 characters."),
    )
    found = list(
        locks.lock_rows(Ticket.objects.filter(pk__in=ticket_ids, status=TicketStatus.VALID))
        .order_by("pk")
        .values_list("pk", "session_id", "version")
    )
    if not found:
        return 0
    Revocation.objects.bulk_create(
        (
            Revocation(session_id=session_id, ticket_id=pk, version=version, reason=reason, at=now)
            for pk, session_id, version in found
        ),
        batch_size=1000,
    )
    Ticket.objects.filter(pk__in=[pk for pk, _s, _v in found]).update(
        version=F("version") + 1, status=TicketStatus.REVOKED, revoked_at=now
    )
    audit.record_many(
        action="ticket.revoked",
        objects=[
            (Ticket(pk=pk), {"reason": reason, "revoked_version": version})
            for pk, _s, version in found
        ],
        actor=actor,
        organization_id=organization_id,
        now=now,
    )
    return len(found)


def reissue_for_new_places(
    *, unit_by_line: dict[int, int], now: datetime, actor=None, organization_id=None
) -> int:
    """The session moved to another venue: every valid ticket of these order lines gets its
    line's new place (line id → unit id) and the next credential version, the current one
    revoked, in a few statements (a move's batch). Takes the tickets' locks (ascending id)
    inside the caller's transaction. Returns how many tickets. Raises TooManyReissues, with
    nothing changed, when a ticket has no version left."""
    locks.require_transaction()
    found = list(
        locks.lock_rows(
            Ticket.objects.filter(order_line_id__in=list(unit_by_line), status=TicketStatus.VALID)
        )
        .order_by("pk")
        .values_list("pk", "session_id", "version", "order_line_id", "unit_id")
    )
    if not found:
        return 0
    if any(version >= credentials.MAX_VERSION for _pk, _s, version, _l, _u in found):
        raise TooManyReissues()
    Revocation.objects.bulk_create(
        (
            Revocation(session_id=session_id, ticket_id=pk, version=version, reason="moved", at=now)
            for pk, session_id, version, _line, _unit in found
        ),
        batch_size=1000,
    )
    Ticket.objects.bulk_update(
        [
            Ticket(pk=pk, version=version + 1, unit_id=unit_by_line[line_id])
            for pk, _s, version, line_id, _unit in found
        ],
        ["version", "unit"],
        batch_size=1000,
    )
    audit.record_many(
        action="ticket.moved",
        objects=[
            (
                Ticket(pk=pk),
                {"revoked_version": version, "from_unit": unit, "to_unit": unit_by_line[line]},
            )
            for pk, _s, version, line, unit in found
        ],
        actor=actor,
        organization_id=organization_id,
        now=now,
    )
    return len(found)


def _organization_id(ticket: Ticket) -> int:
    return (
        Session.objects.filter(pk=ticket.session_id)
        .values_list("event__organization_id", flat=True)
        .get()
    )


# -- a person's deletion request -----------------------------------------------------------


def anonymise_holders(*, user, now: datetime) -> int:
    """Remove the holder names from the tickets of ``user``'s orders (PIPL deletion) -> the
    number of tickets changed. The caller makes sure none of them can still be used: the
    holder name is part of a credential's holder digest."""
    return (
        Ticket.objects.filter(order_line__order__user=user)
        .exclude(holder_name="")
        .update(holder_name="")
    )


def has_usable_tickets(*, user, now: datetime) -> bool:
    """Whether ``user`` holds a valid ticket whose credential is still within its validity
    (the session has not ended, plus the margin of ``credential_valid_until``)."""
    return Ticket.objects.filter(
        Q(session__ends_at__gt=now - VALID_AFTER_END)
        | Q(
            session__ends_at__isnull=True,
            session__starts_at__gt=now - VALID_AFTER_START_WITHOUT_END,
        ),
        order_line__order__user=user,
        status=TicketStatus.VALID,
    ).exists()
