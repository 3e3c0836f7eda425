"""The channel order API (/api/v1/channel/orders, through the fast lane and through Django
alone) with a channel that sells only its allocation: it never sells past it."""

import pytest

from tessera.allocations import services
from tessera.allocations.models import AllocationKind
from tessera.core.testing import wsgi_call as call
from tessera.inventory.models import InventoryUnit, SalesChannel, UnitStatus
from tessera.orders.models import OrderLine
from tessera.sale import channels

pytestmark = pytest.mark.django_db

PATH = "/api/v1/channel/orders"


@pytest.fixture
def apps():
    from tessera import wsgi

    return {"lane": wsgi.application, "django": wsgi.django_application}


@pytest.mark.parametrize("app", ["lane", "django"])
def test_a_channel_without_the_open_pool_never_sells_past_its_allocation(world, now, apps, app):
    SalesChannel.objects.filter(pk=world.channel.pk).update(sells_open_pool=False)
    world.channel.refresh_from_db()
    channels.forget()
    _row, key = channels.issue_key(channel=world.channel, name="ERP", actor=None, now=now)
    auth = {"Authorization": f"Bearer {key}"}
    zone = world.sale.zones["B"]
    allocation = services.allocate(
        session=world.session,
        channel=world.channel,
        kind=AllocationKind.AREA,
        zone_ids=[zone.pk],
        quantity=5,
        actor=None,
        now=now,
    )
    mine = set(
        InventoryUnit.objects.filter(allocation_id=allocation.pk).values_list("id", flat=True)
    )
    body = {"session": world.session.pk, "zone": zone.pk, "quantity": 3}

    def post(key, data):
        return call(apps[app], "POST", PATH, body=data, headers={**auth, "Idempotency-Key": key})

    status, answer = call(
        apps[app], "POST", PATH, body=body, headers={**auth, "Idempotency-Key": "1"}
    )
    assert status == 201, answer
    assert {t["unit_id"] for t in answer["tickets"]} <= mine

    # 2 left: asking for 3 is refused whole, nothing taken from the open pool
    status, answer = call(
        apps[app], "POST", PATH, body=body, headers={**auth, "Idempotency-Key": "2"}
    )
    assert (status, answer["error"]["code"]) == (409, "places_unavailable")
    # an open-pool seat chosen by id is not its to sell
    pool = world.sale.seat_unit("S2", "C", 10)
    assert pool.channel_id is None
    status, answer = call(
        apps[app],
        "POST",
        PATH,
        body={"session": world.session.pk, "unit_ids": [pool.pk]},
        headers={**auth, "Idempotency-Key": "3"},
    )
    assert (status, answer["error"]["code"]) == (409, "places_unavailable")

    status, answer = call(
        apps[app],
        "POST",
        PATH,
        body={**body, "quantity": 2},
        headers={**auth, "Idempotency-Key": "4"},
    )
    assert status == 201
    sold = set(
        InventoryUnit.objects.filter(session=world.session, status=UnitStatus.SOLD).values_list(
            "id", flat=True
        )
    )
    assert sold == mine
    assert OrderLine.objects.filter(order__channel_id=world.channel.pk).count() == 5
