"""The back office of statements: scoped by organization; approving from the list is for
finance members, owners and the platform, per statement."""

import pytest
from django.test import Client
from django.utils import timezone

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.settlement import services
from tessera.settlement.models import Statement, StatementStatus
from tessera.settlement.tests.factories import at, make_world, monday_weeks_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def statements():
    world = make_world(distributor_rules=[("percent", "5", 0, None)])
    day = monday_weeks_ago(2)
    world.sell(at(day), 1)
    now = timezone.now()
    mine = services.generate_statement(organization=world.distributor, starts_on=day, now=now)
    month = services.generate_statement(
        organization=world.organizer, starts_on=day.replace(day=1), now=now
    )
    return world, mine, month


def test_a_partners_finance_member_sees_and_approves_only_its_own(statements):
    world, mine, theirs = statements
    finance = make_member(organization=world.distributor, role=Role.FINANCE, is_staff=True)
    client = Client()
    client.force_login(finance)
    listing = client.get("/admin/settlement/statement/")
    assert listing.status_code == 200
    assert [s.pk for s in listing.context["cl"].queryset] == [mine.pk]
    assert client.get(f"/admin/settlement/statement/{theirs.pk}/change/").status_code == 302
    client.post(
        "/admin/settlement/statement/",
        {"action": "approve_statements", "_selected_action": [mine.pk, theirs.pk]},
    )
    assert Statement.objects.get(pk=mine.pk).status == StatementStatus.APPROVED
    assert Statement.objects.get(pk=theirs.pk).status == StatementStatus.DRAFT


def test_the_platforms_finance_sees_every_statement(statements):
    _world, mine, theirs = statements
    platform = make_organization(kind=OrganizationKind.PLATFORM)
    operator = make_member(organization=platform, role=Role.FINANCE, is_staff=True)
    client = Client()
    client.force_login(operator)
    listing = client.get("/admin/settlement/statement/")
    assert {s.pk for s in listing.context["cl"].queryset} == {mine.pk, theirs.pk}
    page = client.get(f"/admin/settlement/statement/{mine.pk}/change/")
    assert page.status_code == 200 and b"statement.xlsx" in page.content
