"""The waiting list through its services: join rules, offers in join order when places
come back (released holds, refunds, unblocked places), expiry passing to the next fan,
limits, leaving; refused input changes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import TestCase

from tessera.aftersales import services as aftersales
from tessera.aftersales.tests.factories import bought
from tessera.catalog.models import Session
from tessera.core.errors import InvalidInput
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.notifications.models import Message
from tessera.orders import services as orders
from tessera.payments import services as payments
from tessera.payments.testing import pay_locally
from tessera.waitlist import selectors, services
from tessera.waitlist.errors import (
    AlreadyWaiting,
    PlacesStillOnSale,
    QuantityNotAllowed,
    WaitlistClosed,
    ZoneNotFound,
)
from tessera.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tessera.waitlist.tests.factories import fan, make_soldout, now_

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return now_()


def test_fans_join_a_sold_out_session_and_see_their_positions(now):
    sale, _ = make_soldout(now=now)
    a, b = fan(), fan()
    first = services.join_waitlist(session=sale.session, user=a, quantity=2, now=now)
    second = services.join_waitlist(
        session=sale.session, user=b, quantity=1, zone_id=sale.zones["A"].pk, now=now
    )
    assert (selectors.position_of(first), selectors.position_of(second)) == (1, 2)
    services.leave_waitlist(entry=first, user=a, now=now)
    assert selectors.position_of(WaitlistEntry.objects.get(pk=second.pk)) == 1
    assert WaitlistEntry.objects.get(pk=first.pk).status == EntryStatus.LEFT


def test_joining_is_refused_with_nothing_written(now):
    sale, [hold, _other] = make_soldout(now=now, seats=6, max_tickets_per_account=4)
    a = fan()
    services.join_waitlist(session=sale.session, user=a, quantity=1, now=now)
    b = fan()
    cases = [
        (AlreadyWaiting, {"user": a, "quantity": 1}),
        (InvalidInput, {"user": b, "quantity": 0}),
        (InvalidInput, {"user": b, "quantity": "two"}),
        (InvalidInput, {"user": b, "quantity": True}),
        (QuantityNotAllowed, {"user": b, "quantity": 5}),
        (QuantityNotAllowed, {"user": b, "quantity": 10**9}),
        (ZoneNotFound, {"user": b, "quantity": 1, "zone_id": 999_999}),
        (InvalidInput, {"user": b, "quantity": 1, "max_price": "-3"}),
        (InvalidInput, {"user": b, "quantity": 1, "max_price": "NaN"}),
        (ZoneNotFound, {"user": b, "quantity": 1, "max_price": "1.00"}),  # no zone that cheap
    ]
    for error, kwargs in cases:
        with pytest.raises(error):
            services.join_waitlist(session=sale.session, now=now, **kwargs)
    assert WaitlistEntry.objects.count() == 1
    # a zone of another session is refused too
    other, _ = make_soldout(now=now)
    with pytest.raises(ZoneNotFound):
        services.join_waitlist(
            session=sale.session, user=b, quantity=1, zone_id=other.zones["A"].pk, now=now
        )
    # places on sale: buy them instead
    inventory.release_hold(hold=hold, user=None, now=now)
    with pytest.raises(PlacesStillOnSale):
        services.join_waitlist(session=sale.session, user=b, quantity=1, now=now)
    # a session no longer on sale
    with pytest.raises(WaitlistClosed):
        services.join_waitlist(
            session=sale.session, user=b, quantity=1, now=sale.session.starts_at + timedelta(1)
        )
    assert WaitlistEntry.objects.count() == 1


def test_a_released_hold_is_offered_in_join_order_and_the_offer_is_a_hold(now):
    sale, [hold] = make_soldout(now=now, seats=4)
    a, b, c = fan(), fan(), fan()
    ea = services.join_waitlist(session=sale.session, user=a, quantity=3, now=now)
    eb = services.join_waitlist(session=sale.session, user=b, quantity=1, now=now)
    ec = services.join_waitlist(session=sale.session, user=c, quantity=1, now=now)

    # when the holder lets the 4 places go
    inventory.release_hold(hold=hold, user=None, now=now)

    # then a gets 3 and b gets 1; c waits, first in line now; nothing is on sale
    offers = {o.user_id: o for o in WaitlistOffer.objects.all()}
    assert set(offers) == {a.pk, b.pk}
    assert offers[a.pk].hold.quantity == 3 and offers[b.pk].hold.quantity == 1
    assert offers[a.pk].expires_at == now + timedelta(minutes=15)
    assert offers[a.pk].hold.expires_at == offers[a.pk].expires_at
    assert (
        InventoryUnit.objects.filter(session=sale.session, status=UnitStatus.AVAILABLE).count() == 0
    )
    assert WaitlistEntry.objects.get(pk=ea.pk).status == EntryStatus.OFFERED
    assert WaitlistEntry.objects.get(pk=eb.pk).status == EntryStatus.OFFERED
    assert selectors.position_of(WaitlistEntry.objects.get(pk=ec.pk)) == 1
    # and each was told, once
    assert Message.objects.filter(kind="waitlist_offer", user=a, channel="inbox").count() == 1
    msg = Message.objects.get(kind="waitlist_offer", user=b, channel="inbox")
    assert msg.context["url"] == f"/waitlist/offers/{offers[b.pk].pk}/"

    # when b's offer runs out unclaimed
    later = now + timedelta(minutes=16)
    services.settle_offers(now=later)

    # then b's entry expired and its place went to c
    assert WaitlistOffer.objects.get(pk=offers[b.pk].pk).status == OfferStatus.EXPIRED
    assert WaitlistEntry.objects.get(pk=eb.pk).status == EntryStatus.EXPIRED
    offer_c = WaitlistOffer.objects.get(user=c)
    assert offer_c.status == OfferStatus.OPEN and offer_c.hold.status == HoldStatus.ACTIVE
    assert offer_c.created_at == later


def test_a_claimed_offer_is_bought_through_the_normal_checkout_and_converts(now):
    sale, [hold] = make_soldout(now=now, seats=2)
    a = fan()
    entry = services.join_waitlist(session=sale.session, user=a, quantity=2, now=now)
    inventory.release_hold(hold=hold, user=None, now=now)
    offer = WaitlistOffer.objects.get()

    order = orders.place_order(hold=offer.hold, user=a, attendees=["A", "B"], now=now)
    payment = payments.start_payment(order=order, provider="sandbox", user=a, now=now)
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=payment.pk, now=now)
    services.settle_offers(now=now + timedelta(minutes=1))

    assert WaitlistOffer.objects.get().status == OfferStatus.CONVERTED
    assert WaitlistEntry.objects.get(pk=entry.pk).status == EntryStatus.CONVERTED
    assert InventoryUnit.objects.filter(session=sale.session, status=UnitStatus.SOLD).count() == 2


def test_an_approved_refund_goes_to_the_waiting_fan_not_the_public(now):
    sale, [hold] = make_soldout(now=now, seats=3)
    buyer = fan()
    inventory.release_hold(hold=hold, user=None, now=now)
    order = bought(sale, buyer, [1, 2, 3], now)
    a = fan()
    services.join_waitlist(
        session=sale.session, user=a, quantity=1, max_price=Decimal("380.00"), now=now
    )

    with TestCase.captureOnCommitCallbacks(execute=True):
        aftersales.request_refund(
            order=order, user=buyer, line_ids=[order.lines.order_by("pk")[0].pk], now=now
        )

    offer = WaitlistOffer.objects.get()
    assert offer.user_id == a.pk and offer.quantity == 1
    assert (
        InventoryUnit.objects.filter(session=sale.session, status=UnitStatus.AVAILABLE).count() == 0
    )


def test_an_unblocked_place_and_a_zone_too_dear_are_handled(now):
    sale, [hold, _s2] = make_soldout(now=now, seats=2, sections=2)  # A 380.00, B 280.00
    a, b = fan(), fan()
    services.join_waitlist(session=sale.session, user=a, quantity=1, max_price="300", now=now)
    services.join_waitlist(session=sale.session, user=b, quantity=1, now=now)
    # a place of zone A comes back: a (up to 300) is passed over, b (any zone) gets it
    [unit] = list(sale.units("S1").values_list("id", flat=True)[:1])
    inventory.release_hold(hold=hold, user=None, now=now)
    assert [(o.user_id, o.zone.code) for o in WaitlistOffer.objects.all()] == [(b.pk, "A")]
    assert WaitlistEntry.objects.get(user=a).status == EntryStatus.WAITING
    # a blocked place of zone B put back goes to a
    b_unit = sale.units("S2").first()
    Hold.objects.filter(pk=hold.pk)  # (the other section's holder still holds S2)
    InventoryUnit.objects.filter(pk=b_unit.pk).update(
        status=UnitStatus.BLOCKED, hold=None, hold_expires_at=None
    )
    inventory.unblock_units(session=sale.session, unit_ids=[b_unit.pk], actor=None, now=now)
    assert WaitlistOffer.objects.get(user=a).zone.code == "B"
    assert unit


def test_an_offer_never_takes_a_fan_over_the_account_limit(now):
    sale, [hold, hold2] = make_soldout(
        now=now, seats=5, max_tickets_per_order=3, max_tickets_per_account=3
    )
    a, b, c = fan(), fan(), fan()
    # a place comes free without an event (a hold ran out) before anyone waits, and a
    # holds it at the counter
    [unit] = list(InventoryUnit.objects.filter(hold=hold).values_list("id", flat=True)[:1])
    InventoryUnit.objects.filter(pk=unit).update(hold_expires_at=now - timedelta(seconds=1))
    inventory.hold_units(session=sale.session, user=a, unit_ids=[unit], now=now)
    services.join_waitlist(session=sale.session, user=a, quantity=2, now=now)
    services.join_waitlist(session=sale.session, user=b, quantity=1, now=now)
    services.join_waitlist(session=sale.session, user=c, quantity=1, now=now)
    # and the organizer lowers the limit to 2 per account
    Session.objects.filter(pk=sale.session.pk).update(max_tickets_per_account=2)
    sale.session.refresh_from_db()

    # when two places come back
    inventory.release_hold(hold=hold2, user=None, now=now)

    # then a (1 held, limit 2) is passed over; b and c get one each
    assert not WaitlistOffer.objects.filter(user=a).exists()
    assert WaitlistEntry.objects.get(user=a).status == EntryStatus.WAITING
    assert WaitlistOffer.objects.get(user=b).quantity == 1
    assert WaitlistOffer.objects.get(user=c).quantity == 1
    # and a, holding 1 of 2, may not ask for 2 in a new entry
    services.leave_waitlist(entry=WaitlistEntry.objects.get(user=a), user=a, now=now)
    with pytest.raises(QuantityNotAllowed):
        services.join_waitlist(session=sale.session, user=a, quantity=2, now=now)


def test_leaving_with_an_offer_passes_it_on(now):
    sale, [hold] = make_soldout(now=now, seats=1)
    a, b = fan(), fan()
    ea = services.join_waitlist(session=sale.session, user=a, quantity=1, now=now)
    services.join_waitlist(session=sale.session, user=b, quantity=1, now=now)
    inventory.release_hold(hold=hold, user=None, now=now)
    services.leave_waitlist(entry=WaitlistEntry.objects.get(pk=ea.pk), user=a, now=now)
    assert WaitlistOffer.objects.get(user=a).status == OfferStatus.DECLINED
    assert WaitlistOffer.objects.get(user=b).status == OfferStatus.OPEN
    # and a may join again, at the end
    again = services.join_waitlist(session=sale.session, user=a, quantity=1, now=now)
    assert again.status == EntryStatus.WAITING
