"""The onboarding pages over HTTP: both languages, the happy paths, refusals shown next to
the field, scoping, and bad input that never gives a 5xx and changes nothing."""

import re

import pytest
from django.urls import reverse

from tessera.accounts.models import Membership, Organization, Role
from tessera.accounts.tests.factories import make_user
from tessera.notifications.models import Message
from tessera.partners.models import Contract, Invitation, PartnerApplication
from tessera.partners.tests.factories import (
    application_values,
    approved_partner,
    make_application,
    make_operator,
)

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def approval_post(**overrides):
    data = {
        "action": "approve",
        "approve-slug": "xinghai",
        "approve-platform_fee_percent": "6.50",
        "approve-settlement_cycle": "weekly",
        "approve-credit_limit": "0",
        "approve-prepaid": "on",
        "approve-starts_on": "2026-12-01",
        "approve-ends_on": "",
        "approve-rule0_basis": "per_ticket",
        "approve-rule0_value": "2.00",
        "approve-rule0_min_tickets": "0",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("headers", "title", "button"),
    [(EN, "Become a partner", "Send the application"), (ZH, "成为合作伙伴", "提交申请")],
)
def test_the_apply_page_in_both_languages(client, headers, title, button):
    client.force_login(make_user())
    html = client.get(reverse("partners:apply"), **headers).content.decode()
    assert title in html and button in html


def test_the_apply_page_asks_to_sign_in(client):
    page = client.get(reverse("partners:apply"))
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]


def test_applying_and_seeing_the_status(client):
    user = make_user()
    client.force_login(user)
    page = client.post(reverse("partners:apply"), application_values(), follow=True, **EN)
    assert page.status_code == 200
    application = PartnerApplication.objects.get(applicant=user)
    html = page.content.decode()
    assert "Waiting for review" in html and "**** 0123" in html
    assert "6222021234567890123" not in html
    assert 'id="apply-form"' not in html  # no second application while one waits
    # a second post changes nothing
    client.post(reverse("partners:apply"), application_values(), **EN)
    assert PartnerApplication.objects.filter(applicant=user).count() == 1
    assert application.status == "submitted"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (EN, "This is not a valid unified social credit code"),
        (ZH, "不是有效的统一社会信用代码"),
    ],
)
def test_a_bad_licence_is_shown_next_to_its_field(client, headers, message):
    client.force_login(make_user())
    page = client.post(
        reverse("partners:apply"),
        application_values(licence_number="91350100M000100Y44"),
        **headers,
    )
    assert page.status_code == 400
    assert message in page.content.decode()
    assert not PartnerApplication.objects.exists()


@pytest.mark.parametrize(
    "field", ["legal_name", "contact_email", "licence_number", "bank_account_number", "kind"]
)
@pytest.mark.parametrize("value", ["a\x00b", "x" * 100_000, "\u202e\u0007", ""])
def test_bad_input_on_the_apply_page_is_refused_without_a_5xx(client, field, value):
    client.force_login(make_user())
    page = client.post(reverse("partners:apply"), application_values(**{field: value}), **EN)
    assert page.status_code == 400
    assert not PartnerApplication.objects.exists()


def test_review_is_for_platform_operators_only(client):
    application = make_application()
    client.force_login(application.applicant)
    assert client.get(reverse("partners:review_list")).status_code == 403
    assert client.get(reverse("partners:review", args=[application.pk])).status_code == 403
    assert (
        client.post(reverse("partners:review", args=[application.pk]), approval_post()).status_code
        == 403
    )
    assert not Organization.objects.filter(slug="xinghai").exists()


@pytest.mark.parametrize(
    ("headers", "texts"),
    [
        (EN, ["Partner applications", "Xinghai Ticketing", "Waiting for review"]),
        (ZH, ["合作伙伴申请", "星海票务有限公司", "待审核"]),
    ],
)
def test_the_review_list_in_both_languages(client, headers, texts):
    make_application()
    client.force_login(make_operator())
    html = client.get(reverse("partners:review_list"), **headers).content.decode()
    assert all(t in html for t in texts), [t for t in texts if t not in html]


def test_approving_on_the_review_page(client):
    application = make_application()
    client.force_login(make_operator())
    detail = client.get(reverse("partners:review", args=[application.pk]), **EN)
    html = detail.content.decode()
    assert "招商银行上海分行" in html and "**** 0123" in html
    assert "6222021234567890123" not in html
    assert 'value="xinghai-ticketing"' in html  # the proposed slug

    page = client.post(
        reverse("partners:review", args=[application.pk]), approval_post(), follow=True, **EN
    )

    assert page.status_code == 200
    organization = Organization.objects.get(slug="xinghai")
    contract = Contract.objects.get(organization=organization)
    assert (str(contract.platform_fee_percent), contract.settlement_cycle, contract.prepaid) == (
        "6.50",
        "weekly",
        True,
    )
    assert [(r.basis, str(r.value)) for r in contract.commission_rules.all()] == [
        ("per_ticket", "2.00")
    ]
    assert "Approved: Xinghai Ticketing is a partner now." in page.content.decode()
    assert 'id="approve-form"' not in page.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"approve-platform_fee_percent": "101"}, "100"),
        ({"approve-credit_limit": "5000"}, "prepaid"),
        ({"approve-slug": "Bad Slug"}, "lower-case"),
        ({"approve-rule0_value": ""}, "Enter the commission"),
        ({"approve-starts_on": "not a date"}, "valid date"),
        ({"approve-slug": "x\x00y"}, "Null characters"),
        ({"approve-credit_limit": "9" * 5000}, "digits"),
    ],
)
def test_bad_terms_are_shown_and_nothing_is_created(client, overrides, field_message):
    application = make_application()
    client.force_login(make_operator())
    page = client.post(
        reverse("partners:review", args=[application.pk]), approval_post(**overrides), **EN
    )
    assert page.status_code == 400
    assert field_message in page.content.decode()
    assert not Contract.objects.exists()
    application.refresh_from_db()
    assert application.status == "submitted"


def test_rejecting_on_the_review_page_and_the_applicant_reads_why(client):
    application = make_application()
    client.force_login(make_operator())
    client.post(
        reverse("partners:review", args=[application.pk]),
        {"action": "reject", "reject-reason": "营业执照已过期"},
    )
    application.refresh_from_db()
    assert application.status == "rejected"
    client.force_login(application.applicant)
    html = client.get(reverse("partners:apply"), **ZH).content.decode()
    assert "已拒绝" in html and "营业执照已过期" in html
    assert 'id="apply-form"' in html  # may apply again


@pytest.fixture
def partner():
    return approved_partner()


def members_url(organization):
    return f"{reverse('partners:members')}?org={organization.pk}"


@pytest.mark.parametrize(
    ("headers", "texts"),
    [
        (EN, ["Members", "Invite a person", "Owner", "Send the invitation"]),
        (ZH, ["成员", "邀请成员", "所有者", "发送邀请"]),
    ],
)
def test_the_members_page_in_both_languages(client, partner, headers, texts):
    organization, owner = partner
    client.force_login(owner)
    html = client.get(members_url(organization), **headers).content.decode()
    assert all(t in html for t in texts), [t for t in texts if t not in html]


def test_inviting_from_the_members_page_and_accepting(client, partner):
    organization, owner = partner
    client.force_login(owner)
    page = client.post(
        members_url(organization),
        {"action": "invite", "invite-email": "li@xinghai.example", "invite-role": "finance"},
        follow=True,
        **EN,
    )
    assert "Invitation sent to li@xinghai.example." in page.content.decode()
    invitation = Invitation.objects.get()
    path = Message.objects.get(kind="partner_invitation").context["path"]
    token = re.match(r"^/partners/invitations/([^/]+)/$", path).group(1)

    # a visitor who is not signed in is asked to sign in or sign up, then comes back
    client.logout()
    html = client.get(path, **EN).content.decode()
    assert f'/accounts/login/?next={path}"' in html
    assert f'/signup/?next={path}"' in html
    assert client.post(path).status_code == 200  # not signed in: nothing happens
    assert Invitation.objects.get().accepted_at is None

    # someone else's account is refused
    client.force_login(make_user(email="else@x.example"))
    page = client.post(path, **EN)
    assert page.status_code == 403
    assert "sent to another email address" in page.content.decode()

    # the invited person accepts and lands in the console
    colleague = make_user(email="li@xinghai.example")
    client.force_login(colleague)
    page = client.post(path, **EN)
    assert page.status_code == 302
    assert page["Location"] == f"/partners/console/?org={organization.pk}"
    assert Membership.objects.get(user=colleague).role == Role.FINANCE
    # and the link is spent
    page = client.get(path, **EN)
    assert page.status_code == 410
    assert invitation.token_digest != token


def test_staff_cannot_manage_members(client, partner):
    organization, _owner = partner
    staff = make_user()
    Membership.objects.create(organization=organization, user=staff, role=Role.STAFF)
    client.force_login(staff)
    html = client.get(members_url(organization)).content.decode()
    assert 'id="invite"' not in html
    page = client.post(
        members_url(organization),
        {"action": "invite", "invite-email": "x@x.example", "invite-role": "owner"},
    )
    assert page.status_code == 403
    assert not Invitation.objects.exists()


def test_a_member_of_partner_a_never_sees_partner_b(client, partner):
    organization, owner = partner
    other, other_owner = approved_partner(slug="other-one", contact_email="o@o.example")
    Invitation.objects.create(
        organization=other,
        email="secret@other.example",
        role="staff",
        token_digest="0" * 64,
        created_at=other.created_at,
        expires_at=other.created_at.replace(year=2099),
    )
    client.force_login(owner)
    assert client.get(members_url(other)).status_code == 403
    assert (
        client.post(
            members_url(other),
            {"action": "invite", "invite-email": "x@x.example", "invite-role": "owner"},
        ).status_code
        == 403
    )
    html = client.get(members_url(organization)).content.decode()
    assert "secret@other.example" not in html and other_owner.username not in html
    # B's invitation id sent to A's page is not found
    invitation = Invitation.objects.get(organization=other)
    page = client.post(
        members_url(organization), {"action": "revoke", "invitation": invitation.pk}, follow=True
    )
    assert page.status_code == 200
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


@pytest.mark.parametrize(
    "data",
    [
        {"action": "invite", "invite-email": "a\x00b@x.example", "invite-role": "staff"},
        {"action": "invite", "invite-email": "x" * 100_000, "invite-role": "staff"},
        {"action": "invite", "invite-email": "x@x.example", "invite-role": "emperor"},
        {"action": "role", "membership": "9" * 40, "role": "staff"},
        {"action": "role", "membership": "abc", "role": "staff"},
        {"action": "remove", "membership": "-1"},
        {"action": "revoke", "invitation": "\x00"},
        {"action": "nonsense"},
    ],
)
def test_bad_input_on_the_members_page_never_gives_a_5xx(client, partner, data):
    organization, owner = partner
    client.force_login(owner)
    page = client.post(members_url(organization), data)
    assert page.status_code in (302, 400)
    assert Membership.objects.filter(organization=organization).count() == 1
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("token", ["nonsense", "a" * 150, "x.y", "%00"])
def test_a_bad_invitation_link_is_a_clear_404(client, token):
    page = client.get(f"/partners/invitations/{token}/", **EN)
    assert page.status_code == 404
    assert "This invitation link is not valid." in page.content.decode()


def test_review_follows_the_back_offices_two_step_rule(client, settings):
    settings.TWO_FACTOR_REQUIRED_FOR_OPERATORS = True
    application = make_application()
    client.force_login(make_operator())
    page = client.post(reverse("partners:review", args=[application.pk]), approval_post())
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("accounts:two_factor"))
    assert not Organization.objects.filter(slug="xinghai").exists()
