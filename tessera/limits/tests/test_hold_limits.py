"""Each purchase limit refuses the hold that would pass it, with its code, on SQLite and
PostgreSQL alike; nothing is held then."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from tessera.catalog.tests.factories import make_session
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.limits import services as limits
from tessera.limits.errors import PurchaseLimitReached
from tessera.limits.models import PurchaseMark
from tessera.limits.tests.factories import set_limits
from tessera.sale import services as sale_services
from tessera.sale.choices import PlaceChoice

pytestmark = pytest.mark.django_db

PHONE = "+86 138-0013-8000"


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def sale(now):
    return make_sale(sections=1, rows=2, seats_per_row=10, now=now)


def hold(sale, user, now, quantity=1, device="d:phone-1", address="10.1.2.3", session=None):
    session = session or sale.session
    zone = session.price_zones.first()
    return sale_services.hold_places(
        session=session,
        user=user,
        choice=PlaceChoice(zone_id=zone.pk, quantity=quantity),
        now=now,
        buyer=limits.Buyer(device=device, address=address),
    )


def another_session(sale, now):
    """A second session of the sale's event on the same layout, zone A over section S1."""
    from tessera.catalog.models import ZoneAssignment
    from tessera.catalog.tests.factories import make_zone
    from tessera.inventory.services import generate_units

    evening = make_session(event=sale.session.event, layout=sale.layout)
    zone = make_zone(session=evening, code="A")
    ZoneAssignment.objects.create(session=evening, zone=zone, section=sale.sections["S1"])
    generate_units(session=evening, now=now)
    return evening


def refused(call) -> PurchaseLimitReached:
    held_before = InventoryUnit.objects.filter(status=UnitStatus.HELD).count()
    holds_before = Hold.objects.count()
    marks_before = PurchaseMark.objects.count()
    with pytest.raises(PurchaseLimitReached) as caught:
        call()
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == held_before
    assert Hold.objects.count() == holds_before
    assert PurchaseMark.objects.count() == marks_before
    return caught.value


def test_the_same_device_from_another_account_is_refused_past_its_limit(sale, now):
    set_limits(event=sale.session.event, device_per_session=3)
    hold(sale, make_buyer(), now, quantity=2, address="10.0.0.1")

    error = refused(lambda: hold(sale, make_buyer(), now, quantity=2, address="10.9.0.1"))

    assert error.code == "limit_device"
    assert error.status == 409
    assert error.details == {
        "limit": 3,
        "already": 2,
        "left": 1,
        "requested": 2,
        "scope": "session",
    }
    with translation.override("en"):
        assert str(error.message) == (
            "At most 3 tickets per device for this session; 1 left, you asked for 2."
        )
    assert hold(sale, make_buyer(), now, quantity=1, address="10.8.0.1").quantity == 1


def test_the_same_phone_on_two_accounts_is_refused_past_its_limit(sale, now):
    set_limits(event=sale.session.event, phone_per_session=2)
    hold(sale, make_buyer(phone=PHONE), now, quantity=2, device="d:a", address="10.0.0.1")

    with translation.override("zh-hans"):
        error = refused(
            lambda: hold(
                sale, make_buyer(phone="+8613800138000"), now, device="d:b", address="10.9.0.1"
            )
        )

    assert error.code == "limit_phone"
    assert error.details["left"] == 0
    assert str(error.message) == "本场次每个手机号最多 2 张票；还剩 0 张，您要了 1 张。"
    # another phone number buys
    assert hold(sale, make_buyer(phone="13900000000"), now, device="d:c", address="10.7.0.1")


@pytest.mark.parametrize(
    ("first", "same_range", "other_range"),
    [
        ("10.1.2.3", "10.1.2.250", "10.1.3.3"),
        ("2001:db8:1:1::5", "2001:db8:1:ffff::9", "2001:db8:2::5"),
    ],
)
def test_one_address_range_is_refused_past_its_limit(sale, now, first, same_range, other_range):
    set_limits(event=sale.session.event, address_per_session=1)
    hold(sale, make_buyer(), now, device="d:a", address=first)

    error = refused(lambda: hold(sale, make_buyer(), now, device="d:b", address=same_range))

    assert error.code == "limit_address"
    assert hold(sale, make_buyer(), now, device="d:c", address=other_range).quantity == 1


def test_an_account_across_the_event_is_refused_past_its_limit(sale, now):
    evening = another_session(sale, now)
    set_limits(event=sale.session.event, account_per_event=3)
    fan = make_buyer()
    hold(sale, fan, now, quantity=2, device="d:a")

    error = refused(lambda: hold(sale, fan, now, quantity=2, device="d:a", session=evening))

    assert error.code == "limit_account"
    assert error.details == {"limit": 3, "already": 2, "left": 1, "requested": 2, "scope": "event"}
    assert hold(sale, fan, now, quantity=1, device="d:a", session=evening).quantity == 1


def test_a_device_across_the_event_and_a_session_override(sale, now):
    evening = another_session(sale, now)
    event = sale.session.event
    set_limits(event=event, device_per_session=1, device_per_event=3)
    set_limits(event=event, session=evening, device_per_session=2)  # the evening allows 2
    hold(sale, make_buyer(), now, quantity=1)
    assert refused(lambda: hold(sale, make_buyer(), now)).details["scope"] == "session"
    hold(sale, make_buyer(), now, quantity=2, session=evening)

    error = refused(lambda: hold(sale, make_buyer(), now, session=evening))

    assert error.code == "limit_device"
    # the evening's own limit (2) is reached before the event's (3)
    assert error.details["scope"] == "session"
    set_limits(event=event, session=evening, device_per_session=5)
    error = refused(lambda: hold(sale, make_buyer(), now, session=evening))
    assert (error.details["scope"], error.details["already"]) == ("event", 3)


def test_expired_and_released_holds_no_longer_count(sale, now):
    from datetime import timedelta

    from tessera.inventory.services import release_hold

    set_limits(event=sale.session.event, device_per_session=2)
    hold(sale, make_buyer(), now, quantity=2)
    later = now + timedelta(minutes=sale.session.hold_minutes + 1)
    second_fan = make_buyer()
    second = hold(sale, second_fan, later, quantity=2)  # the first hold expired
    refused(lambda: hold(sale, make_buyer(), later))

    release_hold(hold=second, user=second_fan, now=later)

    assert hold(sale, make_buyer(), later, quantity=2).quantity == 2


def test_marks_keep_no_phone_device_or_address_in_clear(sale, now):
    set_limits(event=sale.session.event, phone_per_session=5)
    hold(sale, make_buyer(phone=PHONE), now, device="d:secret-device", address="203.0.113.7")

    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, key_hash FROM limits_purchasemark ORDER BY kind")
        rows = cursor.fetchall()
    assert [kind for kind, _ in rows] == ["address", "device", "phone"]
    dump = repr(rows)
    for clear in ("13800138000", "secret-device", "203.0.113", "8613800138000"):
        assert clear not in dump
    assert all(len(digest) == 64 for _, digest in rows)


def test_a_session_without_limits_writes_no_marks(sale, now):
    hold(sale, make_buyer(phone=PHONE), now, quantity=2)
    hold(sale, make_buyer(phone=PHONE), now, quantity=2)
    assert PurchaseMark.objects.count() == 0
    assert Hold.objects.count() == 2


def test_the_checkout_api_refuses_the_same_device_with_its_code(sale, now):
    set_limits(event=sale.session.event, device_per_session=1)
    body = json.dumps({"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"})
    first, second = Client(), Client()
    first.force_login(make_buyer())
    second.force_login(make_buyer())
    # no device cookie: the device is the address and the browser's headers
    headers = {
        "HTTP_USER_AGENT": "bot/1.0",
        "HTTP_ACCEPT_LANGUAGE": "zh-hans",
        "REMOTE_ADDR": "198.51.100.4",
    }
    url = f"/api/v1/sessions/{sale.session.pk}/checkout"
    assert first.post(url, body, content_type="application/json", **headers).status_code == 201

    answer = second.post(url, body, content_type="application/json", **headers)

    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "limit_device"
    assert error["details"] == {
        "limit": 1,
        "already": 1,
        "left": 0,
        "requested": 1,
        "scope": "session",
    }
    assert "每台设备最多 1 张票" in error["message"]
