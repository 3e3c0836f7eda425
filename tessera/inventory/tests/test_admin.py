"""The back office of the inventory, scoped to the member's organizations."""

import pytest
from django.test import Client
from django.utils import timezone

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.core.models import AuditEntry
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.services import hold_units
from tessera.inventory.tests.factories import make_buyer, make_channel, make_sale

pytestmark = pytest.mark.django_db


def staff_client(organization, role=Role.MANAGER):
    user = make_member(organization=organization, role=role, is_staff=True)
    client = Client()
    client.force_login(user)
    return client, user


def test_units_list_shows_only_the_members_sessions_and_is_read_only():
    sale, other = make_sale(), make_sale()
    client, _ = staff_client(sale.session.event.organization)
    response = client.get("/admin/inventory/inventoryunit/")
    assert response.status_code == 200
    shown = {u.pk for u in response.context["cl"].result_list}
    assert shown == set(sale.units().values_list("id", flat=True))
    assert not shown & set(other.units().values_list("id", flat=True))
    unit = sale.units().first()
    assert (
        client.post(
            f"/admin/inventory/inventoryunit/{unit.pk}/change/", {"status": "blocked"}
        ).status_code
        == 403
    )
    assert InventoryUnit.objects.get(pk=unit.pk).status == UnitStatus.AVAILABLE


def test_block_action_blocks_through_the_service():
    sale = make_sale()
    client, manager = staff_client(sale.session.event.organization)
    units = list(sale.units()[:3].values_list("id", flat=True))
    response = client.post(
        "/admin/inventory/inventoryunit/", {"action": "block_selected", "_selected_action": units}
    )
    assert response.status_code == 302
    assert set(InventoryUnit.objects.filter(pk__in=units).values_list("status", flat=True)) == {
        UnitStatus.BLOCKED
    }
    entry = AuditEntry.objects.get(action="inventory.units_blocked")
    assert (entry.actor, entry.data["blocked"]) == (manager, 3)
    client.post(
        "/admin/inventory/inventoryunit/", {"action": "unblock_selected", "_selected_action": units}
    )
    assert set(InventoryUnit.objects.filter(pk__in=units).values_list("status", flat=True)) == {
        UnitStatus.AVAILABLE
    }


def test_finance_members_cannot_block():
    sale = make_sale()
    client, _ = staff_client(sale.session.event.organization, role=Role.FINANCE)
    units = list(sale.units()[:2].values_list("id", flat=True))
    client.post(
        "/admin/inventory/inventoryunit/", {"action": "block_selected", "_selected_action": units}
    )
    assert set(InventoryUnit.objects.filter(pk__in=units).values_list("status", flat=True)) == {
        UnitStatus.AVAILABLE
    }


def test_sales_channels_are_scoped_to_their_organization():
    own, foreign = make_channel(), make_channel()
    client, _ = staff_client(own.organization)
    response = client.get("/admin/inventory/saleschannel/")
    assert [c.pk for c in response.context["cl"].result_list] == [own.pk]
    # another organization's channel is "not found": the admin redirects to its index
    assert client.get(f"/admin/inventory/saleschannel/{foreign.pk}/change/").status_code == 302


def test_holds_list_is_scoped():
    sale, other = make_sale(), make_sale()
    mine = hold_units(
        session=sale.session,
        user=make_buyer(),
        now=timezone.now(),
        unit_ids=[sale.seat_unit("S1", "A", 1).pk],
    )
    hold_units(
        session=other.session,
        user=make_buyer(),
        now=timezone.now(),
        unit_ids=[other.seat_unit("S1", "A", 1).pk],
    )
    client, _ = staff_client(sale.session.event.organization)
    response = client.get("/admin/inventory/hold/")
    assert [h.pk for h in response.context["cl"].result_list] == [mine.pk]
