import pytest
from django.urls import reverse

from tessera.accounts.models import Membership, Organization, OrganizationKind, Role, User
from tessera.partners.scopes import ScopeMissing, require_scope


def _org(slug, kind=OrganizationKind.DISTRIBUTOR):
    return Organization.objects.create(kind=kind, name=slug, slug=slug)


def _member(org, name):
    user = User.objects.create_user(username=name, password="pw-123456789")
    Membership.objects.create(user=user, organization=org, role=Role.STAFF)
    return user


@pytest.mark.django_db
def test_console_shows_only_the_members_partner(client):
    a, b = _org("dist-a"), _org("dist-b")
    user = _member(a, "ann")
    client.force_login(user)
    page = client.get(reverse("partners:console"))
    assert page.status_code == 200
    assert page.context["partner"] == a
    assert client.get(reverse("partners:console") + f"?org={b.pk}").status_code == 403


@pytest.mark.django_db
def test_console_refuses_a_fan(client):
    client.force_login(User.objects.create_user(username="fan", password="pw-123456789"))
    assert client.get(reverse("partners:console")).status_code == 403
    client.logout()
    assert client.get(reverse("partners:console")).status_code == 302


def test_require_scope():
    class P:
        scopes = ("orders",)

    require_scope(P(), "orders")
    with pytest.raises(ScopeMissing):
        require_scope(P(), "refunds")
