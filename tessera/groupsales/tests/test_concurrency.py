"""Two buyers racing for the same box from real threads (meant for PostgreSQL:
TESSERA_DATABASE_URL=postgres://...; on SQLite the file lock serialises them): one gets
the whole box, the other nothing; no seat of the box is ever held by two holds or split."""

import pytest

from tessera.core.testing import race
from tessera.groupsales import services
from tessera.groupsales.errors import BoxUnavailable
from tessera.groupsales.tests.factories import boxed, group_world, now_
from tessera.inventory import services as inventory
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_buyers_race_for_one_box_one_wins_nothing_is_split():
    now = now_()
    sale, organizer, _contact = group_world(now)
    for round_ in range(3):
        _box, offer, unit_ids = boxed(
            sale,
            organizer,
            now,
            seats=(1 + 3 * round_, 2 + 3 * round_, 3 + 3 * round_),
            name=f"包厢{round_}",
        )
        first, second, fan = make_buyer(), make_buyer(), make_buyer()
        results = race(
            lambda u=first, o=offer: services.buy_box(offer=o, user=u, now=now),
            lambda u=second, o=offer: services.buy_box(offer=o, user=u, now=now),
            # a fan trying one seat of the box at the same moment
            lambda u=fan, ids=unit_ids: inventory.hold_units(
                session=sale.session, user=u, unit_ids=ids[:1], now=now
            ),
        )
        wins = [r for r, error in results[:2] if error is None]
        losses = [error for r, error in results[:2] if error is not None]
        assert len(wins) == 1
        assert len(losses) == 1 and isinstance(losses[0], BoxUnavailable)
        assert results[2][1] is not None  # the fan got no seat of the box
        holds = set(InventoryUnit.objects.filter(pk__in=unit_ids).values_list("hold_id", flat=True))
        assert holds == {wins[0].hold_id}
        assert set(
            InventoryUnit.objects.filter(pk__in=unit_ids).values_list("status", flat=True)
        ) == {UnitStatus.HELD}
        assert not InventoryUnit.objects.filter(hold__user=fan).exists()


def test_the_one_request_checkout_never_takes_part_of_a_box():
    """The buyer's one-request checkout (on PostgreSQL the one-statement fast path): chosen
    places, seats, labels, quantities and best available never take a seat of a box."""
    from tessera.core.errors import DomainError
    from tessera.sale import services as sale_services
    from tessera.sale.choices import PlaceChoice

    now = now_()
    sale, organizer, _contact = group_world(now)
    _box, _offer, unit_ids = boxed(sale, organizer, now, seats=(1, 2))
    seats = list(InventoryUnit.objects.filter(pk__in=unit_ids).values_list("seat_id", flat=True))
    for data in (
        {"unit_ids": unit_ids[:1]},
        {"unit_ids": unit_ids},
        {"seat_ids": seats[:1]},
        {"seat_labels": ["S1-A-1"]},
    ):
        with pytest.raises(DomainError):
            sale_services.checkout(
                session_id=sale.session.pk,
                user=make_buyer(),
                choice=PlaceChoice.parse(data),
                provider="sandbox",
                now=now,
            )
    # every other seat of zone A, six at a time (quantity and best available): none of the box
    taken = set()
    for n, quantity in enumerate((6, 6, 6, 6, 4)):
        choice = {"zone": sale.zones["A"].pk, "quantity": quantity}
        if n % 2 == 0:
            choice |= {"best_available": True, "accept_split": True}
        result = sale_services.checkout(
            session_id=sale.session.pk,
            user=make_buyer(),
            choice=PlaceChoice.parse(choice),
            provider="sandbox",
            now=now,
        )
        taken |= set(
            InventoryUnit.objects.filter(hold_id=result.order.hold_id).values_list("id", flat=True)
        )
    assert len(taken) == 28 and not taken & set(unit_ids)
    with pytest.raises(DomainError):  # only the box is left
        sale_services.checkout(
            session_id=sale.session.pk,
            user=make_buyer(),
            choice=PlaceChoice.parse({"zone": sale.zones["A"].pk, "quantity": 1}),
            provider="sandbox",
            now=now,
        )
    assert set(InventoryUnit.objects.filter(pk__in=unit_ids).values_list("status", flat=True)) == {
        UnitStatus.BLOCKED
    }
