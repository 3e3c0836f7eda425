"""Statements' lifecycle: idempotent generation, drafts regenerated, approved frozen, who may
approve and mark paid, the periodic task, the periods in Beijing dates; all audited."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization, make_user
from tessera.core.models import AuditEntry
from tessera.settlement import services
from tessera.settlement.errors import (
    NotAllowedToSettle,
    NotAPartner,
    PaymentDetailsInvalid,
    PeriodInvalid,
    StatementNotApprovable,
    StatementNotPayable,
)
from tessera.settlement.models import Statement, StatementStatus
from tessera.settlement.periods import last_ended, period_containing
from tessera.settlement.tests.factories import at, make_world, monday_weeks_ago

pytestmark = pytest.mark.django_db
D = Decimal
UTC = ZoneInfo("UTC")


def test_weeks_and_months_follow_beijing_dates():
    # Sunday 2026-03-08 23:30 in Beijing is 15:30 UTC: still that week and month
    sunday_night = datetime(2026, 3, 8, 15, 30, tzinfo=UTC)
    week = period_containing(sunday_night, "weekly")
    assert (week.starts_on, week.ends_on) == (date(2026, 3, 2), date(2026, 3, 8))
    # 16:10 UTC that Sunday is Monday 00:10 in Beijing: the next week
    assert period_containing(datetime(2026, 3, 8, 16, 10, tzinfo=UTC), "weekly").starts_on == (
        date(2026, 3, 9)
    )
    # 2026-02-28 16:00 UTC is 1 March in Beijing
    march = period_containing(datetime(2026, 2, 28, 16, 0, tzinfo=UTC), "monthly")
    assert (march.starts_on, march.ends_on) == (date(2026, 3, 1), date(2026, 3, 31))
    assert march.start_at == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert last_ended(sunday_night, "monthly").starts_on == date(2026, 2, 1)


@pytest.fixture
def world():
    w = make_world(distributor_rules=[("percent", "5", 0, None)])
    w.day = monday_weeks_ago(3)
    w.sell(at(w.day), 2)
    return w


def generate(world, **kw):
    return services.generate_statement(
        organization=world.distributor, starts_on=world.day, now=timezone.now(), **kw
    )


def test_generating_twice_gives_one_statement_and_a_draft_is_regenerated(world):
    first = generate(world)
    assert first.commission == D("38.00") and first.lines.count() == 1
    # the contract's rate changes: regenerating the draft replaces its figures
    world.distributor.contract.commission_rules.update(value=D("10"))
    second = generate(world)
    assert second.pk == first.pk
    assert Statement.objects.filter(organization=world.distributor).count() == 1
    assert second.commission == D("76.00") and second.lines.count() == 1
    assert list(
        AuditEntry.objects.filter(object_type="settlement.statement")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["statement.generated", "statement.regenerated"]


def test_an_approved_statement_is_frozen_and_paid_with_a_reference(world):
    statement = generate(world)
    finance = make_member(organization=world.distributor, role=Role.FINANCE)
    now = timezone.now()
    approved = services.approve_statement(statement=statement, actor=finance, now=now)
    assert (approved.status, approved.approved_by) == (StatementStatus.APPROVED, finance)
    # the rate changes afterwards: the approved statement keeps its figures
    world.distributor.contract.commission_rules.update(value=D("10"))
    assert generate(world).commission == D("38.00")
    with pytest.raises(StatementNotApprovable):
        services.approve_statement(statement=statement, actor=finance, now=now)
    paid = services.mark_statement_paid(
        statement=statement, actor=finance, reference="BANK-778", paid_on=now.date(), now=now
    )
    assert (paid.status, paid.payment_reference, paid.paid_by) == ("paid", "BANK-778", finance)
    assert set(
        AuditEntry.objects.filter(
            object_type="settlement.statement", object_id=str(statement.pk)
        ).values_list("action", flat=True)
    ) == {"statement.generated", "statement.approved", "statement.paid"}


@pytest.mark.parametrize("role", [Role.STAFF, Role.MANAGER])
def test_only_finance_owners_and_the_platform_approve(world, role):
    statement = generate(world)
    now = timezone.now()
    with pytest.raises(NotAllowedToSettle):
        services.approve_statement(
            statement=statement,
            actor=make_member(organization=world.distributor, role=role),
            now=now,
        )
    # a finance member of another organization neither
    other = make_member(organization=world.organizer, role=Role.FINANCE)
    with pytest.raises(NotAllowedToSettle):
        services.approve_statement(statement=statement, actor=other, now=now)
    assert Statement.objects.get(pk=statement.pk).status == StatementStatus.DRAFT
    platform = make_organization(kind=OrganizationKind.PLATFORM)
    operator = make_member(organization=platform, role=Role.STAFF)
    assert services.approve_statement(statement=statement, actor=operator, now=now).status == (
        "approved"
    )
    owner = make_member(organization=world.distributor, role=Role.OWNER)
    assert services.may_settle(owner, world.distributor.pk)


@pytest.mark.parametrize(
    ("reference", "days"), [("", 0), ("x" * 81, 0), ("ok\x00", 0), ("BANK-1", 2)]
)
def test_bad_payment_details_are_refused_and_change_nothing(world, reference, days):
    statement = generate(world)
    owner = make_member(organization=world.distributor, role=Role.OWNER)
    now = timezone.now()
    services.approve_statement(statement=statement, actor=owner, now=now)
    with pytest.raises(PaymentDetailsInvalid):
        services.mark_statement_paid(
            statement=statement,
            actor=owner,
            reference=reference,
            paid_on=(now + timedelta(days=days)).date(),
            now=now,
        )
    assert Statement.objects.get(pk=statement.pk).status == StatementStatus.APPROVED


def test_a_draft_cannot_be_marked_paid(world):
    statement = generate(world)
    owner = make_member(organization=world.distributor, role=Role.OWNER)
    now = timezone.now()
    with pytest.raises(StatementNotPayable):
        services.mark_statement_paid(
            statement=statement, actor=owner, reference="B", paid_on=now.date(), now=now
        )


def test_periods_must_have_ended_and_start_on_their_first_day(world):
    now = timezone.now()
    with pytest.raises(PeriodInvalid):  # not a Monday
        services.generate_statement(
            organization=world.distributor, starts_on=world.day + timedelta(days=1), now=now
        )
    with pytest.raises(PeriodInvalid):  # this week has not ended
        services.generate_statement(
            organization=world.distributor,
            starts_on=period_containing(now, "weekly").starts_on,
            now=now,
        )
    with pytest.raises(NotAPartner):
        services.generate_statement(
            organization=make_organization(kind=OrganizationKind.PLATFORM),
            starts_on=world.day,
            now=now,
        )
    assert not Statement.objects.exists()


def test_the_periodic_task_drafts_each_contracts_last_period_once(world):
    now = timezone.now()
    made = services.generate_due_statements(now=now)
    assert made == 3  # organizer (monthly), distributor (weekly), venue operator (monthly)
    assert services.generate_due_statements(now=now) == 0
    week = last_ended(now, "weekly")
    assert Statement.objects.filter(
        organization=world.distributor, starts_on=week.starts_on, status="draft"
    ).exists()
    make_user()  # a user without organization changes nothing
    assert services.generate_due_statements(now=now) == 0
