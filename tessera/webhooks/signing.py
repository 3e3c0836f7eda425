"""The signature of a webhook delivery (docs/webhooks.md).

``Tessera-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, one ``v1``
per secret in use: while a rotated secret is still honoured, the old secret's ``v1`` follows
the new one's. The receiver recomputes the HMAC with its secret over the timestamp, a dot and
the exact bytes of the body, compares in constant time and refuses old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: bytes | str, timestamp: int, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets_in_use: list, timestamp: int, body: bytes) -> str:
    parts = [f"t={timestamp}"]
    parts += [f"v1={signature(s, timestamp, body)}" for s in secrets_in_use]
    return ",".join(parts)


def headers(
    *, webhook_id: str, kind: str, timestamp: int, body: bytes, secrets_in_use: list
) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Tessera-Webhooks/1",
        "Tessera-Webhook-Id": webhook_id,
        "Tessera-Event": kind,
        "Tessera-Timestamp": str(timestamp),
        "Tessera-Signature": signature_header(secrets_in_use, timestamp, body),
    }
