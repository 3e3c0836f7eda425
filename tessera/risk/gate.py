"""The check every join and hold passes, from Django (``middleware``) and from the sale's fast
lane (``fast_lane_guard``, named in ``settings.REQUEST_GUARDS``): a function over the WSGI
environ, the signed-in account and the target.

Quiet times cost no SQL: the rate is counted in memory or Redis, the switches come from the
per-process view (``state``), the score from memory (``scoring``); only a request that is
under attack or scores high is asked for a proof, and only those decisions are written.
"""

from __future__ import annotations

import random
import time
from datetime import datetime

from django.conf import settings

from tessera.core.clock import now as clock_now
from tessera.core.device import device_key as device_key_of
from tessera.risk import pow, scoring, state
from tessera.risk.errors import ChallengeInvalid, ChallengeRequired, RiskRefused, RiskSlowed
from tessera.risk.models import Action

PROOF_HEADER = "HTTP_X_TESSERA_PROOF"
PROOF_FIELD = "tessera_proof"
HARDER_BITS = 4
SLOW_SECONDS = 5

_slowed: dict[str, float] = {}


def _address(environ) -> str:
    from tessera.accounts.throttle import client_address

    class _Meta:
        META = environ

    return client_address(_Meta)


def sample_rate() -> float:
    return float(getattr(settings, "RISK_DECISION_SAMPLE", 0.05))


def check(
    environ,
    *,
    purpose: str,
    user,
    session_id: int | None = None,
    room_id: int | None = None,
    proof: str | None = None,
    now: datetime | None = None,
    device: str | None = None,
) -> None:
    """Let the request through, or raise ChallengeRequired (428, with a new challenge),
    ChallengeInvalid (403, a forged proof), RiskSlowed (429) or RiskRefused (403)."""
    at = time.time()
    target = f"s:{session_id}" if session_id is not None else f"r:{room_id}"
    rate = state.note_request(target, at)
    attacked = state.is_under_attack(session_id=session_id, room_id=room_id)
    now = now or clock_now()
    device = device or device_key_of(environ)
    score = scoring.observe(device_key=device, user=user, at=at, now=now)
    if not attacked and rate > state.threshold() > 0:
        from tessera.risk.services import start_automatic_attack

        attacked = start_automatic_attack(
            session_id=session_id, room_id=room_id, rate=rate, now=now
        )
    challenge_at, slow_at, refuse_at = scoring.thresholds()
    if not attacked and score.value < min(challenge_at, slow_at, refuse_at):
        return  # the quiet path: nothing read, nothing written
    proof = proof or environ.get(PROOF_HEADER, "")
    bits = state.difficulty(rate) + (HARDER_BITS if score.value >= challenge_at else 0)
    bits = min(bits, state.max_bits() + HARDER_BITS)
    if attacked:
        score.add("under_attack", 0, rate=rate)
    record = _recorder(environ, purpose, user, session_id, room_id, device, now, attacked)
    actor = f"{device}|{getattr(user, 'pk', '')}"
    if score.value >= refuse_at:
        record(score, Action.REFUSE, "")
        raise RiskRefused(details={"score": score.value})
    if score.value >= slow_at and _slowed.get(actor, 0) < at - 30:
        if len(_slowed) > 100_000:
            _slowed.clear()
        _slowed[actor] = at  # slowed once per 30 s, challenged (harder) in between
        record(score, Action.SLOW, "")
        raise RiskSlowed(details={"retry_after": SLOW_SECONDS, "scope": "risk"})
    user_id = getattr(user, "pk", None)
    # A proof needs the base work (more for a high score), not the current rate's: the rate
    # may rise while a phone solves.
    min_bits = state.base_bits() + (HARDER_BITS if score.value >= challenge_at else 0)
    if proof:
        try:
            parsed = pow.verify(
                proof=proof,
                purpose=purpose,
                device_key=device,
                user_id=user_id,
                now=now,
                min_bits=min_bits,
            )
        except ChallengeInvalid:
            score.add("proof_invalid", 0)
            record(score, Action.CHALLENGE, "invalid")
            if _forged(proof):
                raise
            raise _challenge(purpose, device, user_id, bits, now, score) from None
        scoring.score_features(score, parsed.features)
        if score.value >= refuse_at:
            record(score, Action.REFUSE, "valid")
            raise RiskRefused(details={"score": score.value})
        if random.random() < sample_rate() or score.value >= challenge_at:
            record(score, Action.ALLOW, "valid")
        return
    record(score, Action.CHALLENGE, "")
    raise _challenge(purpose, device, user_id, bits, now, score)


def _forged(proof: str) -> bool:
    """A proof whose challenge we never signed (as opposed to a spent or expired one)."""
    try:
        pow.parse(proof.rpartition(":")[0])
    except ChallengeInvalid:
        return True
    return False


def _challenge(purpose, device, user_id, bits, now, score) -> ChallengeRequired:
    token = pow.issue(purpose=purpose, device_key=device, user_id=user_id, bits=bits, now=now)
    return ChallengeRequired(
        details={"challenge": token, "difficulty": bits, "algorithm": "sha256"},
    )


def _recorder(environ, purpose, user, session_id, room_id, device, now, attacked):
    def record(score: scoring.Score, action: str, proof: str) -> None:
        from tessera.risk.services import record_decision

        record_decision(
            at=now,
            purpose=purpose,
            path=str(environ.get("PATH_INFO", ""))[:200],
            session_id=session_id,
            room_id=room_id,
            user=user if getattr(user, "pk", None) else None,
            device_key=device,
            address=_address(environ),
            score=score.value,
            action=action,
            under_attack=attacked,
            proof=proof,
            reasons=score.reasons,
        )

    return record


def challenge_for(
    environ,
    *,
    purpose: str,
    user,
    session_id=None,
    room_id=None,
    features=None,
    at_least: int = 0,
    now=None,
    device: str | None = None,
) -> tuple[str, int]:
    """A challenge fetched ahead (``GET /api/v1/risk/challenge``), the page's browser
    features signed into it: ``(token, bits)`` at the target's current difficulty."""
    now = now or clock_now()
    bits = state.base_bits()
    if session_id is not None or room_id is not None:
        target = f"s:{session_id}" if session_id is not None else f"r:{room_id}"
        bits = state.difficulty(state.current_rate(target))
    bits = min(max(bits, at_least), state.max_bits() + HARDER_BITS)
    token = pow.issue(
        purpose=purpose,
        device_key=device or device_key_of(environ),
        user_id=getattr(user, "pk", None),
        bits=bits,
        now=now,
        features=features or None,
    )
    return token, bits


def device_of(request) -> str:
    """The device of a Django request: the cookie's, or the one DeviceCookieMiddleware is
    handing out with this answer (so a retry carrying the new cookie is the same device)."""
    device_id = getattr(request, "device_id", None)
    return f"d:{device_id}" if device_id else device_key_of(request.META)


def fast_lane_guard(environ, *, purpose: str, user, session_id=None, room_id=None) -> None:
    """``settings.REQUEST_GUARDS`` entry: the same check for the sale's fast lane."""
    check(environ, purpose=purpose, user=user, session_id=session_id, room_id=room_id)


def forget() -> None:
    _slowed.clear()
