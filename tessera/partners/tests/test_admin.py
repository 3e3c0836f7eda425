"""The back office: applications are the platform's; a partner reads only its own contract
and cannot change it; operators change contracts, audited."""

import pytest
from django.urls import reverse

from tessera.core.models import AuditEntry
from tessera.partners.models import Contract
from tessera.partners.tests.factories import approved_partner, make_application, make_operator

pytestmark = pytest.mark.django_db


def test_a_partner_reads_its_own_contract_only_and_cannot_change_it(client):
    mine, owner = approved_partner()
    other, _other_owner = approved_partner(slug="other-one", contact_email="o@o.example")
    client.force_login(owner)

    listing = client.get(reverse("admin:partners_contract_changelist"))
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [Contract.objects.get(organization=mine)]
    own = Contract.objects.get(organization=mine)
    page = client.get(reverse("admin:partners_contract_change", args=[own.pk]))
    assert page.status_code == 200 and not page.context["has_change_permission"]
    theirs = Contract.objects.get(organization=other)
    assert client.get(reverse("admin:partners_contract_change", args=[theirs.pk])).status_code in (
        302,
        404,
    )
    posted = client.post(
        reverse("admin:partners_contract_change", args=[own.pk]),
        {"platform_fee_percent": "0", "settlement_cycle": "weekly"},
    )
    assert posted.status_code == 403
    own.refresh_from_db()
    assert str(own.platform_fee_percent) == "5.00"
    assert client.get(reverse("admin:partners_partnerapplication_changelist")).status_code == 403


def test_operators_see_applications_and_change_contracts_audited(client):
    organization, _owner = approved_partner()
    make_application(applicant=None, legal_name="另一家公司")
    client.force_login(make_operator())
    listing = client.get(reverse("admin:partners_partnerapplication_changelist"))
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 2
    assert "6222021234567890123" not in listing.content.decode()

    contract = Contract.objects.get(organization=organization)
    page = client.post(
        reverse("admin:partners_contract_change", args=[contract.pk]),
        {
            "organization": organization.pk,
            "platform_fee_percent": "7.25",
            "settlement_cycle": "weekly",
            "currency": "CNY",
            "credit_limit": "1000.00",
            "starts_on": "2026-12-01",
            "commission_rules-TOTAL_FORMS": "0",
            "commission_rules-INITIAL_FORMS": "0",
        },
    )
    assert page.status_code == 302, page.context["adminform"].form.errors if page.context else ""
    contract.refresh_from_db()
    assert str(contract.platform_fee_percent) == "7.25"
    entry = AuditEntry.objects.get(action="contract.changed")
    assert entry.organization_id == organization.pk
    assert entry.data["platform_fee_percent"] == "7.25"
