"""Proof-of-work challenges: signed, bound, expiring, single use.

A challenge is ``<payload>.<mac>``: the payload (URL-safe base64 of compact JSON) names the
purpose (join/hold), a digest of the device key and the account id it was issued to, the
expiry (Unix seconds), the difficulty in leading zero bits, a random part, and optionally the
browser features the page reported (``f``); the MAC is HMAC-SHA256 under a key derived from
``SECRET_KEY``. The client finds a decimal ``nonce`` such that
``sha256(challenge + ":" + nonce)`` starts with ``bits`` zero bits and sends
``X-Tessera-Proof: <challenge>:<nonce>``. ``verify`` checks the MAC, the binding, the expiry
and the work, then spends the challenge (``spend``: Redis ``SET NX EX``, else a unique row)
so a second use is refused. Nothing here needs Django's request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction

from tessera.risk.errors import ChallengeInvalid

PURPOSES = ("join", "hold")
MAX_PROOF_LENGTH = 2048


def lifetime_seconds() -> int:
    return int(getattr(settings, "RISK_CHALLENGE_SECONDS", 120))


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"tessera.risk.pow:" + secret.encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str) -> str:
    return _b64(hmac.new(_key(settings.SECRET_KEY), payload.encode(), hashlib.sha256).digest())


def device_digest(device_key: str) -> str:
    return hashlib.sha256(device_key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Challenge:
    purpose: str
    device: str  # device_digest
    user_id: int
    expires: int
    bits: int
    features: dict

    @property
    def has_features(self) -> bool:
        return bool(self.features)


def issue(
    *,
    purpose: str,
    device_key: str,
    user_id: int | None,
    bits: int,
    now: datetime,
    features: dict | None = None,
) -> str:
    """A new signed challenge token."""
    body = {
        "p": purpose,
        "d": device_digest(device_key),
        "u": int(user_id or 0),
        "x": int(now.timestamp()) + lifetime_seconds(),
        "b": int(bits),
        "r": secrets.token_urlsafe(9),
    }
    if features:
        body["f"] = features
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_mac(payload)}"


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solve(challenge: str, bits: int) -> str:
    """The first nonce that meets ``bits`` (tests and the simulator; the browser runs pow.js)."""
    nonce = 0
    while True:
        digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
        if leading_zero_bits(digest) >= bits:
            return str(nonce)
        nonce += 1


def parse(challenge: str) -> Challenge:
    """The signed content of ``challenge``; raises ChallengeInvalid when it is not ours."""
    payload, _, mac = challenge.partition(".")
    if not payload or not mac or not hmac.compare_digest(mac, _mac(payload)):
        raise ChallengeInvalid()
    try:
        body = json.loads(_unb64(payload))
        return Challenge(
            purpose=str(body["p"]),
            device=str(body["d"]),
            user_id=int(body["u"]),
            expires=int(body["x"]),
            bits=int(body["b"]),
            features=dict(body.get("f") or {}),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ChallengeInvalid() from exc


def verify(
    *,
    proof: str,
    purpose: str,
    device_key: str,
    user_id: int | None,
    now: datetime,
    min_bits: int = 0,
) -> Challenge:
    """Check a proof ``<challenge>:<nonce>`` and spend it. Raises ChallengeInvalid for a
    forged, foreign (other purpose, device or account), expired, too easy, unsolved or
    already spent proof."""
    if not proof or len(proof) > MAX_PROOF_LENGTH or ":" not in proof:
        raise ChallengeInvalid()
    challenge, _, nonce = proof.rpartition(":")
    if not nonce.isdigit() or len(nonce) > 20 or not nonce.isascii():
        raise ChallengeInvalid()
    parsed = parse(challenge)
    if (
        parsed.purpose != purpose
        or not hmac.compare_digest(parsed.device, device_digest(device_key))
        or parsed.user_id != int(user_id or 0)
        or parsed.expires <= now.timestamp()
        or parsed.bits < min_bits
    ):
        raise ChallengeInvalid()
    digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
    if leading_zero_bits(digest) < parsed.bits:
        raise ChallengeInvalid()
    spend(challenge, expires=parsed.expires, now=now)
    return parsed


def spend(challenge: str, *, expires: int, now: datetime) -> None:
    """Mark ``challenge`` used until it expires; raises ChallengeInvalid if it already was.

    One challenge, one use, whatever nonce solved it (a second solution is a replay too)."""
    digest = hashlib.sha256(challenge.encode()).hexdigest()
    seconds = max(1, expires - int(now.timestamp()))
    redis = _redis()
    if redis is not None:
        if not redis.set(f"{_prefix()}risk:proof:{digest}", b"1", nx=True, ex=seconds):
            raise ChallengeInvalid()
        return
    from tessera.risk.models import UsedProof

    try:
        with transaction.atomic():
            UsedProof.objects.create(digest=digest, expires_at=now + timedelta(seconds=seconds))
    except IntegrityError as exc:
        raise ChallengeInvalid() from exc


def _prefix() -> str:
    return getattr(settings, "RISK_REDIS_PREFIX", "tessera:")


def _redis():
    from tessera.risk import state

    return state.redis_client()
