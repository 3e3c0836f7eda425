"""Background work of the key pages (``settings.PERIODIC_TASKS``)."""

from django_tasks import task

from tessera.apikeys import services
from tessera.core.clock import now as clock_now


@task()
def tidy_key_rows() -> int:
    """Delete sealed keys nobody came to see and call counts older than the log keeps."""
    now = clock_now()
    return services.forget_stale_reveals(now=now) + services.prune_call_counts(now=now)
