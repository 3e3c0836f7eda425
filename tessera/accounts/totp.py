"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 30-second
steps, 6 digits, what every authenticator app reads from an ``otpauth://`` QR code."""

import base64
import hashlib
import hmac
import secrets
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommendation for SHA-1
DRIFT_STEPS = 1  # accept the step before and after: clocks and typing take time


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def time_step(unix_seconds: float) -> int:
    return int(unix_seconds) // STEP_SECONDS


def code_at(secret: bytes, step: int, digits: int = DIGITS) -> str:
    """The HOTP value of ``secret`` for counter ``step`` (RFC 4226 section 5.3)."""
    mac = hmac.new(secret, step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


def matching_step(secret: bytes, code: str, *, unix_seconds: float, after_step: int) -> int | None:
    """The time step whose code ``code`` is, within the allowed drift and later than
    ``after_step`` (a code is good once) -> the step, or None."""
    code = "".join((code or "").split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = time_step(unix_seconds)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if step > after_step and hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def base32_secret(secret: bytes) -> str:
    """The secret as people type it into an authenticator: base32, no padding."""
    return base64.b32encode(secret).decode().rstrip("=")


def provisioning_uri(secret: bytes, *, account: str, issuer: str = "Tessera") -> str:
    """The ``otpauth://`` address a QR code carries to the authenticator app."""
    label = quote(f"{issuer}:{account}", safe="")
    query = urlencode(
        {
            "secret": base32_secret(secret),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"


# -- recovery codes ---------------------------------------------------------------------------

RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_recovery_code() -> str:
    """``xxxxx-xxxxx``: ten characters of a 31-letter alphabet, about 49 bits."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def normalise_recovery_code(text: str) -> str:
    cleaned = "".join(ch for ch in (text or "").lower() if ch in _ALPHABET)
    return f"{cleaned[:5]}-{cleaned[5:]}" if len(cleaned) == 10 else ""


def recovery_digest(code: str, *, user_id: int) -> str:
    """Codes are stored as this digest only (random codes need no slow hash)."""
    return hashlib.sha256(f"tessera.recovery:{user_id}:{code}".encode()).hexdigest()
