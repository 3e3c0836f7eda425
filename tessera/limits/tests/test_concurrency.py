"""Many accounts on one device (or one phone number) buying at once never pass the limit.

Real threads with their own connections on PostgreSQL (the advisory lock on the device's or
phone's key serialises them); SQLite runs one writer at a time, so there the same calls run
one after another (``sale.tests.test_concurrency.race``) and the counts must agree.
"""

import pytest
from django.utils import timezone

from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.limits import services as limits
from tessera.limits.models import PurchaseMark
from tessera.limits.tests.factories import set_limits
from tessera.orders.models import Order
from tessera.sale import services
from tessera.sale.choices import PlaceChoice
from tessera.sale.tests.test_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 12
LIMIT = 4


def checkout_all(sale, buyers, device_of, now):
    zone = sale.zones["A"].pk

    def buy(index):
        return services.checkout(
            session_id=sale.session.pk,
            user=buyers[index],
            choice=PlaceChoice(zone_id=zone, quantity=1),
            provider="sandbox",
            now=now,
            buyer=limits.Buyer(device=device_of(index), address=f"10.{index}.0.1"),
        )

    return race(buy, list(range(len(buyers))))


def test_one_device_on_many_accounts_at_once_never_passes_its_limit():
    now = timezone.now()
    sale = make_sale(sections=1, rows=2, seats_per_row=20, now=now)
    set_limits(event=sale.session.event, device_per_session=LIMIT)
    buyers = [make_buyer() for _ in range(THREADS)]

    results = checkout_all(sale, buyers, lambda index: "d:the-bot-phone", now)

    assert sum(isinstance(r, services.Checkout) for r in results) == LIMIT
    assert sorted(r for r in results if isinstance(r, str)) == ["limit_device"] * (THREADS - LIMIT)
    assert Order.objects.filter(session=sale.session).count() == LIMIT
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == LIMIT
    assert PurchaseMark.objects.filter(kind="device").count() == LIMIT


def test_one_phone_on_many_accounts_at_once_never_passes_its_limit():
    now = timezone.now()
    sale = make_sale(sections=1, rows=2, seats_per_row=20, now=now)
    set_limits(event=sale.session.event, phone_per_session=LIMIT)
    # the same number, written differently on every account
    spellings = ["+86 138 0013 8000", "+8613800138000", "0086-138-0013-8000"]
    buyers = [make_buyer(phone=spellings[i % 3]) for i in range(THREADS)]

    results = checkout_all(sale, buyers, lambda index: f"d:device-{index}", now)

    assert sum(isinstance(r, services.Checkout) for r in results) == LIMIT
    assert sorted(r for r in results if isinstance(r, str)) == ["limit_phone"] * (THREADS - LIMIT)
    assert Hold.objects.filter(session=sale.session).count() == LIMIT
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == LIMIT


def test_many_devices_each_within_its_limit_all_buy_at_once():
    """The lock is per device: twelve devices buying one place each all succeed."""
    now = timezone.now()
    sale = make_sale(sections=1, rows=2, seats_per_row=20, now=now)
    set_limits(event=sale.session.event, device_per_session=1)
    buyers = [make_buyer() for _ in range(THREADS)]

    results = checkout_all(sale, buyers, lambda index: f"d:device-{index}", now)

    assert all(isinstance(r, services.Checkout) for r in results), results
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == THREADS
