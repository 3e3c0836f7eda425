"""Proof of work verified on the server: accepted once, refused when replayed or forged."""

import hashlib
from datetime import timedelta

import pytest

from tessera.risk import pow
from tessera.risk.errors import ChallengeInvalid
from tessera.risk.models import UsedProof

pytestmark = pytest.mark.django_db

DEVICE = "d:device-one"


def solved(now, *, purpose="hold", device=DEVICE, user_id=7, bits=8, features=None):
    challenge = pow.issue(
        purpose=purpose, device_key=device, user_id=user_id, bits=bits, now=now, features=features
    )
    return challenge, pow.solve(challenge, bits)


def verify(proof, now, **overrides):
    given = {"purpose": "hold", "device_key": DEVICE, "user_id": 7, "now": now, **overrides}
    return pow.verify(proof=proof, **given)


def test_a_valid_solution_is_accepted_once_and_a_replay_is_refused(now):
    challenge, nonce = solved(now)
    parsed = verify(f"{challenge}:{nonce}", now)
    assert (parsed.purpose, parsed.user_id, parsed.bits) == ("hold", 7, 8)
    assert UsedProof.objects.count() == 1
    with pytest.raises(ChallengeInvalid):
        verify(f"{challenge}:{nonce}", now)
    assert UsedProof.objects.count() == 1


def test_the_work_is_really_checked(now):
    challenge, nonce = solved(now, bits=12)
    wrong = next(
        str(n)
        for n in range(10_000)
        if pow.leading_zero_bits(hashlib.sha256(f"{challenge}:{n}".encode()).digest()) < 12
    )
    with pytest.raises(ChallengeInvalid):
        verify(f"{challenge}:{wrong}", now)
    assert UsedProof.objects.count() == 0  # a bad nonce spends nothing
    verify(f"{challenge}:{nonce}", now)


@pytest.mark.parametrize(
    "overrides",
    [
        {"purpose": "join"},
        {"device_key": "d:another-device"},
        {"user_id": 8},
        {"user_id": None},
    ],
    ids=["other purpose", "other device", "other account", "no account"],
)
def test_a_proof_for_something_else_is_refused(now, overrides):
    challenge, nonce = solved(now)
    with pytest.raises(ChallengeInvalid):
        verify(f"{challenge}:{nonce}", now, **overrides)
    assert UsedProof.objects.count() == 0


def test_an_expired_challenge_is_refused(now):
    challenge, nonce = solved(now)
    with pytest.raises(ChallengeInvalid):
        verify(f"{challenge}:{nonce}", now + timedelta(seconds=pow.lifetime_seconds()))
    verify(f"{challenge}:{nonce}", now + timedelta(seconds=pow.lifetime_seconds() - 1))


def test_a_tampered_challenge_is_refused(now):
    challenge, _ = solved(now)
    payload, mac = challenge.split(".")
    easier = pow._b64(pow._unb64(payload).replace(b'"b":8', b'"b":0'))
    assert easier != payload
    for forged in (f"{easier}.{mac}", f"{payload}.{mac[:-2]}AA", f"{payload}.", "garbage"):
        with pytest.raises(ChallengeInvalid):
            verify(f"{forged}:{pow.solve(forged, 0)}", now)
    with pytest.raises(ChallengeInvalid):
        verify(f"{challenge}:12a", now)
    with pytest.raises(ChallengeInvalid):
        verify(challenge, now)
    assert UsedProof.objects.count() == 0


def test_a_challenge_easier_than_required_is_refused(now):
    challenge, nonce = solved(now, bits=4)
    with pytest.raises(ChallengeInvalid):
        verify(f"{challenge}:{nonce}", now, min_bits=8)


def test_features_are_signed_into_the_challenge(now):
    challenge, nonce = solved(now, features={"wd": 1, "lang": 0, "scr": "", "tch": 0})
    assert verify(f"{challenge}:{nonce}", now).features == {"wd": 1, "lang": 0, "scr": "", "tch": 0}


def test_the_replay_store_works_on_redis(now, settings, redis_url, redis_prefix):
    from tessera.risk import state

    settings.REDIS_URL = redis_url
    settings.RISK_REDIS_PREFIX = redis_prefix + ":"
    state._client.cache_clear()
    challenge, nonce = solved(now)
    verify(f"{challenge}:{nonce}", now)
    with pytest.raises(ChallengeInvalid):
        verify(f"{challenge}:{nonce}", now)
    assert UsedProof.objects.count() == 0  # Redis kept it, not the table
