"""Settings for the test suite: the same as production but for a non-UTC zone
(so a naive datetime fails loudly), tasks that run when enqueued and sandbox callbacks
delivered over HTTP before the request that decided the payment returns."""

from tessera.settings import *  # noqa: F403

TIME_ZONE = "America/Sao_Paulo"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
SANDBOX_DELIVERY = "inline"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The back-office tests sign operators in without an authenticator; the two-step sign-in
# tests turn the requirement on (tessera/accounts/tests/test_two_factor.py).
TWO_FACTOR_REQUIRED_FOR_OPERATORS = False
