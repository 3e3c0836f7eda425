"""Signed pass credentials: one QR code for a pass holder that the gates of every covered
session verify offline, each for its own session and for no other.

Pure Python and ``cryptography`` only, like ``credentials`` (whose Base45, time and holder
helpers it shares); docs/ticket-credential.md describes the format for porters.

Text form: ``TP1:`` + Base45(signed bytes + 64-byte Ed25519 signature).

Binary layout (big-endian)
--------------------------
====== ====== ==========================================================================
offset size   field
====== ====== ==========================================================================
0      1      format, 0x01
1      6      pass id (unsigned 48-bit)
7      2      pass credential version (unsigned 16-bit)
9      8      holder digest: ``credentials.holder_digest(holder name, pass id)``
17     4      key id: which pass key signed (unsigned 32-bit, the pass keys' own space)
21     1      n, the number of entries (1..255)
22     26 n   entries, one per covered session, ascending session id:
              session id (u32), ticket id (u48), place: inventory unit id (u48),
              ticket credential version (u16), not before (u32 minutes), not after (u32)
22+26n 64     Ed25519 signature over all bytes before it
====== ====== ==========================================================================

Each entry is the pass's ticket for that session (a real ``Ticket`` row), so a gate treats
an accepted entry exactly as that ticket's ``TS1`` credential: the session's revocation list
(a released match revokes the entry's ticket version), attendance, gate lists and the seat
shown all key on the entry's ticket id. A gate finds the entry of its own session; a pass
without one is refused as ``wrong_session`` (``NotForSession``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tessera.tickets import credentials as c

PREFIX = "TP1:"
FORMAT_V1 = 0x01
MAX_ENTRIES = 255
_HEAD = struct.Struct(">B HI H 8s I B")
_ENTRY = struct.Struct(">I HI HI H I I")
assert _HEAD.size == 22 and _ENTRY.size == 26


class NotForSession(Exception):
    """An authentic pass without an entry for the scanning session."""

    def __init__(self, pass_id: int):
        self.pass_id = pass_id
        super().__init__(f"pass {pass_id} does not cover this session")


@dataclass(frozen=True)
class Entry:
    session_id: int
    ticket_id: int
    unit_id: int
    version: int
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class PassPayload:
    pass_id: int
    version: int
    holder_digest: bytes
    key_id: int
    entries: tuple[Entry, ...]

    def entry_for(self, session_id: int) -> Entry | None:
        for entry in self.entries:
            if entry.session_id == session_id:
                return entry
        return None


def encode(payload: PassPayload) -> bytes:
    if not 1 <= len(payload.entries) <= MAX_ENTRIES:
        raise ValueError(f"a pass carries 1..{MAX_ENTRIES} entries")
    for name, value, top in (
        ("pass_id", payload.pass_id, c.MAX_ID),
        ("version", payload.version, c.MAX_VERSION),
        ("key_id", payload.key_id, c.MAX_KEY_ID),
    ):
        c._check_range(name, value, top)
    if len(payload.holder_digest) != c.HOLDER_DIGEST_LENGTH:
        raise ValueError("holder_digest must be 8 bytes")
    out = bytearray(
        _HEAD.pack(
            FORMAT_V1,
            payload.pass_id >> 32,
            payload.pass_id & 0xFFFFFFFF,
            payload.version,
            payload.holder_digest,
            payload.key_id,
            len(payload.entries),
        )
    )
    for e in sorted(payload.entries, key=lambda e: e.session_id):
        c._check_range("session_id", e.session_id, c.MAX_SESSION_ID)
        c._check_range("ticket_id", e.ticket_id, c.MAX_ID)
        c._check_range("unit_id", e.unit_id, c.MAX_ID)
        c._check_range("entry version", e.version, c.MAX_VERSION)
        out += _ENTRY.pack(
            e.session_id,
            e.ticket_id >> 32,
            e.ticket_id & 0xFFFFFFFF,
            e.unit_id >> 32,
            e.unit_id & 0xFFFFFFFF,
            e.version,
            c.minutes_floor(e.not_before),
            c.minutes_ceil(e.not_after),
        )
    return bytes(out)


def sign(payload: PassPayload, private_key) -> str:
    signed = encode(payload)
    return PREFIX + c.base45_encode(signed + c._private_key(private_key).sign(signed))


def decode(text: str) -> tuple[PassPayload, bytes, bytes]:
    """(payload, signature, signed bytes), signature unchecked. Raises
    CredentialError("malformed")."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise c.CredentialError(c.MALFORMED, "not a Tessera pass")
    try:
        raw = c.base45_decode(text[len(PREFIX) :])
    except ValueError as exc:
        raise c.CredentialError(c.MALFORMED, str(exc)) from None
    if len(raw) < _HEAD.size + _ENTRY.size + c.SIGNATURE_LENGTH:
        raise c.CredentialError(c.MALFORMED, "too short")
    fmt, pass_hi, pass_lo, version, digest, key_id, count = _HEAD.unpack_from(raw)
    if fmt != FORMAT_V1:
        raise c.CredentialError(c.MALFORMED, f"unknown format {fmt}")
    expected = _HEAD.size + count * _ENTRY.size + c.SIGNATURE_LENGTH
    if count == 0 or len(raw) != expected:
        raise c.CredentialError(c.MALFORMED, f"{len(raw)} bytes instead of {expected}")
    entries = []
    for i in range(count):
        s, t_hi, t_lo, u_hi, u_lo, v, nb, na = _ENTRY.unpack_from(raw, _HEAD.size + i * 26)
        entries.append(
            Entry(
                session_id=s,
                ticket_id=(t_hi << 32) | t_lo,
                unit_id=(u_hi << 32) | u_lo,
                version=v,
                not_before=c.from_minutes(nb),
                not_after=c.from_minutes(na),
            )
        )
    signed = raw[: -c.SIGNATURE_LENGTH]
    payload = PassPayload(
        pass_id=(pass_hi << 32) | pass_lo,
        version=version,
        holder_digest=digest,
        key_id=key_id,
        entries=tuple(entries),
    )
    return payload, raw[-c.SIGNATURE_LENGTH :], signed


def verify_for_session(
    text: str,
    *,
    session_id: int,
    pass_keys: dict,
    is_revoked=None,
    now: datetime,
    leeway: timedelta = timedelta(0),
) -> c.Payload:
    """Check a pass offline at a gate of ``session_id`` and return its entry for that session
    as a ticket ``credentials.Payload`` (so the gate goes on exactly as for a ticket).

    Checks in this order: malformed, unknown_key, forged, then ``NotForSession`` when no
    entry names this session, then revoked (the entry's ticket version), not_yet_valid,
    expired — the reasons of ``credentials.CredentialError``.
    """
    c._require_aware(now, "now")
    payload, signature, signed = decode(text)
    key = pass_keys.get(payload.key_id)
    if key is None:
        raise c.CredentialError(c.UNKNOWN_KEY, f"pass key {payload.key_id}")
    if not isinstance(key, Ed25519PublicKey):
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes(key))
        except ValueError:
            raise c.CredentialError(c.UNKNOWN_KEY, f"pass key {payload.key_id}") from None
    try:
        key.verify(signature, signed)
    except InvalidSignature:
        raise c.CredentialError(c.FORGED) from None
    entry = payload.entry_for(session_id)
    if entry is None:
        raise NotForSession(payload.pass_id)
    if is_revoked is not None:
        check = is_revoked if callable(is_revoked) else c.revocation_checker(is_revoked)
        if check(entry.ticket_id, entry.version):
            raise c.CredentialError(c.REVOKED, f"ticket {entry.ticket_id} v{entry.version}")
    if now + leeway < entry.not_before:
        raise c.CredentialError(c.NOT_YET_VALID)
    if now - leeway >= entry.not_after:
        raise c.CredentialError(c.EXPIRED)
    return c.Payload(
        ticket_id=entry.ticket_id,
        session_id=entry.session_id,
        unit_id=entry.unit_id,
        not_before=entry.not_before,
        not_after=entry.not_after,
        holder_digest=payload.holder_digest,
        version=entry.version,
        key_id=payload.key_id,
    )


def sessions_of(text: str) -> Iterable[int]:
    """The session ids a pass text names (signature unchecked; for display only)."""
    return [e.session_id for e in decode(text)[0].entries]
