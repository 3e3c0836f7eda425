"""Settings for the test suite: the same as production but for a non-UTC zone
(so a naive datetime fails loudly), tasks that run when enqueued and sandbox callbacks
delivered over HTTP before the request that decided the payment returns. A developer's own
Redis (``TESSERA_REDIS_URL``) is never used: the tests that run on Redis get the tests' own
server from the ``redis_url`` fixture (``TESSERA_TEST_REDIS_URL`` or one the session starts)."""

from tessera.settings import *  # noqa: F403

TIME_ZONE = "America/Sao_Paulo"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
SANDBOX_DELIVERY = "inline"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REDIS_URL = ""
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "tessera",
    }
}
# The back-office tests sign operators in without an authenticator; the two-step sign-in
# tests turn the requirement on (tessera/accounts/tests/test_two_factor.py).
TWO_FACTOR_REQUIRED_FOR_OPERATORS = False
# Rate limits are off for the suite (many tests sign in, hold and buy from one address in a
# row); tessera/ratelimit/tests turn them on with their own buckets and backends.
RATELIMIT_ENABLED = False
# Risk control (tessera/risk): the whole suite's scripted clients are regular, share an
# address and use accounts minutes old, so the score's thresholds and the automatic
# under-attack rate are off here; tessera/risk/tests turn them on (the ``risk_on`` fixture).
RISK_CHALLENGE_SCORE = 101
RISK_SLOW_SCORE = 101
RISK_REFUSE_SCORE = 101
RISK_ATTACK_RATE = 0
RISK_POW_BITS = 8
# One process, and every switch is set through tessera.risk.services (which makes this
# process read the switches again): the view of the switches may stay as long as a test.
RISK_VIEW_SECONDS = 3600
# Likewise the sessions' verified-contact requirements (set through tessera.ratelimit's
# services, which make this process read them again; conftest forgets an earlier test's).
RATELIMIT_REQUIREMENTS_SECONDS = 3600
# The API call log is written by the tests themselves (tessera.apikeys.calls.flush), not by
# a thread with its own connection.
APIKEYS_FLUSH_SECONDS = 0
