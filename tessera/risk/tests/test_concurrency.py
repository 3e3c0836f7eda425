"""One proof, many simultaneous uses: exactly one is accepted (real threads; PostgreSQL
when TESSERA_DATABASE_URL names one, else SQLite)."""

import pytest

from tessera.core.testing import race
from tessera.risk import pow
from tessera.risk.errors import ChallengeInvalid
from tessera.risk.models import UsedProof

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def test_a_proof_sent_eight_times_at_once_is_accepted_once(now):
    challenge = pow.issue(purpose="join", device_key="d:x", user_id=3, bits=8, now=now)
    proof = f"{challenge}:{pow.solve(challenge, 8)}"

    def use():
        pow.verify(proof=proof, purpose="join", device_key="d:x", user_id=3, now=now)
        return True

    # one thread each at the same moment (SQLite's lock waited out)
    outcomes = race(*[use] * THREADS)
    assert all(isinstance(error, ChallengeInvalid) for _, error in outcomes if error is not None)
    accepted = [result for result, _ in outcomes if result]
    assert sum(accepted) == 1
    assert UsedProof.objects.count() == 1
