"""Back office of check-in: pages open for the organizer, a device's token is shown once and
only its hash stored, revoking goes through the service."""

import re

import pytest
from django.test import Client

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.checkin import services
from tessera.checkin.models import Device
from tessera.checkin.tests.factories import NOW, make_gates

pytestmark = pytest.mark.django_db


def test_an_organizer_adds_a_device_sees_its_token_once_and_revokes_it():
    g = make_gates()
    organization = g.session.event.organization
    manager = make_member(organization=organization, role=Role.MANAGER, is_staff=True)
    client = Client()
    client.force_login(manager)
    for name in ("checkinsettings", "gate", "checkinlist", "device", "scan"):
        assert client.get(f"/admin/checkin/{name}/").status_code == 200
    assert client.get("/admin/checkin/checkinlist/add/").status_code == 200

    response = client.post(
        "/admin/checkin/device/add/",
        {"organization": organization.pk, "name": "Handheld 7"},
        follow=True,
    )
    token = re.search(r"([A-Z2-7]{4}(?:-[A-Z2-7]{4}){5})", response.content.decode()).group(1)
    device = Device.objects.get(name="Handheld 7")
    assert device.token_hash == services.hash_token(token)
    assert services.authenticate_device(token=token, now=NOW) == device
    assert token not in client.get(f"/admin/checkin/device/{device.pk}/change/").content.decode()

    client.post(
        "/admin/checkin/device/",
        {"action": "revoke_devices", "_selected_action": [device.pk]},
    )
    device.refresh_from_db()
    assert device.revoked_at is not None
