"""Signed ticket credentials: what a ticket's QR code carries and how a gate checks it.

Pure Python and ``cryptography`` only (no Django), so the gate app and a browser scanner can
mirror it byte for byte. docs/ticket-credential.md describes the same format for porters.

Text form
---------
``TS1:`` followed by the Base45 encoding (RFC 9285) of 103 bytes: 39 signed bytes and their
64-byte Ed25519 signature. A typical credential is 4 + 155 = 159 characters and fits a
version 7 QR code (45 x 45 modules) at error correction M.

Why Base45: every character of the Base45 alphabet (``0-9 A-Z``, space and ``$%*+-./:``)
belongs to the QR code's alphanumeric mode, which stores two characters in 11 bits, so one
byte costs 8.25 bits of QR capacity. Base32 (uppercase, no padding) would cost 8.8 bits per
byte (about 7 % more modules for the same credential), and raw bytes in QR byte mode are
mangled by scanners that decode them as text. Base45 is what the EU digital COVID
certificates put into QR codes, so decoders exist in every language and the algorithm is 20
lines. The last character of a Base45 string is never a space (the last group's top digit is
at most 32, a final single byte's top digit at most 5), so scanners that trim whitespace do
no harm. The ``TS1:`` prefix (also alphanumeric) lets a scanner tell a Tessera credential
from any other QR code at a glance; the format byte inside versions the binary layout.

Binary layout (big-endian, offsets in bytes)
--------------------------------------------
====== ===== =========================================================================
offset size  field
====== ===== =========================================================================
0      1     format, 0x01 for this layout
1      6     ticket id (unsigned 48-bit)
7      4     session id (unsigned 32-bit)
11     6     place: inventory unit id (unsigned 48-bit)
17     4     not before: whole minutes since 1970-01-01T00:00Z (unsigned 32-bit)
21     4     not after: whole minutes since 1970-01-01T00:00Z (unsigned 32-bit)
25     8     holder digest: first 8 bytes of SHA-256(ticket id as 6 bytes || UTF-8 of the
             normalised holder name)
33     2     credential version (unsigned 16-bit; a refund or transfer bumps it)
35     4     key id: which session key signed (unsigned 32-bit)
39     64    Ed25519 signature over bytes 0..38
====== ===== =========================================================================

48-bit ids stay exact in a JavaScript ``Number`` (safe up to 2**53), so the browser scanner
needs no BigInt. Minutes since the epoch in 32 bits last until the year 10136.

A credential is valid at instant ``now`` when ``not_before <= now < not_after``.

Holder name normalisation: Unicode NFKC, then lower case (``str.lower``, the same mapping as
JavaScript's ``toLowerCase``), then every character of the Unicode categories Z (separators),
C (control, format) and P (punctuation) removed. "Li Lei", "li-lei" and "LI·LEI" compare
equal. The digest keeps the name out of the QR code, but names are guessable: it lets gate
staff confirm a name they were told, it is not a secret.

Checks, in this order, each with its ``CredentialError.reason``:
``malformed`` (prefix, Base45, length or format byte), ``unknown_key`` (key id not among
the session's public keys), ``forged`` (signature does not verify), ``revoked`` (this
ticket's version is on the revocation list), ``not_yet_valid``, ``expired``.

Rotating codes (for the gate issue): a per-ticket key is derived with HKDF-SHA256 from the
session's rotation key, and a 6-digit code is computed from it like TOTP (RFC 6238) but with
HMAC-SHA256: a screenshot of a ticket showing such a code is useless a minute later.
The live QR code then carries ``TR1:`` + the credential's 155 Base45 characters + the
6-digit code (165 QR alphanumeric characters, ``rotating_text``); a gate checks the
signature as above and the code within one time step either side.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "TS1:"
FORMAT_V1 = 0x01
SIGNED_LENGTH = 39
SIGNATURE_LENGTH = 64
TOTAL_LENGTH = SIGNED_LENGTH + SIGNATURE_LENGTH
HOLDER_DIGEST_LENGTH = 8
# format, ticket id (u48 as u16 + u32), session id, unit id (u48), not before, not after,
# holder digest, credential version, key id.
_LAYOUT = struct.Struct(">B HI I HI I I 8s H I")
assert _LAYOUT.size == SIGNED_LENGTH

MAX_ID = 2**48 - 1
MAX_SESSION_ID = 2**32 - 1
MAX_VERSION = 2**16 - 1
MAX_KEY_ID = 2**32 - 1
MAX_MINUTES = 2**32 - 1

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)

BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_VALUES = {c: i for i, c in enumerate(BASE45_ALPHABET)}

# Reasons a credential is refused, as CredentialError.reason.
MALFORMED = "malformed"
UNKNOWN_KEY = "unknown_key"
FORGED = "forged"
REVOKED = "revoked"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
REASONS = (MALFORMED, UNKNOWN_KEY, FORGED, REVOKED, NOT_YET_VALID, EXPIRED)

ROTATION_KEY_SALT = b"tessera rotating code v1"
ROTATING_CODE_DIGITS = 6
# A rotating QR code: ``TR1:`` + the credential's 155 Base45 characters + the 6-digit code.
ROTATING_PREFIX = "TR1:"
CREDENTIAL_BASE45_LENGTH = 155


class CredentialError(Exception):
    """A credential was refused; ``reason`` is one of ``REASONS``."""

    def __init__(self, reason: str, detail: str = ""):
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


# -- time --------------------------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def minutes_floor(value: datetime) -> int:
    """Whole minutes since the epoch, rounded down."""
    _require_aware(value, "datetime")
    return (value - _EPOCH) // _MINUTE


def minutes_ceil(value: datetime) -> int:
    """Whole minutes since the epoch, rounded up."""
    _require_aware(value, "datetime")
    return -((_EPOCH - value) // _MINUTE)


def from_minutes(minutes: int) -> datetime:
    return _EPOCH + minutes * _MINUTE


# -- the payload -------------------------------------------------------------------------


def normalise_holder_name(name: str) -> str:
    """The holder name as the digest sees it (see the module docstring)."""
    folded = unicodedata.normalize("NFKC", name).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "ZCP")


def holder_digest(name: str, ticket_id: int) -> bytes:
    """First 8 bytes of SHA-256(ticket id as 6 big-endian bytes || normalised name)."""
    if not 0 <= ticket_id <= MAX_ID:
        raise ValueError("ticket id out of range")
    data = ticket_id.to_bytes(6, "big") + normalise_holder_name(name).encode("utf-8")
    return hashlib.sha256(data).digest()[:HOLDER_DIGEST_LENGTH]


def normalise_document_number(number: str) -> str:
    """A document number as the identity digest sees it: NFKC, upper case, whitespace and
    hyphens removed (``tessera.identities.documents.normalise``)."""
    text = unicodedata.normalize("NFKC", number).upper()
    return "".join(ch for ch in text if not ch.isspace() and ch != "-")


def identity_digest(number: str, ticket_id: int) -> bytes:
    """The holder digest of a real-name ticket: first 8 bytes of SHA-256(ticket id as 6
    big-endian bytes || ``ID|`` || normalised document number). The ticket id salts it, so
    a digest says nothing about another ticket of the same person; a gate compares it with
    the number on the document shown (check-ID mode)."""
    if not 0 <= ticket_id <= MAX_ID:
        raise ValueError("ticket id out of range")
    data = ticket_id.to_bytes(6, "big") + b"ID|" + normalise_document_number(number).encode()
    return hashlib.sha256(data).digest()[:HOLDER_DIGEST_LENGTH]


@dataclass(frozen=True)
class Payload:
    """What a credential says. Datetimes are aware and UTC; ``not_before`` is rounded down
    and ``not_after`` up to a whole minute, which is what the wire format can carry."""

    ticket_id: int
    session_id: int
    unit_id: int
    not_before: datetime
    not_after: datetime
    holder_digest: bytes
    version: int
    key_id: int

    def __post_init__(self):
        _check_range("ticket_id", self.ticket_id, MAX_ID)
        _check_range("session_id", self.session_id, MAX_SESSION_ID)
        _check_range("unit_id", self.unit_id, MAX_ID)
        _check_range("version", self.version, MAX_VERSION)
        _check_range("key_id", self.key_id, MAX_KEY_ID)
        if not isinstance(self.holder_digest, bytes) or len(self.holder_digest) != 8:
            raise ValueError("holder_digest must be 8 bytes")
        not_before = minutes_floor(self.not_before)
        not_after = minutes_ceil(self.not_after)
        _check_range("not_before", not_before, MAX_MINUTES)
        _check_range("not_after", not_after, MAX_MINUTES)
        object.__setattr__(self, "not_before", from_minutes(not_before))
        object.__setattr__(self, "not_after", from_minutes(not_after))

    def holder_matches(self, name: str) -> bool:
        """Whether ``name`` is the holder's name (after normalisation)."""
        return hmac.compare_digest(holder_digest(name, self.ticket_id), self.holder_digest)


def _check_range(name: str, value: int, maximum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise ValueError(f"{name} must be an integer in 0..{maximum}")


def encode(payload: Payload) -> bytes:
    """The 39 signed bytes of ``payload`` (layout in the module docstring)."""
    return _LAYOUT.pack(
        FORMAT_V1,
        payload.ticket_id >> 32,
        payload.ticket_id & 0xFFFFFFFF,
        payload.session_id,
        payload.unit_id >> 32,
        payload.unit_id & 0xFFFFFFFF,
        minutes_floor(payload.not_before),
        minutes_floor(payload.not_after),
        payload.holder_digest,
        payload.version,
        payload.key_id,
    )


def _parse(signed: bytes) -> Payload:
    (
        fmt,
        ticket_hi,
        ticket_lo,
        session_id,
        unit_hi,
        unit_lo,
        not_before,
        not_after,
        digest,
        version,
        key_id,
    ) = _LAYOUT.unpack(signed)
    if fmt != FORMAT_V1:
        raise CredentialError(MALFORMED, f"unknown format {fmt}")
    return Payload(
        ticket_id=(ticket_hi << 32) | ticket_lo,
        session_id=session_id,
        unit_id=(unit_hi << 32) | unit_lo,
        not_before=from_minutes(not_before),
        not_after=from_minutes(not_after),
        holder_digest=digest,
        version=version,
        key_id=key_id,
    )


# -- Base45 (RFC 9285) -------------------------------------------------------------------


def base45_encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out.append(BASE45_ALPHABET[c] + BASE45_ALPHABET[d] + BASE45_ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out.append(BASE45_ALPHABET[c] + BASE45_ALPHABET[d])
    return "".join(out)


def base45_decode(text: str) -> bytes:
    """Strict decoding: raises ValueError on a character outside the alphabet, a dangling
    character or a group whose value does not fit its bytes."""
    try:
        values = [_BASE45_VALUES[ch] for ch in text]
    except KeyError as exc:
        raise ValueError(f"not a Base45 character: {exc.args[0]!r}") from None
    if len(values) % 3 == 1:
        raise ValueError("Base45 text has a dangling character")
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i : i + 3]
        if len(group) == 3:
            n = group[0] + group[1] * 45 + group[2] * 2025
            if n > 0xFFFF:
                raise ValueError("Base45 group out of range")
            out += n.to_bytes(2, "big")
        else:
            n = group[0] + group[1] * 45
            if n > 0xFF:
                raise ValueError("Base45 group out of range")
            out.append(n)
    return bytes(out)


# -- signing and verifying ---------------------------------------------------------------


def _private_key(key: Ed25519PrivateKey | bytes) -> Ed25519PrivateKey:
    if isinstance(key, Ed25519PrivateKey):
        return key
    return Ed25519PrivateKey.from_private_bytes(bytes(key))


def sign(payload: Payload, private_key: Ed25519PrivateKey | bytes) -> str:
    """The credential text: ``TS1:`` + Base45(signed bytes + Ed25519 signature).

    ``private_key`` is an Ed25519 key or its 32 raw bytes; ``payload.key_id`` must name it.
    """
    signed = encode(payload)
    signature = _private_key(private_key).sign(signed)
    return PREFIX + base45_encode(signed + signature)


def decode(text: str) -> tuple[Payload, bytes, bytes]:
    """Split a credential into (payload, signature, signed bytes) without checking the
    signature. Raises CredentialError("malformed")."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise CredentialError(MALFORMED, "not a Tessera credential")
    try:
        raw = base45_decode(text[len(PREFIX) :])
    except ValueError as exc:
        raise CredentialError(MALFORMED, str(exc)) from None
    if len(raw) != TOTAL_LENGTH:
        raise CredentialError(MALFORMED, f"{len(raw)} bytes instead of {TOTAL_LENGTH}")
    signed, signature = raw[:SIGNED_LENGTH], raw[SIGNED_LENGTH:]
    return _parse(signed), signature, signed


RevocationCheck = Callable[[int, int], bool]


def revocation_checker(revoked: Iterable[tuple[int, int]]) -> RevocationCheck:
    """A check for ``verify`` from (ticket id, up to version) pairs: a pair revokes that
    version of the ticket and every older one."""
    highest: dict[int, int] = {}
    for ticket_id, version in revoked:
        highest[ticket_id] = max(version, highest.get(ticket_id, 0))

    def is_revoked(ticket_id: int, version: int) -> bool:
        return version <= highest.get(ticket_id, 0)

    return is_revoked


def verify(
    text: str,
    *,
    public_keys: dict[int, bytes | Ed25519PublicKey],
    is_revoked: RevocationCheck | Iterable[tuple[int, int]] | None = None,
    now: datetime,
    leeway: timedelta = timedelta(0),
) -> Payload:
    """Check a credential offline and return what it says.

    ``public_keys`` maps key ids to raw 32-byte Ed25519 public keys (or key objects).
    ``is_revoked`` is ``callable(ticket_id, version) -> bool`` or an iterable of
    (ticket id, up to version) pairs, as ``revocation_checker`` takes. ``leeway`` widens
    the validity window on both sides for a device whose clock drifts.

    Raises CredentialError with reason malformed, unknown_key, forged, revoked,
    not_yet_valid or expired (checked in that order).
    """
    _require_aware(now, "now")
    payload, signature, signed = decode(text)
    key = public_keys.get(payload.key_id)
    if key is None:
        raise CredentialError(UNKNOWN_KEY, f"key {payload.key_id}")
    if not isinstance(key, Ed25519PublicKey):
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes(key))
        except ValueError:
            raise CredentialError(UNKNOWN_KEY, f"key {payload.key_id} is unusable") from None
    try:
        key.verify(signature, signed)
    except InvalidSignature:
        raise CredentialError(FORGED) from None
    if is_revoked is not None:
        check = is_revoked if callable(is_revoked) else revocation_checker(is_revoked)
        if check(payload.ticket_id, payload.version):
            raise CredentialError(REVOKED, f"ticket {payload.ticket_id} v{payload.version}")
    if now + leeway < payload.not_before:
        raise CredentialError(NOT_YET_VALID)
    if now - leeway >= payload.not_after:
        raise CredentialError(EXPIRED)
    return payload


# -- rotating codes ----------------------------------------------------------------------


def derive_ticket_key(rotation_key: bytes, ticket_id: int) -> bytes:
    """The ticket's own 32-byte rotating-code key: HKDF-SHA256 of the session's rotation
    key, salt ``ROTATION_KEY_SALT``, info = ticket id as 6 big-endian bytes."""
    if not 0 <= ticket_id <= MAX_ID:
        raise ValueError("ticket id out of range")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=ROTATION_KEY_SALT,
        info=ticket_id.to_bytes(6, "big"),
    )
    return hkdf.derive(bytes(rotation_key))


def _time_step(now: datetime, step_seconds: int) -> int:
    _require_aware(now, "now")
    if step_seconds < 1:
        raise ValueError("step_seconds must be at least 1")
    return (now - _EPOCH) // timedelta(seconds=step_seconds)


def _code_at(ticket_key: bytes, counter: int) -> str:
    mac = hmac.new(bytes(ticket_key), counter.to_bytes(8, "big"), hashlib.sha256).digest()
    offset = mac[-1] & 0x0F  # dynamic truncation, RFC 4226 section 5.3
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**ROTATING_CODE_DIGITS).zfill(ROTATING_CODE_DIGITS)


def rotating_code(ticket_key: bytes, now: datetime, step_seconds: int = 30) -> str:
    """The 6-digit code of the time step containing ``now``."""
    return _code_at(ticket_key, _time_step(now, step_seconds))


def check_rotating_code(
    ticket_key: bytes, code: str, now: datetime, step_seconds: int = 30, window: int = 1
) -> bool:
    """Whether ``code`` is the code of the current time step or of one up to ``window``
    steps before or after it (clock drift between phone and gate)."""
    if window < 0:
        raise ValueError("window must not be negative")
    counter = _time_step(now, step_seconds)
    if not isinstance(code, str) or not code.isascii():
        return False
    matched = False
    for step in range(max(counter - window, 0), counter + window + 1):
        # Compare every candidate, so the time taken does not tell which one matched.
        matched |= hmac.compare_digest(_code_at(ticket_key, step), code)
    return matched


def rotating_text(credential: str, code: str) -> str:
    """What a rotating QR code carries: ``TR1:`` + the credential without its prefix + the
    current code (all QR alphanumeric characters, 165 in all)."""
    if not credential.startswith(PREFIX) or len(code) != ROTATING_CODE_DIGITS:
        raise ValueError("a TS1 credential and a 6-digit code are needed")
    return ROTATING_PREFIX + credential[len(PREFIX) :] + code


def split_rotating_text(text: str) -> tuple[str, str] | None:
    """(credential text, code) of a rotating QR code, or None when ``text`` is not one."""
    if not isinstance(text, str) or not text.startswith(ROTATING_PREFIX):
        return None
    body = text[len(ROTATING_PREFIX) :]
    if len(body) != CREDENTIAL_BASE45_LENGTH + ROTATING_CODE_DIGITS:
        return None
    code = body[CREDENTIAL_BASE45_LENGTH:]
    if not (code.isascii() and code.isdigit()):
        return None
    return PREFIX + body[:CREDENTIAL_BASE45_LENGTH], code
