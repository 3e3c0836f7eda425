"""Sales channels selling through the API: their keys, and the one-call paid order (T5).

A distributor's system calls ``POST /api/v1/channel/orders`` with its API key and an
``Idempotency-Key``; the answer, sent only after the transaction committed, is the paid
order with its tickets (each with the credential its QR code carries). The order is settled
on the channel's account: a ledger charge referenced ``channel:<code>``, settled with the
channel later. The channel sells from its own allocation and the open pool, bounded by the
session's per-order limit, not by the per-account limit of fans, and without the waiting
room.

Keys are ``tsk_<prefix>_<secret>`` (sandbox keys ``tsk_test_<prefix>_<secret>``): the prefix
(public) finds the key, the SHA-256 digest of the whole key (stored; the key itself never
is) proves it. A verified key is remembered by each process for ``KEY_CACHE_SECONDS``: a
revoked key stops working within that time.

Every authenticated call passes ``settings.CHANNEL_KEY_GUARD`` (tessera.apikeys: the key's
own requests-per-minute bucket, 429 ``rate_limited``) and is noted for the call log
(``noted_principal``, ``record_call``: ``settings.CHANNEL_CALL_RECORDER``, counted in
memory and written later, so a call costs no statement of its own). A sandbox key sells
only sessions of a sandbox world (``Organization.is_sandbox``), a live key never sells them:
whether a session is a sandbox one never changes, so each process remembers it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import User
from tessera.catalog.models import Session
from tessera.core import audit
from tessera.core.errors import DomainError
from tessera.core.idempotency import IdempotencyKeyReused
from tessera.core.models import IdempotencyRecord
from tessera.inventory import seatmap
from tessera.inventory.errors import too_few_places
from tessera.inventory.models import SalesChannel
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderLine, OrderStatus
from tessera.sale import fastpath
from tessera.sale.choices import PlaceChoice, hold_places, unit_ids_of
from tessera.sale.errors import RealNameNotSupported
from tessera.sale.models import ChannelKey
from tessera.tickets.models import Ticket
from tessera.tickets.services import (
    credential_valid_until,
    get_or_create_signing_key,
    issue_tickets,
    sign_credential,
)

KEY_CACHE_SECONDS = 10.0
SIGNING_CACHE_SECONDS = 60.0
SCOPE = "sale.channel_order"
_PREFIX_LENGTH = 10


class ChannelKeyInvalid(DomainError):
    code = "channel_key_invalid"
    status = 401
    default_message = _("This API key is not valid, has expired or was revoked.")


class SandboxKeyLiveSession(DomainError):
    code = "sandbox_key"
    status = 403
    default_message = _(
        "A sandbox API key sells only the sessions of your sandbox world; use a live key."
    )


class ChannelNotAllowed(DomainError):
    code = "channel_not_allowed"
    status = 403
    default_message = _("This sales channel may not sell this session.")


# -- keys -----------------------------------------------------------------------------------------


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _channel_account(channel: SalesChannel) -> User:
    """The user the channel's orders are placed under, created on first need: it cannot
    sign in (no usable password, inactive)."""
    if channel.account_id is not None:
        return channel.account
    account = User(
        username=f"channel:{channel.code}"[:150],
        display_name=channel.name[:80],
        is_active=False,
    )
    account.set_unusable_password()
    account.save()
    SalesChannel.objects.filter(pk=channel.pk).update(account=account)
    channel.account = account
    return account


def issue_key(
    *,
    channel: SalesChannel,
    name: str,
    actor,
    now: datetime,
    expires_at: datetime | None = None,
    scopes: list[str] | None = None,
    rate_limit_per_minute: int = 0,
    is_sandbox: bool = False,
    rotated_from: ChannelKey | None = None,
) -> tuple[ChannelKey, str]:
    """A new API key for the channel: (its row, the key). The key is returned only here.
    ``scopes`` (tessera.partners.scopes) default to all of them; ``rate_limit_per_minute``
    0 means no limit of the key's own; a sandbox key reads ``tsk_test_…``."""
    from tessera.partners.scopes import ALL_SCOPES, SCOPES

    name = (name or "").strip()[:80] or "API"
    scopes = ALL_SCOPES if scopes is None else [s for s in ALL_SCOPES if s in set(scopes)]
    assert all(s in SCOPES for s in scopes)
    with transaction.atomic():
        channel = SalesChannel.objects.select_for_update().get(pk=channel.pk)
        _channel_account(channel)
        while True:
            prefix = secrets.token_hex(_PREFIX_LENGTH // 2)
            if not ChannelKey.objects.filter(prefix=prefix).exists():
                break
        marker = "test_" if is_sandbox else ""
        key = f"tsk_{marker}{prefix}_{secrets.token_urlsafe(32)}"
        row = ChannelKey.objects.create(
            channel=channel,
            name=name,
            prefix=prefix,
            digest=_digest(key),
            created_at=now,
            created_by=actor if getattr(actor, "pk", None) else None,
            expires_at=expires_at,
            scopes=scopes,
            rate_limit_per_minute=max(0, int(rate_limit_per_minute or 0)),
            is_sandbox=is_sandbox,
            rotated_from=rotated_from,
        )
        audit.record(
            action="channel_key.issued",
            obj=row,
            actor=actor,
            organization_id=channel.organization_id,
            now=now,
            data={
                "channel": channel.code,
                "prefix": prefix,
                "name": name,
                "scopes": scopes,
                "sandbox": is_sandbox,
                "rotated_from": rotated_from.prefix if rotated_from else None,
            },
        )
    return row, key


def revoke_key(*, key: ChannelKey, actor, now: datetime) -> ChannelKey:
    """Stop the key (every process within KEY_CACHE_SECONDS). Revoking twice changes
    nothing."""
    with transaction.atomic():
        row = ChannelKey.objects.select_for_update().select_related("channel").get(pk=key.pk)
        if row.revoked_at is None:
            row.revoked_at = now
            row.save(update_fields=["revoked_at"])
            audit.record(
                action="channel_key.revoked",
                obj=row,
                actor=actor,
                organization_id=row.channel.organization_id,
                now=now,
                data={"prefix": row.prefix},
            )
    forget_keys()
    return row


def expire_key(*, key: ChannelKey, expires_at: datetime, actor, now: datetime) -> ChannelKey:
    """Let the key work until ``expires_at`` (a rotation's overlap), never longer than it
    already would. Every process sees the new end within KEY_CACHE_SECONDS."""
    with transaction.atomic():
        row = ChannelKey.objects.select_for_update().select_related("channel").get(pk=key.pk)
        if row.revoked_at is None and (row.expires_at is None or row.expires_at > expires_at):
            row.expires_at = expires_at
            row.save(update_fields=["expires_at"])
            audit.record(
                action="channel_key.expiry_set",
                obj=row,
                actor=actor,
                organization_id=row.channel.organization_id,
                now=now,
                data={"prefix": row.prefix, "expires_at": expires_at.isoformat()},
            )
    forget_keys()
    return row


def forget_keys() -> None:
    """Forget the keys this process remembers (a revocation or a new expiry)."""
    with _principals_lock:
        _principals.clear()


@dataclass(frozen=True)
class ChannelPrincipal:
    """Who calls: the key and its channel, as the order needs them."""

    key_id: int
    channel_id: int
    channel_code: str
    channel_name: str
    organization_id: int
    account_id: int
    expires_at: datetime | None
    scopes: tuple[str, ...] = ()
    rate_limit_per_minute: int = 0
    is_sandbox: bool = False


_principals: dict[str, tuple[float, ChannelPrincipal]] = {}
_principals_lock = threading.Lock()


def key_from_header(authorization: str) -> str:
    """The key of an ``Authorization: Bearer <key>`` header ('' when there is none)."""
    scheme, _space, value = (authorization or "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _parse(key) -> tuple[str, bool] | None:
    """(prefix, is_sandbox) of a well-formed key, else None."""
    if not isinstance(key, str) or len(key) >= 200 or not key.startswith("tsk_"):
        return None
    rest = key[4:]
    sandbox = rest.startswith("test_")
    if sandbox:
        rest = rest[5:]
    prefix, sep = rest[:_PREFIX_LENGTH], rest[_PREFIX_LENGTH : _PREFIX_LENGTH + 1]
    if sep != "_" or len(rest) <= _PREFIX_LENGTH + 1 or "_" in prefix:
        return None
    return prefix, sandbox


def authenticate(key: str, *, now: datetime) -> ChannelPrincipal:
    """The channel of an API key; raises ChannelKeyInvalid for anything else, and what
    ``settings.CHANNEL_KEY_GUARD`` raises (RateLimited past the key's own rate)."""
    parsed = _parse(key)
    if parsed is None:
        raise ChannelKeyInvalid()
    prefix, sandbox = parsed
    digest = _digest(key)
    tick = time.monotonic()
    with _principals_lock:
        hit = _principals.get(digest)
    if hit is not None and hit[0] > tick:
        principal = hit[1]
    else:
        row = (
            ChannelKey.objects.select_related("channel")
            .filter(prefix=prefix, revoked_at__isnull=True, channel__is_active=True)
            .first()
        )
        if (
            row is None
            or not hmac.compare_digest(row.digest, digest)
            or row.channel.account_id is None
            or row.is_sandbox != sandbox
        ):
            raise ChannelKeyInvalid()
        principal = ChannelPrincipal(
            key_id=row.pk,
            channel_id=row.channel_id,
            channel_code=row.channel.code,
            channel_name=row.channel.name,
            organization_id=row.channel.organization_id,
            account_id=row.channel.account_id,
            expires_at=row.expires_at,
            scopes=tuple(row.scopes or ()),
            rate_limit_per_minute=row.rate_limit_per_minute,
            is_sandbox=row.is_sandbox,
        )
        with _principals_lock:
            if len(_principals) > 10_000:
                _principals.clear()
            _principals[digest] = (tick + KEY_CACHE_SECONDS, principal)
    if principal.expires_at is not None and principal.expires_at <= now:
        raise ChannelKeyInvalid()
    _called.principal = principal
    guard = _hook("CHANNEL_KEY_GUARD")
    if guard is not None:
        guard(principal)
    return principal


def principal_for_channel(channel: SalesChannel) -> ChannelPrincipal:
    """The channel itself as the principal of an order, for its own pages in the partner
    console (signed-in members, no API key: ``key_id`` 0). Creates the channel's account
    on first need, as issuing its first key does."""
    with transaction.atomic():
        locked = SalesChannel.objects.select_for_update().get(pk=channel.pk)
        account = _channel_account(locked)
    return ChannelPrincipal(
        key_id=0,
        channel_id=locked.pk,
        channel_code=locked.code,
        channel_name=locked.name,
        organization_id=locked.organization_id,
        account_id=account.pk,
        expires_at=None,
        scopes=("orders",),
        is_sandbox=bool(locked.organization.is_sandbox),
    )


# -- who called (the call log) ------------------------------------------------------------------

_called = threading.local()
_hooks: dict[str, object] = {}


def _hook(name: str):
    """``settings.<name>`` imported once per process (None when unset)."""
    path = getattr(settings, name, "") or ""
    hit = _hooks.get(name)
    if hit is None or hit[0] != path:
        hit = (path, import_string(path) if path else None)
        _hooks[name] = hit
    return hit[1]


def noted_principal() -> ChannelPrincipal | None:
    """The principal ``authenticate`` verified last in this thread (even when the call was
    then refused), for the call log."""
    return getattr(_called, "principal", None)


def forget_principal() -> None:
    """Start a request: nobody has called yet."""
    _called.principal = None


def record_call(endpoint: str, status: int, code: str = "") -> None:
    """Count the call of the principal noted in this thread (none: nothing) under the
    endpoint's path template and the answer's status (``settings.CHANNEL_CALL_RECORDER``),
    then forget the principal."""
    principal = noted_principal()
    if principal is None:
        return
    _called.principal = None
    recorder = _hook("CHANNEL_CALL_RECORDER")
    if recorder is not None:
        recorder(principal, endpoint=endpoint, status=status, code=code)


def forget() -> None:
    """Forget every remembered key and signing key (tests; a revocation does it itself)."""
    with _principals_lock:
        _principals.clear()
    _signing_cache.clear()
    _sandbox_sessions.clear()


# -- live and sandbox worlds ----------------------------------------------------------------------

_sandbox_sessions: dict[int, bool] = {}


def session_is_sandbox(session_id: int) -> bool | None:
    """Whether the session belongs to a sandbox world (None: no such session). Remembered
    for good by the process: an organization's ``is_sandbox`` never changes."""
    hit = _sandbox_sessions.get(session_id)
    if hit is not None:
        return hit
    found = (
        Session.objects.filter(pk=session_id)
        .values_list("event__organization__is_sandbox", flat=True)
        .first()
    )
    if found is None:
        return None
    if len(_sandbox_sessions) > 100_000:
        _sandbox_sessions.clear()
    _sandbox_sessions[session_id] = bool(found)
    return bool(found)


def check_world(principal: ChannelPrincipal, session_id: int) -> None:
    """A live key never sells a sandbox session (it is not there for it: SessionNotFound),
    a sandbox key sells nothing else (SandboxKeyLiveSession)."""
    from tessera.sale.services import SessionNotFound

    sandbox = session_is_sandbox(session_id)
    if sandbox is None:
        return  # unknown: the sale answers it as it always does
    if sandbox and not principal.is_sandbox:
        raise SessionNotFound()
    if principal.is_sandbox and not sandbox:
        raise SandboxKeyLiveSession()


# -- the order ------------------------------------------------------------------------------------


@dataclass
class IssuedTicket:
    id: int
    line_id: int
    unit_id: int
    holder_name: str
    version: int
    credential: str

    @property
    def number(self) -> str:
        return f"{self.id:010d}"


@dataclass
class ChannelSale:
    order: Order
    lines: list[OrderLine]
    tickets: list[IssuedTicket]
    replayed: bool = False


def request_digest(payload: dict) -> str:
    from tessera.core.idempotency import request_hash

    return request_hash(method="POST", path="/api/v1/channel/orders", payload=payload)


def channel_order(
    *,
    principal: ChannelPrincipal,
    session_id: int,
    choice: PlaceChoice,
    idempotency_key: str,
    digest: str,
    now: datetime,
    attendees: list | None = None,
    buyer_name: str = "",
    email: str = "",
    phone: str = "",
) -> ChannelSale:
    """Sell places to a channel's buyer, paid on the channel's account, tickets issued, in
    one transaction (T5). The same ``idempotency_key`` with the same request (``digest``)
    answers the same order again; with another request, IdempotencyKeyReused.

    Raises what holding raises (NotOnSale, PlacesUnavailable, LimitExceeded for the per-order
    limit, PlacesUnknown, ScopeInvalid), AttendeesInvalid, ContactInvalid,
    RealNameNotSupported (a real-name session: identities are bound on the buyer's own
    checkout only).
    """
    check_world(principal, session_id)
    email, phone = orders.clean_contact(email=email, phone=phone)
    buyer_name = orders.clean_attendees([buyer_name], 1)[0]
    for attempt in ("fast", "services"):
        if attempt == "fast" and connection.vendor != "postgresql":
            continue
        number = orders.new_order_number(now)
        try:
            with transaction.atomic():
                if not _claim(principal, idempotency_key, digest, number, now):
                    break  # answered before (or being answered): replay below
                if attempt == "fast":
                    sale = _sell_fast(
                        principal,
                        session_id,
                        choice,
                        number,
                        now,
                        attendees,
                        buyer_name,
                        email,
                        phone,
                    )
                else:
                    sale = _sell_with_services(
                        principal, session_id, choice, now, attendees, buyer_name, email, phone
                    )
                    IdempotencyRecord.objects.filter(
                        user_id=principal.account_id, scope=SCOPE, key=idempotency_key
                    ).update(response={"number": sale.order.number})
        except fastpath.Declined:
            continue
        transaction.on_commit(lambda s=session_id: seatmap.bump_version(s))
        return sale
    return _replay(principal, idempotency_key, digest, now)


def _claim(principal, key: str, digest: str, number: str, now: datetime) -> bool:
    """Record the idempotency key with this request's answer (the order number) — True —
    or find it taken — False. A concurrent request with the same key waits here until the
    first commits."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_idempotencyrecord "
            "(user_id, scope, key, request_hash, status_code, response, created_at) "
            "VALUES (%s, %s, %s, %s, 201, %s, %s) "
            "ON CONFLICT (user_id, scope, key) DO NOTHING RETURNING id",
            [principal.account_id, SCOPE, key, digest, json.dumps({"number": number}), now],
        )
        return cursor.fetchone() is not None


def _replay(principal, key: str, digest: str, now: datetime) -> ChannelSale:
    record = IdempotencyRecord.objects.get(user_id=principal.account_id, scope=SCOPE, key=key)
    if record.request_hash != digest:
        raise IdempotencyKeyReused()
    order = Order.objects.get(number=record.response["number"], channel_id=principal.channel_id)
    lines = list(order.lines.order_by("id"))
    tickets = list(Ticket.objects.filter(order_line__order=order).order_by("order_line_id"))
    key_row, valid_until = _signing(order.session_id, now)
    return ChannelSale(
        order=order,
        lines=lines,
        tickets=[
            _issued(
                t.pk,
                t.order_line_id,
                t.unit_id,
                t.holder_name,
                t.version,
                t.issued_at,
                order.session_id,
                valid_until,
                key_row,
            )
            for t in tickets
        ],
        replayed=True,
    )


def _sell_with_services(
    principal, session_id, choice, now, attendees, buyer_name, email, phone
) -> ChannelSale:
    from tessera.sale.services import public_session

    session = public_session(session_id, include_sandbox=principal.is_sandbox)
    if session.real_name_required:  # the fast path declined it (``fastpath.ServicesOnly``)
        raise RealNameNotSupported()
    channel = SalesChannel.objects.get(pk=principal.channel_id)
    account = User.objects.get(pk=principal.account_id)
    hold = hold_places(session=session, user=account, choice=choice, now=now, channel=channel)
    names = attendees or ([buyer_name] * hold.quantity if buyer_name else None)
    order = orders.place_order(
        hold=hold, user=account, attendees=names, email=email, phone=phone, now=now
    )
    orders.mark_order_paid(
        order=order,
        payment_id=None,
        amount=order.total,
        currency=order.currency,
        now=now,
        reference=f"channel:{principal.channel_code}",
    )
    tickets = issue_tickets(order=order, now=now)
    order = orders.fulfil_order(order=order, now=now)
    key_row, valid_until = _signing(session_id, now)
    return ChannelSale(
        order=order,
        lines=list(order.lines.order_by("id")),
        tickets=[
            _issued(
                t.pk,
                t.order_line_id,
                t.unit_id,
                t.holder_name,
                t.version,
                t.issued_at,
                session_id,
                valid_until,
                key_row,
            )
            for t in tickets
        ],
    )


def _sell_fast(
    principal, session_id, choice, number, now, attendees, buyer_name, email, phone
) -> ChannelSale:
    stub = Session(pk=session_id)
    unit_ids = unit_ids_of(stub, choice)
    if unit_ids is None and (choice.best_available or choice.zone_id is None):
        raise fastpath.Declined  # best available and standing sections: the services
    quantity = len(unit_ids) if unit_ids is not None else choice.quantity
    names = orders.clean_attendees(attendees, quantity)
    if buyer_name:
        names = [name or buyer_name for name in names]
    try:
        taken = fastpath.take_places(
            session_id=session_id,
            user_id=principal.account_id,
            now=now,
            quantity=quantity,
            unit_ids=unit_ids,
            zone_id=choice.zone_id,
            section_id=choice.section_id,
            channel_id=principal.channel_id,
            check_account_limit=False,
        )
    except fastpath.SoldOut:
        raise too_few_places(quantity, zone_id=choice.zone_id) from None
    total = taken.total()
    sold = fastpath.record_sold_order(
        taken=taken,
        number=number,
        session_id=session_id,
        account_id=principal.account_id,
        channel_id=principal.channel_id,
        email=email,
        phone=phone,
        attendees=names,
        holder_fallback=principal.channel_name,
        reference=f"channel:{principal.channel_code}",
        now=now,
        audit_hold={
            "how": "units" if unit_ids is not None else "quantity",
            "units": sorted(p.unit_id for p in taken.places),
            "channel": principal.channel_code,
        },
    )
    order = Order(
        pk=sold.order_id,
        number=number,
        user_id=principal.account_id,
        session_id=session_id,
        hold_id=taken.hold_id,
        channel_id=principal.channel_id,
        status=OrderStatus.FULFILLED,
        total=total,
        currency=taken.currency,
        email=email,
        phone=phone,
        created_at=now,
        expires_at=taken.expires_at,
        paid_at=now,
        fulfilled_at=now,
    )
    lines = [
        OrderLine(
            pk=sold.line_ids[place.unit_id],
            order_id=order.pk,
            unit_id=place.unit_id,
            zone_id=place.zone_id,
            section_code=place.section_code,
            section_name=place.section_name,
            row_label=place.row_label,
            seat_label=place.seat_label,
            zone_name=place.zone_name,
            price=place.price,
            currency=taken.currency,
            attendee_name=name,
        )
        for place, name in zip(taken.places, names, strict=True)
    ]
    key_row, valid_until = _signing(session_id, now)
    tickets = [
        _issued(ticket_id, line_id, unit_id, holder, 1, now, session_id, valid_until, key_row)
        for ticket_id, line_id, unit_id, holder in sold.tickets
    ]
    return ChannelSale(order=order, lines=lines, tickets=tickets)


def _issued(ticket_id, line_id, unit_id, holder, version, issued_at, session_id, valid_until, key):
    return IssuedTicket(
        id=ticket_id,
        line_id=line_id,
        unit_id=unit_id,
        holder_name=holder,
        version=version,
        credential=sign_credential(
            ticket_id=ticket_id,
            session_id=session_id,
            unit_id=unit_id,
            issued_at=issued_at,
            valid_until=valid_until,
            holder_name=holder,
            version=version,
            key=key,
        ),
    )


_signing_cache: dict[int, tuple[float, object, datetime]] = {}


def _signing(session_id: int, now: datetime):
    """The session's signing key and the credentials' end of validity, remembered a minute
    per process (a rotated key is picked up within that time; the old one still verifies)."""
    hit = _signing_cache.get(session_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1], hit[2]
    session = Session.objects.get(pk=session_id)
    key = get_or_create_signing_key(session=session, now=now)
    valid_until = credential_valid_until(session)
    if len(_signing_cache) > 1000:
        _signing_cache.clear()
    _signing_cache[session_id] = (time.monotonic() + SIGNING_CACHE_SECONDS, key, valid_until)
    return key, valid_until


__all__ = [
    "ChannelKeyInvalid",
    "ChannelPrincipal",
    "ChannelSale",
    "SandboxKeyLiveSession",
    "authenticate",
    "channel_order",
    "check_world",
    "expire_key",
    "issue_key",
    "key_from_header",
    "noted_principal",
    "principal_for_channel",
    "record_call",
    "revoke_key",
]
