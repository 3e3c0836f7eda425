"""A hold that runs out in a session with waiting fans: its places go to the waiting list
first, never to a buyer who keeps trying (``inventory.ReturnQueue``). Through the services,
the one-call checkout (the fast path's statements on PostgreSQL) and the distributor's
quote; the public gets the places the list cannot use, and every place once nobody waits."""

from datetime import timedelta

import pytest

from tessera.inventory import selectors as inventory_selectors
from tessera.inventory import services as inventory
from tessera.inventory.errors import PlacesUnavailable
from tessera.inventory.models import Hold, InventoryUnit, ReturnQueue, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_channel
from tessera.partnerapi import selectors as partner_selectors
from tessera.sale import services as sale_services
from tessera.sale.choices import PlaceChoice
from tessera.waitlist import services
from tessera.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tessera.waitlist.tests.factories import fan, make_soldout, now_

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return now_()


def run_out(hold: Hold, at) -> None:
    """The hold's time is up at ``at`` (nobody has tidied it yet)."""
    Hold.objects.filter(pk=hold.pk).update(expires_at=at)
    InventoryUnit.objects.filter(hold=hold).update(hold_expires_at=at)


def checkout(sale, user, now, **choice):
    return sale_services.checkout(
        session_id=sale.session.pk,
        user=user,
        choice=PlaceChoice.parse(choice),
        now=now,
        provider="sandbox",
    )


def test_places_of_a_hold_that_ran_out_wait_for_the_tidy_and_go_to_the_list_first(now):
    sale, [hold] = make_soldout(now=now, seats=2)
    waiting = fan()
    entry = services.join_waitlist(session=sale.session, user=waiting, quantity=1, now=now)
    assert ReturnQueue.objects.filter(session=sale.session).exists()
    run_out(hold, now - timedelta(seconds=1))
    unit_ids = list(InventoryUnit.objects.filter(hold=hold).values_list("id", flat=True))
    eager = make_buyer()

    # when a buyer who keeps trying asks for the places of the hold that ran out
    with pytest.raises(PlacesUnavailable):
        inventory.hold_units(session=sale.session, user=eager, unit_ids=unit_ids[:1], now=now)
    with pytest.raises(PlacesUnavailable):
        inventory.hold_quantity(
            session=sale.session, user=eager, zone=sale.zones["A"], quantity=1, now=now
        )
    with pytest.raises(PlacesUnavailable):
        checkout(sale, eager, now, unit_ids=unit_ids[:1])
    with pytest.raises(PlacesUnavailable):
        checkout(sale, eager, now, zone=sale.zones["A"].pk, quantity=1)

    # then nothing was taken, and the session still reads sold out
    assert Hold.objects.filter(user=eager).count() == 0
    assert inventory_selectors.availability_by_zone(session=sale.session, now=now) == {
        sale.zones["A"].pk: 0
    }
    assert inventory_selectors.sold_out_session_ids(session_ids=[sale.session.pk], now=now) == {
        sale.session.pk
    }

    # when the housekeeping tidies the expired hold
    assert inventory.tidy_expired_holds(now=now) == 2

    # then the waiting fan is offered one place, and the other is on sale to anyone
    offer = WaitlistOffer.objects.get(entry=entry)
    assert offer.status == OfferStatus.OPEN and offer.hold.quantity == 1
    assert InventoryUnit.objects.filter(hold=offer.hold, status=UnitStatus.HELD).count() == 1
    result = checkout(sale, eager, now, zone=sale.zones["A"].pk, quantity=1)
    assert result.order.lines.count() == 1

    # and once nobody waits, the periodic pass stops queueing the session's returns
    assert WaitlistEntry.objects.get(pk=entry.pk).status == EntryStatus.OFFERED
    services.settle_offers(now=now)
    assert not ReturnQueue.objects.filter(session=sale.session).exists()


def test_without_waiting_fans_an_expired_hold_is_free_at_once(now):
    sale, [hold] = make_soldout(now=now, seats=2)
    run_out(hold, now - timedelta(seconds=1))
    unit_ids = list(InventoryUnit.objects.filter(hold=hold).values_list("id", flat=True))
    assert not ReturnQueue.objects.exists()
    result = checkout(sale, make_buyer(), now, unit_ids=unit_ids[:1])
    assert [line.unit_id for line in result.order.lines.all()] == unit_ids[:1]
    held = inventory.hold_quantity(
        session=sale.session, user=make_buyer(), zone=sale.zones["A"], quantity=1, now=now
    )
    assert held.quantity == 1


def test_an_unclaimed_offer_passes_to_the_next_fan_not_to_the_public(now):
    sale, [hold] = make_soldout(now=now, seats=1)
    first, second = fan(), fan()
    services.join_waitlist(session=sale.session, user=first, quantity=1, now=now)
    services.join_waitlist(session=sale.session, user=second, quantity=1, now=now)
    inventory.release_hold(hold=hold, user=None, now=now)
    offer = WaitlistOffer.objects.get(user=first)

    # when the first fan's offer runs out and a buyer tries before the periodic pass
    later = offer.expires_at + timedelta(seconds=1)
    with pytest.raises(PlacesUnavailable):
        checkout(sale, make_buyer(), later, zone=sale.zones["A"].pk, quantity=1)

    # then the periodic pass hands the place to the second fan
    services.settle_offers(now=later)
    assert WaitlistOffer.objects.get(pk=offer.pk).status == OfferStatus.EXPIRED
    assert WaitlistOffer.objects.get(user=second).status == OfferStatus.OPEN
    assert ReturnQueue.objects.filter(session=sale.session).count() == 0  # nobody waits now


def test_a_lost_queue_row_comes_back_with_the_periodic_pass(now):
    sale, _holds = make_soldout(now=now, seats=2)
    services.join_waitlist(session=sale.session, user=fan(), quantity=1, now=now)
    ReturnQueue.objects.all().delete()  # as if a join raced the pass that removed it
    services.settle_offers(now=now)
    assert ReturnQueue.objects.filter(session=sale.session).exists()


def test_a_distributor_quote_counts_the_places_of_an_expired_hold_as_taken(now):
    sale, [hold] = make_soldout(now=now, seats=2)
    channel = make_channel(organization=sale.session.event.organization, code="queue-quote")
    seat_ids = list(InventoryUnit.objects.filter(hold=hold).values_list("seat_id", flat=True))
    run_out(hold, now - timedelta(seconds=1))

    def reason():
        return partner_selectors.quote_places(
            channel=channel,
            session=sale.session,
            zone_id=None,
            quantity=None,
            seat_ids=seat_ids[:1],
            now=now,
        ).reason

    assert reason() == ""
    run_out(hold, now + timedelta(minutes=5))  # sold out again, so a fan may wait
    services.join_waitlist(session=sale.session, user=fan(), quantity=1, now=now)
    run_out(hold, now - timedelta(seconds=1))
    assert reason() == "seats_taken"
