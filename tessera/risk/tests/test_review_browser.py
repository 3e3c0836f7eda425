"""The review queue and a decision's explanation in a real Chromium, on a laptop and on a
phone, in Chinese and in English: an organizer's staff member releases a flagged order."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.inventory import services as inventory
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders import services as orders
from tessera.risk import services
from tessera.risk.models import CaseStatus, ReviewCase, RiskDecision

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
REASONS = [
    {"code": "payer_accounts", "weight": 40, "payer": "phone:13800000001", "accounts": 4},
    {"code": "new_account_burst", "weight": 35, "joined_at": "2026-12-06T01:00:00+00:00"},
]


@pytest.mark.parametrize(
    ("locale", "width"), [("zh-CN", 1366), ("zh-CN", 390), ("en-US", 1366), ("en-US", 390)]
)
def test_staff_read_why_and_release(live_server, browser, artifacts_dir, locale, width):
    # given an order flagged for two reasons and a decision that refused a scripted hold
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=4)
    fan = make_buyer(username="wang", date_joined=now - timedelta(minutes=40))
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_units("S1", "A", [1])[0].id], now=now
    )
    order = orders.place_order(hold=hold, user=fan, attendees=["王小明"], now=now)
    case = services.flag_order(order=order, score=75, reasons=REASONS, now=now)
    decision = RiskDecision.objects.create(
        at=now,
        purpose="hold",
        path=f"/api/v1/sessions/{sale.session.pk}/seatmap/hold",
        session=sale.session,
        user=fan,
        device_key="d:Zk3bq0yXcTtqv3mBl1XWdA",
        address="203.0.113.24",
        score=90,
        action="refuse",
        under_attack=True,
        proof="valid",
        reasons=[
            {"code": "new_account", "weight": 30, "minutes": 40},
            {"code": "under_attack", "weight": 0, "rate": 1840},
            {"code": "webdriver", "weight": 60},
        ],
    )
    staff = make_member(
        organization=sale.session.event.organization,
        role=Role.STAFF,
        is_staff=True,
        password=PASSWORD,
    )
    context = browser.new_context(
        locale=locale,
        viewport={"width": width, "height": 900},
        is_mobile=width < 500,
        has_touch=width < 500,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    english = locale.startswith("en")
    tag = f"{'en' if english else 'zh-hans'}-{width}"
    try:
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("input[name=username]", staff.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("input[type=submit]")

        # when they open the review queue
        page.goto(f"{live_server.url}/admin/risk/reviewcase/")
        row = page.locator("#result_list tbody tr")
        assert row.count() == 1
        summary = row.locator("td.field-summary").inner_text()
        assert summary == (
            "One payer paying for several accounts +40, "
            "Burst of accounts created just before buying +35"
            if english
            else "同一付款人为多个账户付款 +40, 开售前集中注册的账户购票 +35"
        )
        page.screenshot(path=artifacts_dir / f"risk-queue-{tag}.png", full_page=True)

        # then the case page explains each reason with its weight
        page.goto(f"{live_server.url}/admin/risk/reviewcase/{case.pk}/change/")
        cells = page.locator("table.risk-reasons tbody tr td:first-child").all_inner_texts()
        assert len(cells) == 2
        page.screenshot(path=artifacts_dir / f"risk-case-{tag}.png", full_page=True)

        # and a refused request's page says why
        page.goto(f"{live_server.url}/admin/risk/riskdecision/{decision.pk}/change/")
        why = page.locator("table.risk-reasons tbody tr td:first-child").all_inner_texts()
        assert why == (
            [
                "Account created just before the sale",
                "Session or room under attack",
                "Browser driven by automation (webdriver)",
            ]
            if english
            else [
                "账户在开售前刚刚注册",
                "场次或排队室正受攻击",
                "浏览器由自动化程序控制（webdriver）",
            ]
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= width or width < 500
        page.screenshot(path=artifacts_dir / f"risk-decision-{tag}.png", full_page=True)

        # when they release the order from the queue
        page.goto(f"{live_server.url}/admin/risk/reviewcase/")
        page.check("#result_list tbody input.action-select")
        page.select_option("select[name=action]", "release_selected")
        page.click("button[name=index]")
        page.wait_for_selector(".messagelist .success")
        assert ReviewCase.objects.get(pk=case.pk).status == CaseStatus.RELEASED
    finally:
        context.close()
