"""Fixtures of the waiting-room tests: the hold guard switched on, a fresh per-process view,
and the ``backend`` fixture that runs a test on the database and on the tests' Redis
(``redis_url`` in the root conftest; its own key prefix, deleted afterwards)."""

import pytest
from django.test import override_settings

from tessera.inventory import admission
from tessera.waitingroom import backends, status

GUARD = "tessera.waitingroom.guards.require_admission"


@pytest.fixture(autouse=True)
def _hold_guard():
    with override_settings(HOLD_GUARDS=[GUARD]):
        admission.clear_guard_cache()
        status.clear_views()
        yield
    admission.clear_guard_cache()
    status.clear_views()


@pytest.fixture(params=["database", "redis"])
def backend(request):
    """The configured backend: the database, then Redis under a test-only prefix."""
    if request.param == "database":
        with override_settings(REDIS_URL=""):
            yield backends.get_backend()
        return
    # Asked for here, not in the signature, so the database runs start no Redis.
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    with override_settings(REDIS_URL=url, WAITINGROOM_REDIS_PREFIX=prefix):
        redis_backend = backends.get_backend()
        assert redis_backend.name == "redis"
        yield redis_backend
