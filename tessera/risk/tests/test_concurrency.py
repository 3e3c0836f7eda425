"""One proof, many simultaneous uses: exactly one is accepted (real threads; PostgreSQL
when TESSERA_DATABASE_URL names one, else SQLite)."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import connection

from tessera.risk import pow
from tessera.risk.errors import ChallengeInvalid
from tessera.risk.models import UsedProof

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def test_a_proof_sent_eight_times_at_once_is_accepted_once(now):
    challenge = pow.issue(purpose="join", device_key="d:x", user_id=3, bits=8, now=now)
    proof = f"{challenge}:{pow.solve(challenge, 8)}"
    barrier = Barrier(THREADS)

    def use(_):
        barrier.wait()
        try:
            pow.verify(proof=proof, purpose="join", device_key="d:x", user_id=3, now=now)
            return True
        except ChallengeInvalid:
            return False
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        accepted = list(pool.map(use, range(THREADS)))
    assert sum(accepted) == 1
    assert UsedProof.objects.count() == 1
