"""Session changes in a real Chromium: an organizer postpones a session from the back office
and watches the progress bar advance as the job runs (the page polls the JSON endpoint; no
reload); the fan then sees the new date on the order and event pages and takes the full
refund offered. Screenshots at 1366 and 390 px, in Chinese and English, go to the artifacts
folder."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError
from django.utils import timezone
from playwright.sync_api import expect

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member, make_user
from tessera.aftersales import changes
from tessera.aftersales.models import SessionChange
from tessera.aftersales.tests.factories import bought
from tessera.catalog.models import Session
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import Order, OrderStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
ORDERS = 6


def shoot(page, artifacts_dir: Path, name: str) -> None:
    """The page at 1366 and 390 px wide, in its current language, then back to 1366."""
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts_dir / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def both_languages(page, live_server, artifacts_dir: Path, name: str) -> None:
    shoot(page, artifacts_dir, f"{name}-zh")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.reload()
    shoot(page, artifacts_dir, f"{name}-en")
    page.context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": live_server.url}]
    )
    page.reload()


def unlocked(run):
    """Run a step of the job, again while the test database (SQLite's shared in-memory
    database, whose locks are per table) is busy with the page's polling: each step is
    idempotent, what was done is not done twice."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return run()
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def handled(page) -> str:
    return page.inner_text("[data-field=handled]")


def test_an_organizer_postpones_a_session_and_watches_the_progress_bar(
    live_server, settings, page, artifacts_dir
):
    # given a session with six paid orders; the job's tasks wait in the queue (the test
    # runs them, so the page can be seen before, during and after)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=8, starts_at=now + timedelta(days=12))
    fan = make_user(username="fan", password=PASSWORD)
    paid = [bought(sale, fan, [1], now)]
    paid += [bought(sale, make_buyer(), [seat], now) for seat in range(2, ORDERS + 1)]
    manager = make_member(
        organization=sale.session.event.organization,
        role=Role.MANAGER,
        is_staff=True,
        password=PASSWORD,
    )
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", manager.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")

    # when they choose "postpone" for the session and give a new date and a refund deadline
    page.goto(f"{live_server.url}/admin/catalog/session/")
    page.check(f"input[name=_selected_action][value='{sale.session.pk}']")
    page.select_option("select[name=action]", "postpone_session")
    page.click("button[name=index]")
    page.wait_for_selector("input[name=new_starts_at]")
    zone = sale.session.layout.venue.zone_info
    new_start = (sale.session.starts_at + timedelta(days=21)).astimezone(zone)
    deadline = (now + timedelta(days=5)).astimezone(zone)
    page.fill("textarea[name=reason]", "主唱生病，演出延期")
    page.fill("input[name=new_starts_at]", new_start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=refund_until]", deadline.strftime("%Y-%m-%dT%H:%M"))
    both_languages(page, live_server, artifacts_dir, "change-postpone-form")
    page.fill("textarea[name=reason]", "主唱生病，演出延期")
    page.fill("input[name=new_starts_at]", new_start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=refund_until]", deadline.strftime("%Y-%m-%dT%H:%M"))
    page.click("input[type=submit]")

    # then the progress page shows the job at 0 of 6, running
    page.wait_for_selector("#change-progress")
    change = SessionChange.objects.get()
    assert Session.objects.get(pk=sale.session.pk).starts_at == new_start.replace(
        second=0, microsecond=0
    )
    assert (handled(page), page.inner_text("[data-field=total]")) == ("0", str(ORDERS))
    assert page.inner_text("[data-field=status_label]") == "进行中"
    assert page.get_attribute("progress", "value") == "0"

    # and as the workers deal with the orders, the bar advances without a reload
    unlocked(lambda: changes.run_batch(change_id=change.pk, now=timezone.now(), limit=3))
    expect(page.locator("[data-field=handled]")).to_have_text("3", timeout=10_000)
    assert page.get_attribute("progress", "value") == "3"
    assert page.inner_text("[data-field=percent]") == "50"
    both_languages(page, live_server, artifacts_dir, "change-progress-half")
    unlocked(lambda: changes.run_change(change_id=change.pk, clock=timezone.now))
    page.wait_for_selector("#change-progress[data-status=done]")
    assert (handled(page), page.inner_text("[data-field=status_label]")) == (str(ORDERS), "完成")
    both_languages(page, live_server, artifacts_dir, "change-progress-done")

    # and the fan sees the new date on the order page and takes the full refund instead
    fan_page = page.context.browser.new_context(
        locale="zh-CN", viewport={"width": 1366, "height": 900}
    )
    tab = fan_page.new_page()
    tab.goto(f"{live_server.url}/accounts/login/?next=/orders/{paid[0].number}/")
    tab.fill("input[name=username]", "fan")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("main form button[type=submit]")
    tab.wait_for_url(f"{live_server.url}/orders/{paid[0].number}/")
    notice = tab.inner_text("#session-change")
    venue_zone = sale.session.layout.venue.zone_info
    assert new_start.astimezone(venue_zone).strftime("%Y-%m-%d %H:%M") in notice
    assert "主唱生病，演出延期" in notice
    both_languages(tab, live_server, artifacts_dir, "change-order-page")
    tab.goto(f"{live_server.url}/events/{sale.session.event.slug}/")
    assert "延期" in tab.inner_text("#sessions")
    both_languages(tab, live_server, artifacts_dir, "change-event-page")
    tab.goto(f"{live_server.url}/orders/{paid[0].number}/")
    tab.click("#change-refund")
    tab.wait_for_url(f"{live_server.url}/orders/{paid[0].number}/")
    assert Order.objects.get(pk=paid[0].pk).status == OrderStatus.REFUNDED
    assert tab.locator("#change-refund").count() == 0
    fan_page.close()
