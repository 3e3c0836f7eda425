"""Fixtures of the waiting-room tests: the hold guard switched on, a fresh per-process view,
and the ``backend`` fixture that runs a test on the database and on Redis (its own key
prefix, deleted afterwards)."""

import uuid

import pytest
from django.test import override_settings

from tessera.inventory import admission
from tessera.waitingroom import backends, status

GUARD = "tessera.waitingroom.guards.require_admission"
REDIS_URL = "redis://127.0.0.1:6379/7"


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
    prefix = f"tessera-test:{uuid.uuid4().hex[:12]}"
    with override_settings(REDIS_URL=REDIS_URL, WAITINGROOM_REDIS_PREFIX=prefix):
        redis_backend = backends.get_backend()
        assert redis_backend.name == "redis"
        yield redis_backend
        keys = list(redis_backend.client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            redis_backend.client.delete(*keys)
