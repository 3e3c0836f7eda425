"""The scanner in kiosk mode in a real Chromium, in Chinese and English, at phone and
desktop width: no site header or footer, today's session first, a typed ticket number asks
for the QR code, and "already entered" says when, at which gate, and shows the seat (online
from the server, offline from the downloaded session)."""

import json
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tessera.catalog.tests.factories import make_session
from tessera.checkin.models import Scan
from tessera.checkin.tests.factories import make_gates
from tessera.checkin.tests.test_browser import scan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("locale", "width", "height"),
    [("zh-CN", 390, 844), ("en-US", 390, 844), ("zh-CN", 1366, 900), ("en-US", 1366, 900)],
)
def test_kiosk_scanner_today_first_typed_numbers_and_repeat_entries(
    live_server, browser, artifacts_dir, locale, width, height
):
    # given a session with two named tickets, and two more sessions of the same organization:
    # one that started yesterday noon and one today just after midnight (Shanghai time)
    g = make_gates(tickets=2, names=["王小明", "Li Lei"])
    today = timezone.now().astimezone(SHANGHAI).date()
    yesterday_noon = datetime.combine(today - timedelta(days=1), time(12, 0), tzinfo=SHANGHAI)
    make_session(event=g.session.event, layout=g.session.layout, starts_at=yesterday_noon)
    tonight = make_session(
        event=g.session.event,
        layout=g.session.layout,
        starts_at=datetime.combine(today, time(0, 5), tzinfo=SHANGHAI),
    )
    english = locale.startswith("en")
    context = browser.new_context(
        locale=locale,
        timezone_id="Asia/Shanghai",
        viewport={"width": width, "height": height},
        is_mobile=width < 500,
        has_touch=width < 500,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        # when the gate phone opens the scanner
        page.goto(f"{live_server.url}/checkin/scanner/")

        # then it is the scanner alone: no site header, navigation or footer
        assert page.locator(".site-header").count() == 0
        assert page.locator(".site-footer").count() == 0
        messages = json.loads(page.inner_text("#checkin-messages"))

        # and once signed in, today's session comes first, date first in its label
        page.fill("#token", g.token)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector("#setup:not([hidden])")
        options = page.locator("#session option")
        assert options.first.get_attribute("value") == str(tonight.pk)
        assert options.first.inner_text().startswith(messages["today"] + " 00:05 · ")
        assert messages["today"] == ("Today" if english else "今天")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(
            path=artifacts_dir / f"checkin-kiosk-setup-{locale}-{width}.png", full_page=True
        )
        page.select_option("#session", str(g.session.pk))
        page.check("#names")
        page.click("#load")
        page.wait_for_selector("#scan:not([hidden])")

        # when a ticket number is typed instead of scanned, the scanner asks for the QR code
        assert scan(page, f"{g.tickets[0].pk:010d}") == "ticket_number"
        assert page.inner_text("#result-title") == messages["ticket_number"]
        assert messages["ticket_number"] == (
            "That is the ticket number: scan the QR code" if english else "这是票号：请扫描二维码"
        )

        page.screenshot(
            path=artifacts_dir / f"checkin-kiosk-number-{locale}-{width}.png", full_page=True
        )

        # when a ticket enters (online) and the same code comes again
        seat = "1区, row A, seat 1" if english else "1区 A排1座"
        gate = "North gate" if english else "北门"
        assert scan(page, g.credentials[0]) == "valid"
        assert page.inner_text("#result-place") == seat
        assert scan(page, g.credentials[0]) == "already_entered"

        # then the red screen says when and at which gate it went in, and shows the seat
        entered = Scan.objects.get(is_accepted=True).scanned_at.astimezone(SHANGHAI)
        when = entered.strftime("%H:%M")
        assert page.inner_text("#result-title") == messages["already_entered"]
        assert page.inner_text("#result-entered") == (
            f"Entered at {when}, {gate}" if english else f"已于 {when} 从{gate}入场"
        )
        assert page.inner_text("#result-place") == seat
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(
            path=artifacts_dir / f"checkin-kiosk-already-{locale}-{width}.png", full_page=True
        )

        # and offline the device says the same from what it downloaded
        context.set_offline(True)
        assert scan(page, g.credentials[1]) == "valid"
        assert scan(page, g.credentials[1]) == "already_entered"
        assert re.fullmatch(
            rf"Entered at \d\d:\d\d, {gate}" if english else rf"已于 \d\d:\d\d 从{gate}入场",
            page.inner_text("#result-entered"),
        )
        assert page.inner_text("#result-place") == (
            "1区, row A, seat 2" if english else "1区 A排2座"
        )
        # back online, the device syncs the two offline scans before the test ends
        page.evaluate("delete document.getElementById('notice').dataset.synced")
        context.set_offline(False)
        page.wait_for_selector("#notice[data-synced='1']")
        assert Scan.objects.filter(is_offline=True).count() == 2
    finally:
        context.close()
