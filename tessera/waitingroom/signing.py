"""Queue tokens and admission passes: short, signed with HMAC-SHA256 under keys derived from
``SECRET_KEY`` (one key per purpose, so a token can never pass for a pass).

A queue token is ``q1.<room>.<entry>.<position>.<user>.<mac>``; the position lets a status
check compare it with the watermark without reading anything. Position 0 means "in the
pre-queue, not yet ordered". An admission pass is ``a1.<room>.<user>.<expires>.<mac>``
(expiry in Unix seconds, fixed at admission time plus the room's pass lifetime).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from django.conf import settings

_MAC_BYTES = 16


@cache
def _key(purpose: str, secret: str) -> bytes:
    return hmac.new(secret.encode(), f"tessera.waitingroom.{purpose}".encode(), "sha256").digest()


def _mac(purpose: str, body: str) -> str:
    digest = hmac.new(_key(purpose, settings.SECRET_KEY), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).rstrip(b"=").decode()


def _split(value: str, prefix: str, fields: int) -> list[int] | None:
    if not isinstance(value, str) or len(value) > 200:
        return None
    parts = value.split(".")
    if len(parts) != fields + 2 or parts[0] != prefix:
        return None
    body, mac = ".".join(parts[:-1]), parts[-1]
    if not hmac.compare_digest(mac, _mac(prefix, body)):
        return None
    try:
        numbers = [int(p) for p in parts[1:-1]]
    except ValueError:
        return None
    if any(n < 0 or str(n) != p for n, p in zip(numbers, parts[1:-1], strict=True)):
        return None
    return numbers


_SEEN_MAX = 50_000
_seen: dict[tuple[str, str], QueueToken] = {}


@dataclass(frozen=True)
class QueueToken:
    room_id: int
    entry_id: int
    position: int
    user_id: int

    def sign(self) -> str:
        body = f"q1.{self.room_id}.{self.entry_id}.{self.position}.{self.user_id}"
        return f"{body}.{_mac('q1', body)}"

    @classmethod
    def verify(cls, value: str) -> QueueToken | None:
        """The token, or None when it is malformed or its signature does not match.

        Tokens already verified by this process are remembered (up to ``_SEEN_MAX``; the
        memo is keyed by the secret too), since each waiting fan polls with the same one."""
        key = (value, settings.SECRET_KEY)
        found = _seen.get(key)
        if found is not None:
            return found
        numbers = _split(value, "q1", 4)
        if not numbers:
            return None
        token = cls(*numbers)
        if len(_seen) >= _SEEN_MAX:
            _seen.clear()
        _seen[key] = token
        return token


@dataclass(frozen=True)
class AdmissionPass:
    room_id: int
    user_id: int
    expires: int  # Unix seconds

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, tz=UTC)

    def sign(self) -> str:
        body = f"a1.{self.room_id}.{self.user_id}.{self.expires}"
        return f"{body}.{_mac('a1', body)}"

    @classmethod
    def verify(cls, value: str | None) -> AdmissionPass | None:
        numbers = _split(value, "a1", 3) if value else None
        return cls(*numbers) if numbers else None
