"""Applications and their review, through the services."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from tessera.accounts.models import Membership, Organization, OrganizationKind, Role
from tessera.accounts.tests.factories import make_organization, make_user
from tessera.core import clock
from tessera.core.models import AuditEntry
from tessera.inventory.models import SalesChannel
from tessera.notifications.models import Channel, Message
from tessera.partners import services
from tessera.partners.errors import (
    ApplicationDecided,
    ApplicationInvalid,
    ApplicationPending,
    NotAllowed,
    SlugTaken,
    TermsInvalid,
)
from tessera.partners.models import CommissionRule, Contract, PartnerApplication
from tessera.partners.services import RuleTerms
from tessera.partners.tests.factories import (
    ACCOUNT,
    LICENCE,
    application_values,
    make_application,
    make_operator,
    terms,
)

pytestmark = pytest.mark.django_db


def _raw_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM partners_partnerapplication")
        return cursor.fetchall()


def test_an_application_keeps_the_bank_account_sealed_and_shows_it_masked():
    # when a company applies
    application = make_application(licence_number="9135 0100 m000 100y43")

    # then it waits for review, with the licence code normalised and the account masked
    application.refresh_from_db()
    assert application.status == "submitted"
    assert application.licence_number == LICENCE
    assert application.bank_account_masked == "**** 0123"
    assert services.bank_details(application) == {
        "bank_name": "招商银行上海分行",
        "account_name": "星海票务有限公司",
        "account_number": ACCOUNT,
    }
    # and the table holds neither the number nor the bank in clear, in any column
    (row,) = _raw_rows()
    raw = b"".join(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for v in row)
    assert ACCOUNT.encode() not in raw
    assert "招商银行".encode() not in raw
    assert b"0123" in raw  # the masked form only
    assert AuditEntry.objects.filter(action="partner_application.submitted").count() == 1
    assert ACCOUNT not in str(list(AuditEntry.objects.values_list("data", flat=True)))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("licence_number", "91350100M000100Y44"),  # check character wrong
        ("licence_number", "12345"),
        ("kind", "platform"),
        ("contact_email", "not-an-email"),
        ("contact_phone", "call me"),
        ("bank_account_number", "12ab"),
        ("legal_name", "Bad\x00name"),
        ("legal_name", "x" * 121),
        ("legal_name", ""),
        ("bank_account_number", "1" * 10_000),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_written(field, value):
    applicant = make_user()
    with pytest.raises(ApplicationInvalid) as refused:
        services.submit_application(
            applicant=applicant, now=clock.now(), **application_values(**{field: value})
        )
    assert list(refused.value.details) == [field]
    assert PartnerApplication.objects.count() == 0


def test_wrong_types_are_refused():
    with pytest.raises(ApplicationInvalid) as refused:
        services.submit_application(
            applicant=make_user(),
            now=clock.now(),
            **application_values(legal_name=["list"], contact_name=42),
        )
    assert set(refused.value.details) == {"legal_name", "contact_name"}


def test_one_application_at_a_time_waits_for_review():
    first = make_application()
    with pytest.raises(ApplicationPending):
        make_application(applicant=first.applicant)
    assert PartnerApplication.objects.count() == 1


def test_approval_creates_the_organization_contract_rules_and_channel_once():
    # given an application of a distributor
    application = make_application()
    operator = make_operator()
    now = clock.now()

    # when a platform operator approves it with terms
    organization = services.approve_application(
        application_id=application.pk, actor=operator, slug="xinghai", terms=terms(), now=now
    )

    # then the distributor exists, its applicant is the owner
    assert (organization.kind, organization.slug, organization.name, organization.name_en) == (
        OrganizationKind.DISTRIBUTOR,
        "xinghai",
        "星海票务有限公司",
        "Xinghai Ticketing",
    )
    membership = Membership.objects.get(organization=organization)
    assert (membership.user, membership.role) == (application.applicant, Role.OWNER)
    # with its contract and the two commission tiers
    contract = Contract.objects.get(organization=organization)
    assert (
        contract.platform_fee_percent,
        contract.settlement_cycle,
        contract.credit_limit,
        contract.prepaid,
        contract.starts_on,
        contract.signed_by,
    ) == (Decimal("5.00"), "monthly", Decimal("50000.00"), False, date(2026, 12, 1), operator)
    assert list(
        CommissionRule.objects.filter(contract=contract).values_list(
            "basis", "value", "min_tickets", "event"
        )
    ) == [("percent", Decimal("3.00"), 0, None), ("percent", Decimal("4.50"), 1000, None)]
    # and its sales channel, coded after the slug
    channel = SalesChannel.objects.get(organization=organization)
    assert (channel.code, channel.name) == ("xinghai", "星海票务有限公司")
    application.refresh_from_db()
    assert (application.status, application.organization, application.decided_by) == (
        "approved",
        organization,
        operator,
    )
    assert set(
        AuditEntry.objects.filter(organization_id=organization.pk).values_list("action", flat=True)
    ) >= {"partner_application.approved", "contract.created", "organization.created"}
    # and the applicant is told in the inbox and by email
    assert sorted(
        Message.objects.filter(user=application.applicant, kind="partner_application").values_list(
            "channel", flat=True
        )
    ) == [Channel.EMAIL, Channel.INBOX]

    # when it is approved again
    with pytest.raises(ApplicationDecided):
        services.approve_application(
            application_id=application.pk,
            actor=operator,
            slug="xinghai-2",
            terms=terms(),
            now=now,
        )
    # then nothing more exists
    assert Organization.objects.filter(kind=OrganizationKind.DISTRIBUTOR).count() == 1
    assert Contract.objects.count() == 1
    assert SalesChannel.objects.count() == 1


def test_an_organizer_gets_no_sales_channel():
    application = make_application(kind="organizer")
    organization = services.approve_application(
        application_id=application.pk,
        actor=make_operator(),
        slug="haixing-live",
        terms=terms(rules=[]),
        now=clock.now(),
    )
    assert organization.kind == OrganizationKind.ORGANIZER
    assert not SalesChannel.objects.exists()
    assert not CommissionRule.objects.exists()


def test_only_platform_operators_decide():
    application = make_application()
    member = make_user()
    with pytest.raises(NotAllowed):
        services.approve_application(
            application_id=application.pk, actor=member, slug="x", terms=terms(), now=clock.now()
        )
    with pytest.raises(NotAllowed):
        services.reject_application(
            application_id=application.pk, actor=member, reason="no", now=clock.now()
        )
    application.refresh_from_db()
    assert application.status == "submitted"


@pytest.mark.parametrize("slug", ["Has Space", "-edge", "x" * 41, "", "中文"])
def test_bad_slugs_are_refused(slug):
    application = make_application()
    with pytest.raises(SlugTaken):
        services.approve_application(
            application_id=application.pk,
            actor=make_operator(),
            slug=slug,
            terms=terms(),
            now=clock.now(),
        )
    assert Organization.objects.filter(kind="distributor").count() == 0


def test_a_taken_slug_is_refused_and_nothing_is_created():
    make_organization(slug="xinghai")
    application = make_application()
    with pytest.raises(SlugTaken):
        services.approve_application(
            application_id=application.pk,
            actor=make_operator(),
            slug="xinghai",
            terms=terms(),
            now=clock.now(),
        )
    application.refresh_from_db()
    assert application.status == "submitted"
    assert not Contract.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"platform_fee_percent": Decimal("100.01")}, "platform_fee_percent"),
        ({"platform_fee_percent": Decimal("NaN")}, "platform_fee_percent"),
        ({"platform_fee_percent": Decimal("1.234")}, "platform_fee_percent"),
        ({"settlement_cycle": "daily"}, "settlement_cycle"),
        ({"credit_limit": Decimal("-1")}, "credit_limit"),
        ({"credit_limit": Decimal("1e20")}, "credit_limit"),
        ({"prepaid": True}, "credit_limit"),  # prepaid with a credit limit
        ({"ends_on": date(2026, 11, 1)}, "ends_on"),
        ({"rules": [RuleTerms(basis="percent", value=Decimal("101"))]}, "rule0"),
        ({"rules": [RuleTerms(basis="bonus", value=Decimal("1"))]}, "rule0"),
        (
            {
                "rules": [
                    RuleTerms(basis="percent", value=Decimal("1")),
                    RuleTerms(basis="per_ticket", value=Decimal("2")),
                ]
            },
            "rule1",
        ),
    ],
)
def test_bad_terms_are_refused_and_nothing_is_created(changes, field):
    application = make_application()
    with pytest.raises(TermsInvalid) as refused:
        services.approve_application(
            application_id=application.pk,
            actor=make_operator(),
            slug="xinghai",
            terms=terms(**changes),
            now=clock.now(),
        )
    assert field in refused.value.details
    assert not Organization.objects.filter(slug="xinghai").exists()
    application.refresh_from_db()
    assert application.status == "submitted"


def test_rejection_records_the_reason_and_tells_the_applicant():
    application = make_application()
    operator = make_operator()
    services.reject_application(
        application_id=application.pk,
        actor=operator,
        reason="  营业执照  已过期 ",
        now=clock.now(),
    )
    application.refresh_from_db()
    assert (application.status, application.reason, application.organization) == (
        "rejected",
        "营业执照 已过期",
        None,
    )
    message = Message.objects.get(user=application.applicant, channel=Channel.INBOX)
    assert message.context["decision"] == "rejected"
    assert AuditEntry.objects.filter(action="partner_application.rejected").count() == 1
    # a rejected applicant may apply again; the rejected one cannot be approved any more
    make_application(applicant=application.applicant)
    with pytest.raises(ApplicationDecided):
        services.approve_application(
            application_id=application.pk,
            actor=operator,
            slug="late",
            terms=terms(),
            now=clock.now(),
        )


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501, "bad\x00"])
def test_a_rejection_needs_a_readable_reason(reason):
    application = make_application()
    with pytest.raises(ApplicationInvalid):
        services.reject_application(
            application_id=application.pk, actor=make_operator(), reason=reason, now=clock.now()
        )
    application.refresh_from_db()
    assert application.status == "submitted"
