import pytest
from django.utils import timezone

from tessera.inventory.tests.factories import make_buyer, make_sale


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def risk_on(settings):
    """The production thresholds (the suite's settings switch them off)."""
    settings.RISK_CHALLENGE_SCORE = 40
    settings.RISK_SLOW_SCORE = 60
    settings.RISK_REFUSE_SCORE = 80
    settings.RISK_POW_BITS = 8
    settings.RISK_POW_MAX_BITS = 12
    return settings


@pytest.fixture
def sale(db, now):
    return make_sale(sections=2, rows=3, seats_per_row=10, standing_capacity=20, now=now)


@pytest.fixture
def buyer(db):
    return make_buyer(email="fan@example.com", preferred_language="en")
