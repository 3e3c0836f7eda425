import pytest

from tessera.ratelimit import buckets, verification

TIGHT = {
    "sign_in": {"ip": (1, 2), "account": (1, 2)},
    "sign_up": {"ip": (1, 1)},
    "queue_join": {"account": (1, 1)},
    "hold": {"device": (1, 1), "account": (1, 5)},
    "checkout": {"ip": (1, 5), "account": (1, 1)},
    "payment": {"account": (1, 1)},
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
