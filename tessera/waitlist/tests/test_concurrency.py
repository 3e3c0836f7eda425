"""Returns racing new offers, from real threads (meant for PostgreSQL:
TESSERA_DATABASE_URL=postgres://...; on SQLite the file lock serialises them and the loser
retries). Whatever the interleaving: a place is in at most one offer, an offer is given to
one fan, fans are offered in join order, and no fan ever holds more than the account limit."""

import pytest
from django.db.models import Count, Q

from tessera.core.errors import DomainError
from tessera.core.testing import race
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.waitlist import services
from tessera.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tessera.waitlist.tests.factories import fan, make_soldout, now_

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 3


def check_offers_are_sound(session, now) -> None:
    """Every open offer's hold is the fan's own, live, with exactly its places; no hold or
    place is in two offers; one open offer per fan."""
    offers = list(WaitlistOffer.objects.filter(session=session, status=OfferStatus.OPEN))
    holds = [o.hold_id for o in offers]
    assert len(holds) == len(set(holds))
    assert len({o.user_id for o in offers}) == len(offers)
    for offer in offers:
        hold = Hold.objects.get(pk=offer.hold_id)
        assert hold.user_id == offer.user_id and hold.status == HoldStatus.ACTIVE
        assert (
            InventoryUnit.objects.filter(hold=hold, status=UnitStatus.HELD).count()
            == offer.quantity
            == hold.quantity
        )


def owned_by_account(session, now) -> dict[int, int]:
    rows = (
        InventoryUnit.objects.filter(session=session, hold__isnull=False)
        .filter(Q(status=UnitStatus.SOLD) | Q(status=UnitStatus.HELD, hold_expires_at__gte=now))
        .values("hold__user_id")
        .annotate(n=Count("id"))
    )
    return {r["hold__user_id"]: r["n"] for r in rows}


def test_returns_racing_each_other_and_the_periodic_pass_offer_in_join_order():
    for _round in range(ROUNDS):
        returns_racing_the_periodic_pass()


def returns_racing_the_periodic_pass():
    now = now_()
    sale, holds = make_soldout(now=now, seats=12, max_tickets_per_account=2)
    fans = [fan() for _ in range(14)]
    for f in fans:
        services.join_waitlist(session=sale.session, user=f, quantity=1, now=now)

    # when the six holders let their places go at once, while the periodic pass runs
    calls = [(lambda h=h: inventory.release_hold(hold=h, user=None, now=now)) for h in holds] + [
        lambda: services.settle_offers(now=now)
    ] * 2
    results = race(*calls)

    assert [err for _, err in results] == [None] * len(calls)
    # then the first twelve fans, and only they, have an offer of one place each
    offered = set(
        WaitlistOffer.objects.filter(session=sale.session).values_list("user_id", flat=True)
    )
    assert offered == {f.pk for f in fans[:12]}
    assert WaitlistOffer.objects.filter(session=sale.session).count() == 12
    check_offers_are_sound(sale.session, now)
    assert not InventoryUnit.objects.filter(
        session=sale.session, status=UnitStatus.AVAILABLE
    ).exists()
    waiting = WaitlistEntry.objects.filter(session=sale.session, status=EntryStatus.WAITING)
    assert set(waiting.values_list("user_id", flat=True)) == {f.pk for f in fans[12:]}


def test_returns_racing_fans_who_buy_for_themselves_never_exceed_the_limit():
    for _round in range(ROUNDS):
        returns_racing_fans_who_buy()


def returns_racing_fans_who_buy():
    now = now_()
    sale, holds = make_soldout(now=now, seats=12, max_tickets_per_account=2)
    zone = sale.zones["A"]
    fans = [fan() for _ in range(8)]
    for f in fans:
        services.join_waitlist(session=sale.session, user=f, quantity=2, now=now)

    # when places come back while the same fans try to take two places themselves
    calls = [(lambda h=h: inventory.release_hold(hold=h, user=None, now=now)) for h in holds]
    calls += [
        (
            lambda f=f: inventory.hold_quantity(
                session=sale.session, user=f, zone=zone, quantity=2, now=now
            )
        )
        for f in fans
    ]
    calls += [lambda: services.settle_offers(now=now)]
    results = race(*calls)

    # then nothing failed but refusals, and no account holds more than 2 places
    assert all(err is None or isinstance(err, DomainError) for _, err in results)
    owned = owned_by_account(sale.session, now)
    assert max(owned[f.pk] for f in fans if f.pk in owned) <= 2
    check_offers_are_sound(sale.session, now)
    # every place is someone's: 12 places, at most 2 each
    assert sum(owned.values()) == 12
