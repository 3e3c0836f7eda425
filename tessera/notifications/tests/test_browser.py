"""The inbox and the choice of channels in a real Chromium, at 1366 and 390 px, in Chinese
and English (screenshots in the artifacts dir)."""

import pytest
from django.db import transaction

from conftest import watch_csp
from tessera.notifications import services
from tessera.notifications.models import Preference
from tessera.notifications.tests.factories import NOW, make_fan_with_tickets

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


@pytest.fixture(autouse=True)
def _no_wake(settings):
    settings.NOTIFICATIONS_WAKE_WORKER = False


def sign_in(page, base: str, next_path: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}{next_path}")


def _context(browser, width: int):
    if width < 600:
        context = browser.new_context(
            locale="zh-CN",
            viewport={"width": width, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
    else:
        context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    return context


@pytest.mark.parametrize("width", [1366, 390])
def test_the_inbox_and_preferences_in_both_languages(live_server, browser, artifacts_dir, width):
    # given a fan with a postponement notice and tomorrow's reminder in the inbox
    setup = make_fan_with_tickets()
    with transaction.atomic():
        services.notify(
            setup.fan,
            "session_postponed",
            {"session": setup.session.pk, "note": "因场馆检修，本场延期。"},
            key="postponed",
            now=NOW,
        )
        services.notify(
            setup.fan, "reminder_24h", {"session": setup.session.pk}, key="r24", now=NOW
        )
    base = live_server.url
    context = _context(browser, width)
    page = context.new_page()
    violations = watch_csp(context, page)
    try:
        sign_in(page, base, "/messages/", setup.fan.username)
        # then the header counts two unread messages and the inbox shows them, newest first
        badge = page.locator(".site-header .unread-badge")
        assert badge.get_attribute("data-unread") == "2"
        titles = page.locator(".inbox-item .card-title").all_inner_texts()
        assert [t.replace("未读：", "").strip() for t in titles] == [
            "明天：星光演唱会",
            "延期：星光演唱会",
        ]
        assert page.locator(".inbox-item.is-unread").count() == 2
        assert "地铁2号线星光路站3号口" in page.locator(".inbox-item").first.inner_text()
        page.screenshot(path=artifacts_dir / f"inbox-zh-{width}.png", full_page=True)
        # when the fan marks the first one read
        page.locator(".inbox-item").first.get_by_role("button", name="标为已读").click()
        page.wait_for_selector(".site-header .unread-badge[data-unread='1']")
        assert page.locator(".inbox-item.is-unread").count() == 1
        # and switches to English
        page.locator(".lang-switch button[value=en]").click()
        page.wait_for_selector("html[lang=en]")
        assert page.locator("h1.page-title").inner_text() == "Messages"
        assert "Postponed: Starlight Concert" in page.locator(".inbox-list").inner_text()
        page.screenshot(path=artifacts_dir / f"inbox-en-{width}.png", full_page=True)
        # then the preferences: text messages on, news by email off
        page.get_by_role("link", name="How we contact you").first.click()
        page.wait_for_url(f"{base}/messages/preferences/")
        page.check("#sms_enabled")
        page.uncheck("#marketing_email")
        page.screenshot(path=artifacts_dir / f"preferences-en-{width}.png", full_page=True)
        page.get_by_role("button", name="Save").click()
        page.wait_for_selector("text=Your choices are saved.")
        preference = Preference.objects.get(user=setup.fan)
        assert (preference.sms_enabled, preference.marketing_email) == (True, False)
        assert page.is_checked("#sms_enabled") and not page.is_checked("#marketing_email")
        page.locator(".lang-switch button[value=zh-hans]").click()
        page.wait_for_selector("html[lang=zh-Hans]")
        assert page.locator("h1.page-title").inner_text() == "通知方式"
        page.screenshot(path=artifacts_dir / f"preferences-zh-{width}.png", full_page=True)
    finally:
        context.close()
    assert not violations, f"Content-Security-Policy violations: {violations}"
