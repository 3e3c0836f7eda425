"""Every back-office action checks the right of the change it makes: each declares its
permissions, and a read-only finance member cannot revoke devices or channel keys, not even
of one organization while writing in another."""

import pytest
from django.contrib import admin
from django.test import Client

from tessera.accounts.models import Role
from tessera.accounts.services import add_member
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.checkin import services as checkin
from tessera.checkin.models import Device
from tessera.core import clock
from tessera.inventory.tests.factories import make_channel
from tessera.sale import channels
from tessera.sale.models import ChannelKey


def test_every_action_of_every_registered_admin_declares_its_permissions():
    missing = []
    for model, model_admin in admin.site._registry.items():
        for func, name, _description in model_admin._get_base_actions():
            permissions = getattr(func, "allowed_permissions", ())
            if not permissions:
                missing.append(f"{model._meta.label}: {name}")
            for permission in permissions:
                assert hasattr(model_admin, f"has_{permission}_permission"), (
                    f"{model._meta.label}: {name} needs has_{permission}_permission"
                )
    assert missing == []


@pytest.fixture
def two_organizations(db):
    now = clock.now()
    first, second = make_organization(), make_organization()
    device_a, _ = checkin.register_device(organization=first, name="Gate A", now=now)
    device_b, _ = checkin.register_device(organization=second, name="Gate B", now=now)
    key_a, _ = channels.issue_key(
        channel=make_channel(organization=first), name="A", actor=None, now=now
    )
    key_b, _ = channels.issue_key(
        channel=make_channel(organization=second), name="B", actor=None, now=now
    )
    return first, second, (device_a, device_b), (key_a, key_b)


def run_action(user, url: str, action: str, ids: list[int]) -> None:
    client = Client()
    client.force_login(user)
    client.post(url, {"action": action, "_selected_action": ids})


@pytest.mark.django_db
def test_a_finance_member_cannot_revoke_devices_or_keys(two_organizations):
    # given a finance member (read-only) of the first organization
    first, _second, (device_a, _b), (key_a, _kb) = two_organizations
    finance = make_member(organization=first, role=Role.FINANCE, is_staff=True)
    # when they run the revoke actions on their organization's device and key
    run_action(finance, "/admin/checkin/device/", "revoke_devices", [device_a.pk])
    run_action(finance, "/admin/sale/channelkey/", "revoke_keys", [key_a.pk])
    # then nothing is revoked
    assert Device.objects.get(pk=device_a.pk).revoked_at is None
    assert ChannelKey.objects.get(pk=key_a.pk).revoked_at is None


@pytest.mark.django_db
def test_writing_in_one_organization_does_not_revoke_in_another(two_organizations):
    # given a finance member of the first organization who is a manager of the second
    first, second, (device_a, device_b), (key_a, key_b) = two_organizations
    person = make_member(organization=first, role=Role.FINANCE, is_staff=True)
    add_member(organization=second, user=person, role=Role.MANAGER)
    # when they revoke both organizations' devices and keys at once
    run_action(person, "/admin/checkin/device/", "revoke_devices", [device_a.pk, device_b.pk])
    run_action(person, "/admin/sale/channelkey/", "revoke_keys", [key_a.pk, key_b.pk])
    # then only the second organization's are revoked
    assert Device.objects.get(pk=device_a.pk).revoked_at is None
    assert Device.objects.get(pk=device_b.pk).revoked_at is not None
    assert ChannelKey.objects.get(pk=key_a.pk).revoked_at is None
    assert ChannelKey.objects.get(pk=key_b.pk).revoked_at is not None
