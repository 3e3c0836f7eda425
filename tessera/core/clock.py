"""The one clock. Read it once per request and pass ``now`` into services."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
