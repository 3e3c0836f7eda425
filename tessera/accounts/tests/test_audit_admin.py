"""The audit log in the back office: read-only, filtered by organization, actor, object,
action and time, and scoped so an organizer reads only their organizations' entries."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from tessera.accounts.admin import AuditOrganizationFilter
from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.core import audit
from tessera.core.models import AuditEntry

pytestmark = pytest.mark.django_db

URL = "/admin/core/auditentry/"


@pytest.fixture
def entries():
    """Entries of two organizers and one of the platform (no organization)."""
    first = make_organization(name="星光娱乐", name_en="Starlight")
    second = make_organization(name="蓝海体育", name_en="Blue Sea")
    alice = make_member(organization=first, role=Role.FINANCE, username="alice")
    bob = make_member(organization=second, role=Role.MANAGER, username="bob")
    AuditEntry.objects.all().delete()  # memberships wrote theirs
    at = datetime(2026, 11, 3, 4, 0, tzinfo=UTC)
    audit.record(action="event.published", obj=first, actor=alice, organization_id=first.pk, now=at)
    audit.record(
        action="event.cancelled",
        obj=first,
        actor=alice,
        organization_id=first.pk,
        now=datetime(2026, 11, 20, 4, 0, tzinfo=UTC),
    )
    audit.record(action="event.published", obj=second, actor=bob, organization_id=second.pk, now=at)
    audit.record(action="platform.setting", obj=bob, now=at)
    return first, second, alice, bob


def rows(client, query: str = "") -> list[str]:
    response = client.get(f"{URL}{query}")
    assert response.status_code == 200
    return sorted(f"{e.action}@{e.organization_id}" for e in response.context["cl"].result_list)


def test_an_organizer_reads_only_their_organizations_entries(entries):
    first, second, alice, _bob = entries
    client = Client()
    client.force_login(alice)
    assert rows(client) == [f"event.cancelled@{first.pk}", f"event.published@{first.pk}"]
    # another organization's entry is not reachable by its address either
    other = AuditEntry.objects.get(organization_id=second.pk)
    assert client.get(f"{URL}{other.pk}/change/").status_code == 302  # "does not exist"
    # and nothing can be added, changed or deleted
    mine = AuditEntry.objects.filter(organization_id=first.pk).first()
    page = client.get(f"{URL}{mine.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.get(f"{URL}add/").status_code == 403
    assert client.post(f"{URL}{mine.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=mine.pk).exists()


def test_filters_by_organization_actor_object_action_and_time(entries):
    first, second, alice, bob = entries
    platform = make_organization(kind=OrganizationKind.PLATFORM)
    operator = make_member(organization=platform, role=Role.STAFF, username="op")
    client = Client()
    client.force_login(operator)
    everything = rows(client)
    assert len(everything) >= 4 and "platform.setting@None" in everything
    assert rows(client, f"?organization={second.pk}") == [f"event.published@{second.pk}"]
    assert rows(client, f"?actor__id__exact={alice.pk}") == [
        f"event.cancelled@{first.pk}",
        f"event.published@{first.pk}",
    ]
    assert rows(client, "?action=event.cancelled") == [f"event.cancelled@{first.pk}"]
    assert rows(client, f"?object_type=accounts.user&object_id={bob.pk}") == [
        "platform.setting@None"
    ]
    assert rows(
        client, "?at__gte=2026-11-10+00:00:00%2B08:00&at__lt=2026-11-30+00:00:00%2B08:00"
    ) == [f"event.cancelled@{first.pk}"]
    assert rows(client, "?at__year=2026&at__month=11&at__day=3") == sorted(
        [f"event.published@{first.pk}", f"event.published@{second.pk}", "platform.setting@None"]
    )


def test_the_organization_filter_offers_only_the_readers_organizations(entries):
    _first, second, alice, _bob = entries
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    changelist = client.get(URL).context["cl"]
    (spec,) = [s for s in changelist.filter_specs if isinstance(s, AuditOrganizationFilter)]
    choices = [str(c["display"]) for c in spec.choices(changelist)]
    assert "Starlight" in choices
    assert "Blue Sea" not in choices and "蓝海体育" not in choices
    # and choosing another organization by hand shows nothing
    assert rows(client, f"?organization={second.pk}") == []
