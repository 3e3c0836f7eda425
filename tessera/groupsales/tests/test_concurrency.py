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
