"""Onboarding in a real Chromium: a company applies as a distributor, a platform operator
approves it with its terms, the new owner invites a colleague by email, the colleague
signs up from the link, accepts, sees the console and creates the first API key (shown
once). Then the apply, review, overview and
members pages at 1366 and 390 px in both languages (screenshots, no sideways scrolling)."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from conftest import watch_csp
from tessera.accounts.models import Membership, Organization, Role
from tessera.accounts.tests.factories import make_user
from tessera.aftersales.tests.factories import bought
from tessera.inventory.models import SalesChannel
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.notifications import delivery
from tessera.orders.models import Order
from tessera.partners.models import Contract, PartnerApplication
from tessera.partners.tests.factories import (
    ACCOUNT,
    LICENCE,
    application_values,
    approved_partner,
    make_application,
    make_operator,
)
from tessera.sale import channels
from tessera.sale.models import ChannelKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


def tab(browser, *, locale="zh-CN", width=1280, height=900):
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    page = context.new_page()
    return context, page, watch_csp(context, page)


def sign_in(page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


def test_apply_approve_invite_accept(live_server, settings, browser, artifacts_dir):
    settings.TESSERA_PUBLIC_URL = live_server.url
    base = live_server.url
    applicant = make_user(username="chenjing", password=PASSWORD, email="chen@xinghai.example")
    make_operator(username="operator", password=PASSWORD)
    violations = []

    # when 陈静 applies as a distributor
    context, page, seen = tab(browser)
    violations.append(seen)
    sign_in(page, base, "chenjing", "/partners/apply/")
    values = application_values()
    page.select_option("#id_kind", "distributor")
    for name in (
        "legal_name",
        "legal_name_en",
        "contact_name",
        "contact_email",
        "contact_phone",
        "bank_name",
        "bank_account_name",
    ):
        page.fill(f"#id_{name}", values[name])
    page.fill("#id_licence_number", "9135 0100 M000 100Y44")  # a typo in the check character
    page.fill("#id_bank_account_number", ACCOUNT)
    page.click("#submit-application")
    # then the typo is shown next to the field and nothing is recorded
    assert "不是有效的统一社会信用代码" in page.inner_text("#apply-form")
    assert not PartnerApplication.objects.exists()
    page.fill("#id_licence_number", LICENCE)
    page.click("#submit-application")
    page.wait_for_selector("#application-status")
    assert page.inner_text("#application-status") == "待审核"
    assert "**** 0123" in page.inner_text("main")

    # when a platform operator approves it with terms
    op_context, op_page, seen = tab(browser)
    violations.append(seen)
    sign_in(op_page, base, "operator", "/partners/review/")
    application = PartnerApplication.objects.get()
    assert application.applicant == applicant
    op_page.click(f"#application-row-{application.pk} a")
    op_page.wait_for_selector("#approve-form")
    op_page.fill("#id_approve-slug", "xinghai")
    op_page.fill("#id_approve-platform_fee_percent", "6.5")
    op_page.select_option("#id_approve-settlement_cycle", "weekly")
    op_page.fill("#id_approve-credit_limit", "20000")
    op_page.fill("#id_approve-starts_on", "2026-12-01")
    op_page.select_option("#id_approve-rule0_basis", "percent")
    op_page.fill("#id_approve-rule0_value", "3")
    op_page.fill("#id_approve-rule0_min_tickets", "0")
    op_page.click("#approve-button")
    op_page.wait_for_selector("#review-status")
    assert op_page.inner_text("#review-status") == "已批准"
    organization = Organization.objects.get(slug="xinghai")
    contract = Contract.objects.get(organization=organization)
    assert (str(contract.platform_fee_percent), str(contract.credit_limit)) == ("6.50", "20000.00")
    assert SalesChannel.objects.get(organization=organization).code == "xinghai"
    op_context.close()

    # then 陈静 sees the approval and opens the console
    page.goto(f"{base}/partners/apply/")
    page.click("#open-console")
    page.wait_for_selector("#console-home")
    assert page.inner_text("#console-org") == "星海票务有限公司"
    assert "6.50%" in page.inner_text("#contract")

    # when she invites a colleague by email from the members page
    page.goto(f"{base}/partners/console/members/?org={organization.pk}")
    page.fill("#id_invite-email", "li@xinghai.example")
    page.select_option("#id_invite-role", "manager")
    page.click("#send-invitation")
    page.wait_for_selector(".site-messages")
    assert "li@xinghai.example" in page.inner_text("#invitations")
    if not mail.outbox:
        delivery.deliver_due(now=timezone.now())
    (email,) = [m for m in mail.outbox if m.to == ["li@xinghai.example"]]
    link = re.search(r"https?://\S+/partners/invitations/[^/\s]+/", email.body).group(0)
    assert link.startswith(base)
    context.close()

    # the colleague opens the link, creates an account and comes back to accept
    li_context, li_page, seen = tab(browser)
    violations.append(seen)
    li_page.goto(link)
    li_page.click("#sign-up-link")
    li_page.fill("#id_username", "lilei")
    li_page.fill("#id_email", "li@xinghai.example")
    li_page.fill("#id_password1", "colleague-pass-77")
    li_page.fill("#id_password2", "colleague-pass-77")
    li_page.click("main form button[type=submit]")
    li_page.wait_for_url(link)
    li_page.click("#accept-invitation")
    li_page.wait_for_selector("#console-home")
    # then the colleague is a manager of the distributor and sees its console
    assert li_page.inner_text("#console-org") == "星海票务有限公司"
    membership = Membership.objects.get(user__username="lilei")
    assert (membership.organization, membership.role) == (organization, Role.MANAGER)
    # and the link does not open twice
    li_page.goto(link)
    assert "已被使用" in li_page.inner_text("#invitation-error")

    # when the colleague creates the distributor's first API key in the console
    li_page.goto(f"{base}/partners/keys/?org={organization.pk}")
    li_page.fill("#id_name", "星海售票系统")
    li_page.click("#create-key")
    # then it is shown once, and it is a working key of the new distributor's channel
    li_page.wait_for_url(re.compile(r"/partners/keys/\d+/new/"))
    secret = li_page.inner_text("#key-secret").strip()
    principal = channels.authenticate(secret, now=timezone.now())
    assert principal.organization_id == organization.pk
    assert ChannelKey.objects.get(pk=principal.key_id).digest != secret
    li_page.reload()
    assert secret not in li_page.content()
    li_context.close()
    assert not any(violations), violations


def _world(now):
    """An approved distributor with an owner, a colleague, an open invitation, sales on two
    days, and another application waiting for review."""
    organization, owner = approved_partner()
    owner.username = "chenjing"
    owner.set_password(PASSWORD)
    owner.display_name = "陈静"
    owner.save()
    Membership.objects.create(
        organization=organization,
        user=make_user(email="wang@xinghai.example", display_name="王芳"),
        role=Role.FINANCE,
    )
    from tessera.partners import services

    services.invite_member(
        organization=organization,
        actor=owner,
        email="li@xinghai.example",
        role=Role.MANAGER,
        now=now,
    )
    sale = make_sale(sections=1, rows=1, seats_per_row=6, starts_at=now + timedelta(days=20))
    buyer = make_buyer()
    orders = [
        bought(sale, buyer, [1, 2], now - timedelta(days=3)),
        bought(sale, buyer, [3], now - timedelta(days=1)),
        bought(sale, buyer, [4, 5, 6], now),
    ]
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        channel=organization.sales_channels.get()
    )
    waiting = make_application(
        applicant=make_user(email="hall@example.com"),
        kind="venue_operator",
        legal_name="海滨体育馆运营有限公司",
        legal_name_en="Seaside Arena Operations",
    )
    make_operator(username="operator", password=PASSWORD)
    return organization, waiting


@pytest.mark.parametrize(("language", "locale"), [("zh", "zh-CN"), ("en", "en-US")])
@pytest.mark.parametrize(("size", "width", "height"), [("desktop", 1366, 900), ("phone", 390, 844)])
def test_onboarding_pages_fit_the_screen(
    live_server, browser, artifacts_dir, language, locale, size, width, height
):
    base = live_server.url
    now = timezone.now()
    organization, waiting = _world(now)
    shots = artifacts_dir / "onboarding"
    shots.mkdir(exist_ok=True)

    def snap(page, name: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        page.screenshot(path=shots / f"{name}-{size}-{language}.png", full_page=True)

    context, page, violations = tab(browser, locale=locale, width=width, height=height)
    sign_in(page, base, "chenjing", f"/partners/console/?org={organization.pk}")
    assert page.locator("#chart-tickets svg rect").count() == 30
    snap(page, "console-overview")
    page.goto(f"{base}/partners/console/members/?org={organization.pk}")
    page.wait_for_selector("#member-table")
    snap(page, "console-members")
    context.close()

    context, page, seen = tab(browser, locale=locale, width=width, height=height)
    sign_in(page, base, "operator", "/partners/review/")
    snap(page, "review-list")
    page.goto(f"{base}/partners/review/{waiting.pk}/")
    page.wait_for_selector("#approve-form")
    snap(page, "review")
    context.close()

    fresh = make_user(username=f"newco-{size}-{language}", password=PASSWORD)
    context, page, seen2 = tab(browser, locale=locale, width=width, height=height)
    sign_in(page, base, fresh.username, "/partners/apply/")
    snap(page, "apply")
    page.click("#submit-application")  # empty: every required field is marked
    page.wait_for_selector(".field-error")
    snap(page, "apply-errors")
    heading = page.inner_text("h1")
    assert heading == ("成为合作伙伴" if language == "zh" else "Become a partner")
    context.close()
    assert not (violations or seen or seen2)
