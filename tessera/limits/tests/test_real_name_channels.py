"""Sales channels and the box office cannot bind identities: they refuse real-name sessions
with a clear error and write nothing."""

import pytest
from django.utils import timezone, translation

from tessera.accounts.tests.factories import make_user
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_channel, make_sale
from tessera.orders.models import Order
from tessera.sale import channels
from tessera.sale.box_office import sell_at_box_office
from tessera.sale.choices import PlaceChoice
from tessera.sale.errors import RealNameNotSupported

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def real_name_sale():
    sale = make_sale(sections=1, rows=1, seats_per_row=10)
    sale.session.real_name_required = True
    sale.session.save(update_fields=["real_name_required"])
    return sale


def nothing_written(sale):
    assert Order.objects.count() == 0
    assert Hold.objects.count() == 0
    assert (
        InventoryUnit.objects.filter(session=sale.session)
        .exclude(status=UnitStatus.AVAILABLE)
        .count()
        == 0
    )


def test_a_channel_order_for_a_real_name_session_is_refused(real_name_sale):
    now = timezone.now()
    channel = make_channel(organization=real_name_sale.session.event.organization, code="ch")
    _row, key = channels.issue_key(channel=channel, name="ERP", actor=None, now=now)
    principal = channels.authenticate(key, now=now)
    choice = PlaceChoice(zone_id=real_name_sale.zones["A"].pk, quantity=2)

    with translation.override("zh-hans"), pytest.raises(RealNameNotSupported) as caught:
        channels.channel_order(
            principal=principal,
            session_id=real_name_sale.session.pk,
            choice=choice,
            idempotency_key="k-1",
            digest=channels.request_digest({"choice": repr(choice)}),
            now=now,
            buyer_name="Li",
        )

    assert caught.value.code == "real_name_not_supported"
    assert caught.value.status == 409
    with translation.override("zh-hans"):
        assert str(caught.value.message).startswith("本场次为实名制门票")
    nothing_written(real_name_sale)


def test_the_box_office_refuses_a_real_name_session(real_name_sale):
    staff = make_user()

    with pytest.raises(RealNameNotSupported) as caught:
        sell_at_box_office(
            session=real_name_sale.session,
            choice=PlaceChoice(zone_id=real_name_sale.zones["A"].pk, quantity=1),
            buyer_name="Li",
            phone="",
            method="cash",
            actor=staff,
            now=timezone.now(),
        )

    with translation.override("en"):
        assert "not through a sales channel or at the box office" in str(caught.value.message)
    nothing_written(real_name_sale)
