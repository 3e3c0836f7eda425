"""Everything that writes purchase limits and marks; the checks run in the hold's
transaction (see the package docstring for the lock order)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from tessera.core import locks
from tessera.core.device import device_key
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.limits.errors import BY_KIND, PayerOverLimit, PurchaseLimitReached
from tessera.limits.models import (
    EVENT_FIELDS,
    LIMIT_FIELDS,
    SESSION_FIELDS,
    MarkKind,
    PurchaseLimits,
    PurchaseMark,
)

# The order in which a hold takes the keys' locks (the package docstring).
HOLD_KINDS = (MarkKind.DEVICE, MarkKind.PHONE, MarkKind.ADDRESS)


@dataclass(frozen=True)
class Buyer:
    """What the request says about who buys: its device key and client address."""

    device: str = ""
    address: str = ""


def client_address(meta: Mapping) -> str:
    """The client's address, from ``TESSERA_CLIENT_IP_HEADER`` when configured (behind a
    proxy), else the connection's."""
    header = getattr(settings, "CLIENT_IP_HEADER", "")
    raw = (meta.get(header, "") if header else "") or meta.get("REMOTE_ADDR", "")
    return str(raw).split(",")[0].strip()[:64]


def buyer_from_meta(meta: Mapping) -> Buyer:
    """The buyer of a request (``request.META`` or a WSGI environ)."""
    return Buyer(device=device_key(meta), address=client_address(meta))


def address_range(address: str) -> str:
    """The network a limit counts an address in: IPv4 /24, IPv6 /48 ("" when unparsable)."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    prefix = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def normalized_phone(phone: str) -> str:
    """Digits (and a leading +) of a phone number; "+86 138-0000-0000" → "+8613800000000"."""
    phone = (phone or "").strip()
    digits = "".join(c for c in phone if c.isdigit())
    if not digits:
        return ""
    if phone.startswith("+"):
        return "+" + digits
    if phone.startswith("00"):
        return "+" + digits[2:]
    return digits


@lru_cache(maxsize=4)
def _hmac_key(secret: str) -> bytes:
    return hashlib.sha256(b"tessera.limits:" + secret.encode()).digest()


def key_hash(kind: str, value: str) -> str:
    """The keyed digest a mark stores instead of the value."""
    digest = hmac.new(_hmac_key(settings.SECRET_KEY), f"{kind}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()


def with_limits_flag(sessions: QuerySet) -> QuerySet:
    """``sessions`` annotated with ``has_purchase_limits``, so a hold in a session without
    limits reads no row of this app (its statement count stays what it was)."""
    return sessions.annotate(
        has_purchase_limits=Exists(
            PurchaseLimits.objects.filter(event_id=OuterRef("event_id"), is_limiting=True).filter(
                Q(session__isnull=True) | Q(session_id=OuterRef("pk"))
            )
        )
    )


def effective_limits(session) -> dict[str, int]:
    """The limits that apply to ``session``: per-session ones from its override or else the
    event's row, per-event ones from the event's row. Only the limits that are on."""
    if getattr(session, "has_purchase_limits", None) is False:
        return {}
    rows = list(
        PurchaseLimits.objects.filter(event_id=session.event_id, is_limiting=True).filter(
            Q(session__isnull=True) | Q(session_id=session.pk)
        )
    )
    event_row = next((r for r in rows if r.session_id is None), None)
    session_row = next((r for r in rows if r.session_id is not None), None)
    found: dict[str, int] = {}
    per_session = session_row or event_row
    if per_session is not None:
        found.update({f: getattr(per_session, f) for f in SESSION_FIELDS})
    if event_row is not None:
        found.update({f: getattr(event_row, f) for f in EVENT_FIELDS})
    return {name: value for name, value in found.items() if value}


def _count_marked(*, kind: str, digest: str, session=None, event_id=None, now, hold) -> int:
    live = Q(status=UnitStatus.SOLD) | Q(status=UnitStatus.HELD, hold_expires_at__gte=now)
    if session is not None:
        units = InventoryUnit.objects.filter(
            session=session,
            hold__limit_marks__session=session,
            hold__limit_marks__kind=kind,
            hold__limit_marks__key_hash=digest,
        )
    else:
        units = InventoryUnit.objects.filter(
            session__event_id=event_id,
            hold__limit_marks__event_id=event_id,
            hold__limit_marks__kind=kind,
            hold__limit_marks__key_hash=digest,
        )
    return units.filter(live).exclude(hold=hold).count()


def _check(kind: str, *, limits, already_of: Callable[[str], int], requested: int) -> None:
    for scope in ("session", "event"):
        limit = limits.get(f"{kind}_per_{scope}")
        if not limit:
            continue
        already = already_of(scope)
        if already + requested > limit:
            raise BY_KIND[kind].build(
                limit=limit, already=already, requested=requested, scope=scope
            )


def _hold_keys(user, buyer: Buyer | None) -> dict[str, str]:
    buyer = buyer or Buyer()
    values = {
        MarkKind.DEVICE: buyer.device,
        MarkKind.PHONE: normalized_phone(getattr(user, "phone", "")),
        MarkKind.ADDRESS: address_range(buyer.address),
    }
    return {kind: key_hash(kind, value) for kind, value in values.items() if value}


def _lock(event_id: int, kind: str, digest: str) -> None:
    locks.lock_name(f"limits:{event_id}:{kind}:{digest}")


def hold_within_limits(
    *, session, user, buyer: Buyer | None, now: datetime, take: Callable[[], Hold]
) -> Hold:
    """Run ``take`` (the inventory's hold of the places) within the session's purchase
    limits, in one transaction: lock the buyer's keys (device → phone → address → account
    across the event), take the places, count what the keys already have and write the
    hold's marks. Raises a ``PurchaseLimitReached`` (``limit_device``, ``limit_phone``,
    ``limit_address``, ``limit_account``) with nothing held, or whatever ``take`` raises.
    """
    limits = effective_limits(session)
    if not limits:
        return take()
    event_id = session.event_id
    keys = _hold_keys(user, buyer)
    with transaction.atomic():
        limited = [
            kind
            for kind in HOLD_KINDS
            if kind in keys
            and (limits.get(f"{kind}_per_session") or limits.get(f"{kind}_per_event"))
        ]
        for kind in limited:  # in HOLD_KINDS order; keys without a limit are only marked
            _lock(event_id, kind, keys[kind])
        if limits.get("account_per_event"):
            _lock(event_id, "account", str(user.pk))
        hold = take()
        for kind in limited:
            digest = keys[kind]
            _check(
                kind,
                limits=limits,
                requested=hold.quantity,
                already_of=lambda scope, kind=kind, digest=digest: _count_marked(
                    kind=kind,
                    digest=digest,
                    session=session if scope == "session" else None,
                    event_id=event_id,
                    now=now,
                    hold=hold,
                ),
            )
        if limit := limits.get("account_per_event"):
            already = (
                InventoryUnit.objects.filter(session__event_id=event_id, hold__user=user)
                .filter(
                    Q(status=UnitStatus.SOLD) | Q(status=UnitStatus.HELD, hold_expires_at__gte=now)
                )
                .exclude(hold=hold)
                .count()
            )
            if already + hold.quantity > limit:
                raise BY_KIND["account"].build(
                    limit=limit, already=already, requested=hold.quantity, scope="event"
                )
        PurchaseMark.objects.bulk_create(
            PurchaseMark(
                hold=hold,
                session_id=session.pk,
                event_id=event_id,
                kind=kind,
                key_hash=digest,
                quantity=hold.quantity,
                created_at=now,
            )
            for kind, digest in keys.items()
        )
    return hold


def has_payer_limit(session) -> bool:
    limits = effective_limits(session)
    return bool(limits.get("payer_per_session") or limits.get("payer_per_event"))


def check_payer(*, hold: Hold, payer_id: str, now: datetime) -> PurchaseLimitReached | None:
    """Inside the payment's confirmation: the refusal when the payer ``payer_id`` would pass
    the session's (or event's) payer limit with ``hold``'s places, else None after marking
    the hold as paid by this payer. Takes the payer's lock (after payment, order and hold).
    """
    locks.require_transaction()
    session = hold.session
    limits = effective_limits(session)
    if not payer_id or not (limits.get("payer_per_session") or limits.get("payer_per_event")):
        return None
    digest = key_hash(MarkKind.PAYER, payer_id.strip())
    _lock(session.event_id, MarkKind.PAYER, digest)
    try:
        _check(
            MarkKind.PAYER,
            limits=limits,
            requested=hold.quantity,
            already_of=lambda scope: _count_marked(
                kind=MarkKind.PAYER,
                digest=digest,
                session=session if scope == "session" else None,
                event_id=session.event_id,
                now=now,
                hold=hold,
            ),
        )
    except PurchaseLimitReached as refusal:
        return refusal
    PurchaseMark.objects.update_or_create(
        hold=hold,
        kind=MarkKind.PAYER,
        defaults={
            "session_id": session.pk,
            "event_id": session.event_id,
            "key_hash": digest,
            "quantity": hold.quantity,
            "created_at": now,
        },
    )
    return None


def refuse_over_payer_limit(*, order, payment, now: datetime) -> None:
    """``settings.ORDER_PAID_HOOKS``: inside the payment's confirmation, raise PayerOverLimit
    (the sale rolls back, the payment is refunded) when ``payment``'s payer would pass the
    payer limit with ``order``'s places; else mark the hold as paid by that payer."""
    hold = order.hold
    if hold is None or not payment.payer_id:
        return
    refusal = check_payer(hold=hold, payer_id=payment.payer_id, now=now)
    if refusal is not None:
        raise PayerOverLimit(refusal.message, details={"code": refusal.code, **refusal.details})


__all__ = [
    "LIMIT_FIELDS",
    "Buyer",
    "address_range",
    "buyer_from_meta",
    "check_payer",
    "effective_limits",
    "hold_within_limits",
    "key_hash",
    "refuse_over_payer_limit",
]
