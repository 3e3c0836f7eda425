from datetime import date
from decimal import Decimal

from tessera.accounts.models import Organization, OrganizationKind
from tessera.accounts.tests.factories import make_organization, make_user
from tessera.core import clock
from tessera.partners import services
from tessera.partners.models import PartnerApplication
from tessera.partners.services import ContractTerms, RuleTerms

LICENCE = "91350100M000100Y43"  # a well-formed code (check character 3)
OTHER_LICENCE = "91110108551385082Q"
ACCOUNT = "6222021234567890123"


def application_values(**overrides) -> dict:
    values = {
        "kind": "distributor",
        "legal_name": "星海票务有限公司",
        "legal_name_en": "Xinghai Ticketing",
        "contact_name": "陈静",
        "contact_email": "chen@xinghai.example",
        "contact_phone": "+86 138 0013 8000",
        "licence_number": LICENCE,
        "bank_name": "招商银行上海分行",
        "bank_account_name": "星海票务有限公司",
        "bank_account_number": ACCOUNT,
    }
    values.update(overrides)
    return values


def make_application(*, applicant=None, **overrides) -> PartnerApplication:
    applicant = applicant or make_user(email="applicant@xinghai.example")
    return services.submit_application(
        applicant=applicant, now=clock.now(), **application_values(**overrides)
    )


def make_operator(**fields):
    platform = Organization.objects.filter(kind=OrganizationKind.PLATFORM).first()
    if platform is None:
        platform = make_organization(kind=OrganizationKind.PLATFORM, name="平台", slug="platform")
    from tessera.accounts.tests.factories import make_member

    return make_member(organization=platform, **fields)


def terms(**overrides) -> ContractTerms:
    values = {
        "platform_fee_percent": Decimal("5.00"),
        "settlement_cycle": "monthly",
        "starts_on": date(2026, 12, 1),
        "credit_limit": Decimal("50000.00"),
        "prepaid": False,
        "rules": [
            RuleTerms(basis="percent", value=Decimal("3.00"), min_tickets=0),
            RuleTerms(basis="percent", value=Decimal("4.50"), min_tickets=1000),
        ],
    }
    values.update(overrides)
    return ContractTerms(**values)


def approved_partner(*, slug="xinghai", **overrides):
    """An approved distributor: (organization, its owner)."""
    application = make_application(**overrides)
    organization = services.approve_application(
        application_id=application.pk,
        actor=make_operator(),
        slug=slug,
        terms=terms(),
        now=clock.now(),
    )
    return organization, application.applicant
