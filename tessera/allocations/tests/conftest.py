import pytest
from django.utils import timezone

from tessera.allocations.tests.factories import make_world
from tessera.partners import signals


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def world(db, now):
    return make_world(now=now)


@pytest.fixture
def partner_events():
    """The partner events emitted during the test, as (kind, organization ids, payload, key)."""
    heard = []

    def receiver(sender, kind, organization_ids, payload, key, **kwargs):
        heard.append((kind, organization_ids, payload, key))

    signals.partner_event.connect(receiver, dispatch_uid="allocations-test")
    yield heard
    signals.partner_event.disconnect(dispatch_uid="allocations-test")
