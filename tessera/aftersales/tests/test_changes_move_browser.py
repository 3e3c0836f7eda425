"""Moving a session in a real Chromium: an organizer chooses "move to another venue" for a
session, picks the arena's layout, gives its section a price zone and maps the old section to
it, and watches the progress bar advance as the job runs (no reload); the fan then sees the
new venue and new seats on the order page with the refund offer. Screenshots of the move
form, the progress page and the fan's notice at 1366 and 390 px, in Chinese and English."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member, make_user
from tessera.aftersales import changes
from tessera.aftersales.models import SessionChange
from tessera.aftersales.tests.factories import bought
from tessera.aftersales.tests.test_changes_browser import both_languages, handled, unlocked
from tessera.catalog.models import Session
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.venues.models import Section
from tessera.venues.tests.factories import make_layout, make_venue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
ORDERS = 4


def test_an_organizer_moves_a_session_to_another_venue_and_watches_the_progress_bar(
    live_server, settings, page, artifacts_dir
):
    # given a session with four paid orders and an arena with one section of two rows
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=8, starts_at=now + timedelta(days=12))
    fan = make_user(username="fan", password=PASSWORD)
    paid = [bought(sale, fan, [1, 2], now)]
    paid += [bought(sale, make_buyer(), [seat], now) for seat in range(3, ORDERS + 2)]
    arena = make_layout(
        venue=make_venue(name="星光体育馆", name_en="Starlight Arena"),
        sections=1,
        rows=2,
        seats_per_row=6,
    )
    target = Section.objects.get(layout=arena)
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

    # when they choose "move" for the session, pick the arena, its zone and the mapping
    page.goto(f"{live_server.url}/admin/catalog/session/")
    page.check(f"input[name=_selected_action][value='{sale.session.pk}']")
    page.select_option("select[name=action]", "move_session")
    page.click("button[name=index]")
    page.wait_for_selector("select[name=layout]")
    page.select_option("select[name=layout]", str(arena.pk))
    page.click("form.move-layout input[type=submit]")
    page.wait_for_selector(f"select[name=zone_{target.pk}]")
    zone = sale.session.layout.venue.zone_info
    deadline = (now + timedelta(days=5)).astimezone(zone)

    def fill():
        page.select_option(f"select[name=zone_{target.pk}]", str(sale.zones["A"].pk))
        page.select_option(f"select[name=map_{sale.sections['S1'].pk}]", str(target.pk))
        page.fill("textarea[name=reason]", "场馆屋顶维修，改至星光体育馆")
        page.fill("input[name=refund_until]", deadline.strftime("%Y-%m-%dT%H:%M"))

    fill()
    both_languages(page, live_server, artifacts_dir, "change-move-form")
    fill()
    page.click("form.move-form input[type=submit]")

    # then the progress page shows the job at 0 of 4, from the old venue to the arena
    page.wait_for_selector("#change-progress")
    change = SessionChange.objects.get()
    assert Session.objects.get(pk=sale.session.pk).layout_id == arena.pk
    assert (handled(page), page.inner_text("[data-field=total]")) == ("0", str(ORDERS))
    assert "星光体育馆" in page.inner_text("#change-progress")

    # and as the workers deal with the orders, the bar advances without a reload
    unlocked(lambda: changes.run_batch(change_id=change.pk, now=timezone.now(), limit=2))
    expect(page.locator("[data-field=handled]")).to_have_text("2", timeout=10_000)
    assert page.get_attribute("progress", "value") == "2"
    both_languages(page, live_server, artifacts_dir, "change-move-progress-half")
    unlocked(lambda: changes.run_change(change_id=change.pk, clock=timezone.now))
    page.wait_for_selector("#change-progress[data-status=done]")
    assert handled(page) == str(ORDERS)

    # and the fan sees the new venue and the new seats on the order page
    context = page.context.browser.new_context(
        locale="zh-CN", viewport={"width": 1366, "height": 900}
    )
    tab = context.new_page()
    tab.goto(f"{live_server.url}/accounts/login/?next=/orders/{paid[0].number}/")
    tab.fill("input[name=username]", "fan")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("main form button[type=submit]")
    tab.wait_for_url(f"{live_server.url}/orders/{paid[0].number}/")
    notice = tab.inner_text("#session-change")
    assert "星光体育馆" in notice and "场馆屋顶维修" in notice
    assert tab.locator("#change-refund").is_visible()
    both_languages(tab, live_server, artifacts_dir, "change-move-order-page")
