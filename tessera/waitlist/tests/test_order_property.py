"""Property test: over random sequences of joins, returned places, claims and expiries, the
waiting list offers places exactly as a plain model of the rule says: in join order, each
offer to the earliest waiting fan whose request (quantity, zone or price) the free places
fit, the first fitting zone by the zones' order; an expired offer passes on."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.test import TestCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.inventory import services as inventory
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders import services as orders
from tessera.payments import services as payments
from tessera.payments.testing import pay_locally
from tessera.waitlist import services
from tessera.waitlist.errors import PlacesStillOnSale
from tessera.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tessera.waitlist.tests.factories import now_

pytestmark = pytest.mark.django_db

# Zone A 380.00 (first in order), zone B 280.00; "cheap" = any zone up to 300.00 (B only).
WANTS = ["A", "B", "any", "cheap"]
SEATS = 3  # per zone

step = st.one_of(
    st.tuples(st.just("join"), st.sampled_from(WANTS), st.integers(1, 2)),
    st.tuples(st.just("return"), st.integers(0, 2 * SEATS - 1)),
    st.tuples(st.just("claim"), st.integers(0, 20)),
    st.tuples(st.just("expire")),
)


@dataclass
class Model:
    free: dict = field(default_factory=lambda: {"A": 0, "B": 0})
    waiting: list = field(default_factory=list)  # (fan id, wants, quantity) in join order
    offers: list = field(default_factory=list)  # (fan id, zone, quantity) in offer order

    @staticmethod
    def zones_for(wants: str) -> list[str]:
        return {"A": ["A"], "B": ["B"], "any": ["A", "B"], "cheap": ["B"]}[wants]

    def fits(self, wants: str, quantity: int) -> bool:
        return any(self.free[z] >= quantity for z in self.zones_for(wants))

    def offer_pass(self) -> None:
        for item in list(self.waiting):
            fan_id, wants, quantity = item
            zone = next((z for z in self.zones_for(wants) if self.free[z] >= quantity), None)
            if zone is None:
                continue
            self.free[zone] -= quantity
            self.waiting.remove(item)
            self.offers.append((fan_id, zone, quantity))


def db_state(session):
    offers = [
        (o.user_id, o.zone.code, o.quantity)
        for o in WaitlistOffer.objects.filter(session=session, status=OfferStatus.OPEN).order_by(
            "id"
        )
    ]
    waiting = list(
        WaitlistEntry.objects.filter(session=session, status=EntryStatus.WAITING)
        .order_by("id")
        .values_list("user_id", flat=True)
    )
    free = {
        code: InventoryUnit.objects.filter(
            session=session, zone__code=code, status=UnitStatus.AVAILABLE
        ).count()
        for code in ("A", "B")
    }
    return offers, waiting, free


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, min_size=1, max_size=14))
def test_offers_follow_join_order_over_random_sequences(steps):
    now = now_()
    # a session of two zones whose places are each held by a different holder for hours
    sale = make_sale(
        sections=2,
        rows=1,
        seats_per_row=SEATS,
        starts_at=now + timedelta(days=10),
        hold_minutes=600,
    )
    session = sale.session
    holds = [
        inventory.hold_units(session=session, user=make_buyer(), unit_ids=[unit.pk], now=now)
        for unit in sale.units().order_by("id")
    ]
    zone_of_hold = ["A"] * SEATS + ["B"] * SEATS
    returned: set[int] = set()
    model = Model()
    prices = {"cheap": "300.00"}

    for action in steps:
        kind = action[0]
        if kind == "join":
            _, wants, quantity = action
            f = make_buyer()
            zone_id = sale.zones[wants].pk if wants in ("A", "B") else None
            try:
                services.join_waitlist(
                    session=session,
                    user=f,
                    quantity=quantity,
                    zone_id=zone_id,
                    max_price=prices.get(wants),
                    now=now,
                )
            except PlacesStillOnSale:
                assert model.fits(wants, quantity)
            else:
                assert not model.fits(wants, quantity)
                model.waiting.append((f.pk, wants, quantity))
        elif kind == "return":
            i = action[1]
            if i in returned:
                continue
            returned.add(i)
            inventory.release_hold(hold=holds[i], user=None, now=now)
            model.free[zone_of_hold[i]] += 1
            model.offer_pass()
        elif kind == "claim":
            open_offers = list(
                WaitlistOffer.objects.filter(session=session, status=OfferStatus.OPEN)
                .select_related("hold", "user")
                .order_by("id")
            )
            if not open_offers:
                continue
            offer = open_offers[action[1] % len(open_offers)]
            order = orders.place_order(
                hold=offer.hold,
                user=offer.user,
                attendees=[f"Fan {n}" for n in range(offer.quantity)],
                now=now,
            )
            payment = payments.start_payment(
                order=order, provider="sandbox", user=offer.user, now=now
            )
            with TestCase.captureOnCommitCallbacks(execute=True):
                pay_locally(payment_id=payment.pk, now=now)
            services.settle_offers(now=now)
            assert WaitlistOffer.objects.get(pk=offer.pk).status == OfferStatus.CONVERTED
            model.offers.remove((offer.user_id, offer.zone.code, offer.quantity))
        else:  # every open offer runs out: in offer order, each passes its places on
            now += timedelta(minutes=services.offer_minutes() + 1)
            expiring, model.offers = model.offers, []
            for _fan, zone, quantity in expiring:
                model.free[zone] += quantity
                model.offer_pass()
            services.settle_offers(now=now)

        offers, waiting, free = db_state(session)
        assert offers == model.offers
        assert waiting == [fan_id for fan_id, _, _ in model.waiting]
        assert free == model.free
