import pytest
from django.utils import timezone

from tessera.partnerapi.tests.factories import allocate, make_distributor, make_partner_sale


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def world(db, now):
    """Distributors A and B; organizer 1's session ``shared`` (block S1 allocated to A, the
    rest open pool), organizer 2's session ``a_only`` (all allocated to A) and ``b_only``
    (all allocated to B)."""
    a = make_distributor(code="dist-a", name="Alpha Tickets", now=now)
    b = make_distributor(code="dist-b", name="Beta Tickets", now=now)
    shared = make_partner_sale(name="Shared Gala", now=now)
    a_only = make_partner_sale(name="ALPHA-ONLY Final", now=now)
    b_only = make_partner_sale(
        name="BETA-ONLY Derby", now=now, organization=a_only.session.event.organization
    )
    allocate(shared, a.channel, section="S1", now=now)
    allocate(a_only, a.channel, section=None, now=now)
    allocate(b_only, b.channel, section=None, now=now)
    return {"a": a, "b": b, "shared": shared, "a_only": a_only, "b_only": b_only}
