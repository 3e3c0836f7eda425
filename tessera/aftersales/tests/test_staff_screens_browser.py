"""Staff screens in a real Chromium, in Chinese and English at 1366 and 390 px: the back
office's index links each coming session to its check-in dashboard and its waiting room's
live page; the live page names the state as the room list does and offers only the controls
that apply; the session form's price zones fit 1366 px with colours picked; the check-in
dashboard's bars have a time axis and its headers never break inside a word.
Screenshots: test-artifacts/staff-<page>-<language>-<width>.png."""

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from conftest import watch_csp
from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.checkin import services as checkin
from tessera.checkin.models import Direction
from tessera.checkin.tests.factories import make_gates
from tessera.tickets.tests.factories import SESSION_START
from tessera.waitingroom.tests.factories import make_room

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
# The dashboard's headers whose text takes more than one line (a word broken in two).
_HEADERS_ON_MORE_THAN_ONE_LINE = """() => [...document.querySelectorAll(
    ".checkin-flags th, .checkin-tile-label")]
  .filter((e) => {
    const range = document.createRange();
    range.selectNodeContents(e);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
  })
  .map((e) => e.textContent)"""
WORDS = {
    "zh-hans": {
        "locale": "zh-CN",
        "prequeue": "预排队",
        "paused": "已暂停",
        "closed": "已关闭",
        "pause": "暂停放行",
        "resume": "恢复放行",
        "close": "关闭排队",
    },
    "en": {
        "locale": "en-US",
        "prequeue": "Pre-queue",
        "paused": "Paused",
        "closed": "Closed",
        "pause": "Pause admission",
        "resume": "Resume admission",
        "close": "Close the waiting room",
    },
}


def shoot(tab, artifacts_dir, name, language):
    for width in (1366, 390):
        tab.set_viewport_size({"width": width, "height": 900})
        tab.screenshot(path=artifacts_dir / f"staff-{name}-{language}-{width}.png", full_page=True)
    tab.set_viewport_size({"width": 1366, "height": 900})


def controls(tab) -> list[str]:
    return [
        b.strip()
        for b in tab.locator(
            "#waitingroom-live button[name=do]:not([value=rate])"
        ).all_inner_texts()
    ]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_staff_screens(live_server, browser, artifacts_dir, language):
    # given a session with two gates and three entries, sold through a waiting room
    g = make_gates(tickets=3)
    for ticket_credential, minutes in zip(g.credentials, (-40, -25, 5), strict=True):
        checkin.scan_online(
            device=g.device,
            session=g.session,
            gate_id=g.north.pk,
            direction=Direction.ENTRY,
            text=ticket_credential,
            scan_uuid=uuid.uuid4(),
            now=SESSION_START + timedelta(minutes=minutes),
        )
    room = make_room(sale=SimpleNamespace(session=g.session), now=timezone.now())
    manager = make_member(
        organization=g.session.event.organization,
        role=Role.MANAGER,
        is_staff=True,
        password=PASSWORD,
    )
    words = WORDS[language]
    context = browser.new_context(locale=words["locale"], viewport={"width": 1366, "height": 900})
    context.set_default_timeout(45_000)  # the admin's pages are heavy on a loaded machine
    tab = context.new_page()
    violations = watch_csp(context, tab)
    base = live_server.url
    try:
        tab.goto(f"{base}/admin/login/")
        tab.fill("input[name=username]", manager.username)
        tab.fill("input[name=password]", PASSWORD)
        tab.click("input[type=submit]")

        # when the manager opens the back office's index
        tab.wait_for_selector("#staff-pages")
        # then the session links to its check-in dashboard and its waiting room's live page
        links = tab.locator("#staff-pages a")
        hrefs = links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert hrefs == [
            f"/checkin/sessions/{g.session.pk}/dashboard/",
            f"/admin/waitingroom/waitingroom/{room.pk}/live/",
        ]
        shoot(tab, artifacts_dir, "index", language)

        # when they follow the live page: the state in the list's words, two controls
        tab.locator("#staff-pages a").nth(1).click()
        tab.wait_for_selector("#live-state")
        assert tab.locator("#live-state").inner_text() == words["prequeue"]
        assert controls(tab) == [words["pause"], words["close"]]
        shoot(tab, artifacts_dir, "live", language)
        tab.goto(f"{base}/admin/waitingroom/waitingroom/")
        assert tab.locator("td.field-state").inner_text() == words["prequeue"]

        # when they pause: resume replaces pause, the list says paused as the page does
        tab.goto(f"{base}/admin/waitingroom/waitingroom/{room.pk}/live/")
        tab.locator("button[name=do][value=pause]").click()
        tab.wait_for_selector("#live-state")
        assert tab.locator("#live-state").inner_text() == words["paused"]
        assert controls(tab) == [words["resume"], words["close"]]
        tab.goto(f"{base}/admin/waitingroom/waitingroom/")
        assert tab.locator("td.field-state").inner_text() == words["paused"]
        # and once closed, no control is left
        tab.goto(f"{base}/admin/waitingroom/waitingroom/{room.pk}/live/")
        tab.locator("button[name=do][value=close]").click()
        tab.wait_for_selector("#live-state")
        assert tab.locator("#live-state").inner_text() == words["closed"]
        assert controls(tab) == []

        # the session form fits 1366 px, its zones' colours are picked with a colour input
        tab.goto(f"{base}/admin/catalog/session/{g.session.pk}/change/")
        assert tab.evaluate("document.scrollingElement.scrollWidth") <= 1366
        colour = tab.locator("input[name='price_zones-0-color']")
        assert colour.get_attribute("type") == "color"
        assert colour.input_value() == g.zone.color
        shoot(tab, artifacts_dir, "session-form", language)

        # the check-in dashboard on a phone: bars with times under them, whole-word headers
        tab.set_viewport_size({"width": 390, "height": 844})
        tab.goto(f"{base}/checkin/sessions/{g.session.pk}/dashboard/")
        tab.wait_for_selector("body[data-dashboard-loaded='1']")
        north = tab.locator(".checkin-gate[data-total='3']")
        bars = north.locator(".checkin-bar > span").all_inner_texts()
        # entries at 18:50, 19:05 and 19:35 Shanghai time: every 5 minutes between is a bar
        assert bars == ["1", "0", "0", "1", "0", "0", "0", "0", "0", "1"]
        assert north.locator(".checkin-tick time").all_inner_texts() == ["18:50", "19:20", "19:35"]
        assert tab.evaluate("document.scrollingElement.scrollWidth") <= 390
        broken = tab.evaluate(_HEADERS_ON_MORE_THAN_ONE_LINE)
        assert broken == []
        shoot(tab, artifacts_dir, "checkin-dashboard", language)
    finally:
        context.close()
    assert violations == []
