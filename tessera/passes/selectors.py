"""Reads of the passes: keys for the gates, a holder's passes, the pass credential."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from tessera.passes.errors import PassNotFound
from tessera.passes.models import (
    EntryStatus,
    Pass,
    PassCoverage,
    PassEntry,
    PassKey,
    PassProduct,
    PassStatus,
)
from tessera.tickets import credentials, pass_credentials
from tessera.tickets.models import TicketStatus
from tessera.tickets.services import credential_valid_until


def pass_keys_for_session(session) -> dict[int, bytes]:
    """``settings.CHECKIN_TRUSTED_ISSUERS``: the public keys of every pass product covering
    ``session``, by pass key id (raw 32-byte Ed25519)."""
    rows = PassKey.objects.filter(product__coverage__session=session).values_list(
        "kid", "public_key"
    )
    return {kid: bytes(raw) for kid, raw in rows}


def list_products_on_sale(*, now) -> QuerySet[PassProduct]:
    return (
        PassProduct.objects.filter(is_active=True, sale_starts_at__lte=now, sale_ends_at__gt=now)
        .select_related("organization")
        .prefetch_related(
            Prefetch(
                "coverage",
                queryset=PassCoverage.objects.select_related(
                    "session__event", "session__layout__venue", "zone"
                ).order_by("session__starts_at"),
            )
        )
    )


def _entries() -> Prefetch:
    return Prefetch(
        "entries",
        queryset=PassEntry.objects.select_related(
            "session__event", "session__layout__venue", "order_line", "ticket", "credit"
        ).order_by("session__starts_at", "session_id"),
    )


def list_passes(*, user) -> QuerySet[Pass]:
    return (
        Pass.objects.filter(user=user)
        .select_related("product", "order")
        .prefetch_related(_entries())
        .order_by("-created_at")
    )


def get_pass(*, user, pass_id: int) -> Pass:
    found = list_passes(user=user).filter(pk=pass_id).first()
    if found is None:
        raise PassNotFound()
    return found


def pass_credential(pass_: Pass) -> str | None:
    """The pass's QR text (``TP1``): an entry per covered session still admitted (active,
    its ticket valid), signed with the product's key; None while unpaid or when nothing is
    left to admit. Signing is deterministic."""
    if pass_.status != PassStatus.ACTIVE:
        return None
    entries = [
        e
        for e in pass_.entries.all()
        if e.status == EntryStatus.ACTIVE
        and e.ticket is not None
        and e.ticket.status == TicketStatus.VALID
    ]
    if not entries:
        return None
    key = PassKey.objects.filter(product_id=pass_.product_id).order_by("-created_at").first()
    payload = pass_credentials.PassPayload(
        pass_id=pass_.pk,
        version=1,
        holder_digest=credentials.holder_digest(pass_.holder_name, pass_.pk),
        key_id=key.kid,
        entries=tuple(
            pass_credentials.Entry(
                session_id=e.session_id,
                ticket_id=e.ticket_id,
                unit_id=e.unit_id,
                version=e.ticket.version,
                not_before=e.ticket.issued_at,
                not_after=credential_valid_until(e.session),
            )
            for e in entries
        ),
    )
    return pass_credentials.sign(payload, bytes(key.secret))
