import pytest
from django.utils import timezone

from tessera.apikeys import calls
from tessera.apikeys.tests.factories import make_partner
from tessera.inventory.tests.factories import make_sale
from tessera.ratelimit import buckets
from tessera.sale import channels


@pytest.fixture(autouse=True)
def _fresh_memory():
    channels.forget()
    calls.reset()
    buckets.clear_caches()
    yield
    channels.forget()
    calls.reset()
    buckets.clear_caches()


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def sale(db, now):
    """A live session on sale: zone A (¥380, block S1), zone B (¥280, block S2)."""
    return make_sale(sections=2, rows=3, seats_per_row=10, now=now)


@pytest.fixture
def partner(db):
    return make_partner(slug="dist-a")


@pytest.fixture
def other(db):
    return make_partner(slug="dist-b")


@pytest.fixture
def wsgi_apps():
    from tessera import wsgi

    return {"lane": wsgi.application, "django": wsgi.django_application}
