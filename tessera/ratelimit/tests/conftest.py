import pytest

from tessera.ratelimit import buckets, verification

TIGHT = {
    "sign_in": {"ip": (60, 2), "account": (60, 2)},
    "sign_up": {"ip": (60, 1)},
    "queue_join": {"account": (60, 1)},
    "hold": {"device": (60, 1), "account": (60, 1)},
    "checkout": {"ip": (60, 1), "account": (60, 1)},
    "payment": {"account": (60, 1)},
    "verify_send": {"account": (3, 3)},
    "verify_confirm": {"account": (30, 20)},
}


@pytest.fixture(autouse=True)
def _fresh_tables():
    buckets.clear_caches()
    verification.forget_requirements()
    yield
    buckets.clear_caches()
    verification.forget_requirements()


@pytest.fixture
def limits(settings):
    """Rate limits on, in this process's memory, with buckets of one or two requests."""
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_BACKEND = "memory"
    settings.RATELIMITS = TIGHT
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    return settings
