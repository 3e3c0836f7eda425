"""In a real Chromium: the Content-Security-Policy lets the pages' own scripts run (the live
ticket's inline script carries the nonce) and blocks a foreign inline script; the account
page's data section, two-step sign-in enrolment, the deletion page and the lockout notice in
both languages at desktop and phone widths (screenshots in test-artifacts/)."""

from datetime import UTC, datetime, timedelta

import pytest

from conftest import watch_csp
from tessera.accounts.models import SignInThrottle
from tessera.accounts.tests.factories import make_user
from tessera.checkin.models import CheckinSettings
from tessera.tickets import services as tickets
from tessera.tickets.tests.factories import NOW, make_paid_order, make_ticketed_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/accounts/login/?next=/orders/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")


def test_the_live_ticket_runs_under_the_policy_and_a_foreign_inline_script_is_blocked(
    live_server, browser
):
    # given a ticket whose QR code rotates (the page's inline script fetches new frames)
    fan = make_user(username="wang", password=PASSWORD)
    order = make_paid_order(seats=1, user=fan)
    CheckinSettings.objects.create(session=order.session, uses_rotating_codes=True)
    (ticket,) = tickets.issue_tickets(order=order, now=NOW)
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    violations = watch_csp(context, page)
    try:
        sign_in(page, live_server.url, "wang")
        page.wait_for_url(f"{live_server.url}/orders/")
        # when the ticket page opens, its nonce'd script runs and asks for the live frames
        with page.expect_response(lambda r: "/live" in r.url and r.status == 200):
            page.goto(f"{live_server.url}/tickets/{ticket.public_id}/")
        assert violations == []
        # and an inline script without the nonce (as injected markup would be) is refused
        page.evaluate(
            """() => { const s = document.createElement("script");
                       s.textContent = "window.injected = 1;";
                       document.body.appendChild(s); }"""
        )
        page.wait_for_timeout(200)
        assert page.evaluate("() => window.injected") is None
        # (Chromium's own console message and the page's violation event, both about it)
        assert violations and all("script-src" in v for v in violations)
    finally:
        context.close()


SIZES = [("desktop", 1366, 900), ("phone", 390, 844)]
LANGUAGES = [("zh", "zh-CN"), ("en", "en-US")]


@pytest.mark.parametrize(("language", "locale"), LANGUAGES)
def test_account_security_pages(live_server, browser, artifacts_dir, language, locale):
    # given a staff member whose one event is over
    staff = make_user(username=f"ops-{language}", password=PASSWORD, is_staff=True)
    session, zone = make_ticketed_session(starts_at=datetime.now(UTC) - timedelta(days=20))
    order = make_paid_order(session=session, zone=zone, user=staff, seats=1)
    tickets.issue_tickets(order=order, now=order.paid_at)
    for size, width, height in SIZES:
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        page = context.new_page()
        violations = watch_csp(context, page)
        name = f"{language}-{size}"
        try:
            sign_in(page, live_server.url, staff.username)
            page.wait_for_url(f"{live_server.url}/orders/")
            # the account page: download, two-step sign-in and deletion
            page.locator("#privacy").scroll_into_view_if_needed()
            assert page.locator("#export-data").is_visible()
            page.screenshot(path=artifacts_dir / f"account-privacy-{name}.png", full_page=True)
            with page.expect_download() as download:
                page.click("#export-data")
            assert download.value.suggested_filename.startswith("tessera-my-data-")
            # two-step sign-in: the QR code and the key to type
            page.click("#two-factor-link")
            page.wait_for_selector(".enrol-qr svg")
            assert len(page.locator("#totp-secret").inner_text().replace(" ", "")) == 32
            page.screenshot(path=artifacts_dir / f"two-factor-enrol-{name}.png", full_page=True)
            page.fill("#id_code", "000000")
            page.click("button[value=confirm]")
            page.wait_for_selector("#code-error", state="visible")
            # the deletion page
            page.goto(f"{live_server.url}/account/delete/")
            assert page.locator("#delete-account button[type=submit]").is_visible()
            page.screenshot(path=artifacts_dir / f"delete-account-{name}.png", full_page=True)
            # the lockout notice after five wrong passwords
            context.clear_cookies()
            for n in range(5):
                sign_in(page, live_server.url, staff.username, f"wrong-{n}")
                page.wait_for_selector(".notice-error")
            notice = page.locator(".notice-error").inner_text()
            assert ("30" in notice) and (
                "try again" in notice if language == "en" else "重试" in notice
            )
            page.screenshot(path=artifacts_dir / f"lockout-{name}.png", full_page=True)
            # pages fit the width
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            context.close()
            SignInThrottle.objects.all().delete()
        assert violations == []
