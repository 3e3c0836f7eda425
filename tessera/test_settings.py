"""Settings for the test suite: the same as production but for a non-UTC zone
(so a naive datetime fails loudly) and tasks that run when enqueued."""

from tessera.settings import *  # noqa: F403

TIME_ZONE = "America/Sao_Paulo"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
