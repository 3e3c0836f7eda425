"""Who sees and changes what: the selectors every back-office read goes through."""

import pytest
from django.contrib.auth.models import AnonymousUser

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.selectors import (
    can_write,
    is_platform_operator,
    list_organization_ids,
    list_organizations,
    scope_to_user,
)
from tessera.accounts.services import add_member
from tessera.accounts.tests.factories import make_member, make_organization, make_user
from tessera.catalog.models import Event, Session
from tessera.catalog.tests.factories import make_event, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def orgs():
    return make_organization(slug="alpha"), make_organization(slug="bravo")


def test_platform_operators_are_superusers_and_active_platform_members(orgs):
    platform = make_organization(kind=OrganizationKind.PLATFORM, slug="platform")
    member = make_member(organization=platform, role=Role.STAFF, password=None)
    superuser = make_user(is_superuser=True, password=None)
    organizer_member = make_member(organization=orgs[0], password=None)

    assert [
        is_platform_operator(u) for u in (member, superuser, organizer_member, AnonymousUser())
    ] == [True, True, False, False]
    platform.is_active = False
    platform.save()
    assert is_platform_operator(member) is False


def test_list_organization_ids_by_role_and_only_active(orgs):
    alpha, bravo = orgs
    gamma = make_organization(slug="gamma")
    user = make_member(organization=alpha, role=Role.MANAGER, password=None)
    add_member(organization=bravo, user=user, role=Role.FINANCE)
    add_member(organization=gamma, user=user, role=Role.OWNER)
    gamma.is_active = False
    gamma.save()

    assert sorted(list_organization_ids(user)) == sorted([alpha.pk, bravo.pk])
    assert list_organization_ids(user, roles=[Role.OWNER, Role.MANAGER]) == [alpha.pk]
    assert list_organization_ids(AnonymousUser()) == []
    assert list(list_organizations(user).order_by("slug")) == [alpha, bravo]


def test_scope_to_user_keeps_the_members_rows(orgs):
    alpha, bravo = orgs
    mine, theirs = make_event(organization=alpha), make_event(organization=bravo)
    my_session, their_session = make_session(event=mine), make_session(event=theirs)
    member = make_member(organization=alpha, role=Role.FINANCE, password=None)

    assert list(scope_to_user(Event.objects.all(), member)) == [mine]
    assert list(scope_to_user(Session.objects.all(), member, org_field="event__organization")) == [
        my_session
    ]
    assert their_session not in scope_to_user(
        Session.objects.all(), member, org_field="event__organization"
    )


def test_scope_to_user_gives_outsiders_nothing_and_operators_everything(orgs):
    alpha, bravo = orgs
    events = [make_event(organization=alpha), make_event(organization=bravo)]
    outsider = make_user(is_staff=True, password=None)
    operator = make_user(is_superuser=True, password=None)

    assert list(scope_to_user(Event.objects.all(), outsider)) == []
    assert list(scope_to_user(Event.objects.all(), AnonymousUser())) == []
    assert sorted(scope_to_user(Event.objects.all(), operator), key=lambda e: e.pk) == events


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.OWNER, True), (Role.MANAGER, True), (Role.STAFF, True), (Role.FINANCE, False)],
)
def test_can_write_by_role(orgs, role, expected):
    alpha, bravo = orgs
    user = make_member(organization=alpha, role=role, password=None)
    assert can_write(user, alpha.pk) is expected
    assert can_write(user, bravo.pk) is False
    assert can_write(user, None) is False


def test_can_write_for_operators_and_anonymous(orgs):
    operator = make_user(is_superuser=True, password=None)
    assert (can_write(operator, orgs[1].pk), can_write(operator, None)) == (True, True)
    assert can_write(AnonymousUser(), orgs[0].pk) is False


def test_membership_in_a_deactivated_organization_stops_writing(orgs):
    alpha, _ = orgs
    user = make_member(organization=alpha, role=Role.OWNER, password=None)
    alpha.is_active = False
    alpha.save()
    assert can_write(user, alpha.pk) is False
    assert list(scope_to_user(Event.objects.all(), user)) == []
