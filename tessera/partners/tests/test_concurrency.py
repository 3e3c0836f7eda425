"""Onboarding racing, from real threads (meant for PostgreSQL: TESSERA_DATABASE_URL=
postgres://...; on SQLite the file lock serialises them): two operators approving one
application, one invitation accepted twice at once, two owners demoting each other."""

import pytest

from tessera.accounts.models import Membership, Organization, Role
from tessera.accounts.tests.factories import make_user
from tessera.core import clock
from tessera.core.testing import race
from tessera.inventory.models import SalesChannel
from tessera.partners import services
from tessera.partners.models import Contract
from tessera.partners.tests.factories import (
    approved_partner,
    make_application,
    make_operator,
    terms,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_operators_approving_at_once_create_one_organization():
    application = make_application()
    operators = [make_operator(password=None), make_operator(password=None)]

    def approve(operator, slug):
        return services.approve_application(
            application_id=application.pk,
            actor=operator,
            slug=slug,
            terms=terms(),
            now=clock.now(),
        )

    results = race(lambda: approve(operators[0], "first"), lambda: approve(operators[1], "second"))

    assert sum(1 for org, _e in results if org is not None) == 1, results
    assert [e.code for _o, e in results if e is not None] == ["application_decided"]
    assert Organization.objects.filter(kind="distributor").count() == 1
    assert Contract.objects.count() == 1
    assert SalesChannel.objects.count() == 1


def test_one_invitation_accepted_twice_at_once_opens_once():
    organization, owner = approved_partner()
    _invitation, token = services.invite_member(
        organization=organization,
        actor=owner,
        email="li@xinghai.example",
        role=Role.STAFF,
        now=clock.now(),
    )
    colleague = make_user(email="li@xinghai.example", password=None)

    def accept():
        return services.accept_invitation(token=token, user=colleague, now=clock.now())

    results = race(accept, accept)

    assert sum(1 for m, _e in results if m is not None) == 1, results
    assert [e.code for _m, e in results if e is not None] == ["invitation_used"]
    assert Membership.objects.filter(organization=organization).count() == 2


def test_two_owners_demoting_each_other_at_once_leave_one_owner():
    organization, first = approved_partner()
    second = make_user(email="second@xinghai.example", password=None)
    Membership.objects.create(organization=organization, user=second, role=Role.OWNER)
    m1 = Membership.objects.get(organization=organization, user=first)
    m2 = Membership.objects.get(organization=organization, user=second)

    def demote(actor, membership):
        return services.change_role(
            organization=organization,
            membership_id=membership.pk,
            role=Role.MANAGER,
            actor=actor,
            now=clock.now(),
        )

    results = race(lambda: demote(first, m2), lambda: demote(second, m1))

    assert Membership.objects.filter(organization=organization, role=Role.OWNER).count() == 1
    errors = [e.code for _m, e in results if e is not None]
    assert errors in (["last_owner"], ["partner_not_allowed"]), results
