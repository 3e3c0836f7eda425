"""Search and home in a real Chromium, in Chinese and English, at 1366 and 390 px: results
grouped by event, the filters in a drawer on a phone, the home page's city picker.
Screenshots: test-artifacts/search-*.png, home-city-*.png."""

import pytest

from tessera.catalog.tests.factories import make_session
from tessera.storefront.tests.conftest import shanghai

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = {
    "zh-hans": {"locale": "zh-CN", "filters": "筛选", "close": "关闭", "found": "找到 2 个活动"},
    "en": {"locale": "en-US", "filters": "Filters", "close": "Close", "found": "2 events found"},
}


def texts(locator) -> list[str]:
    return [" ".join(t.split()) for t in locator.all_inner_texts()]


def open_tab(browser, language: str, width: int):
    from conftest import watch_csp

    phone = width < 500
    context = browser.new_context(
        locale=LANGUAGES[language]["locale"],
        viewport={"width": width, "height": 844 if phone else 900},
        is_mobile=phone,
        has_touch=phone,
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    return context, tab, watch_csp(context, tab)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_search_groups_by_event_and_the_phone_opens_filters_in_a_drawer(
    live_server, browser, showcase, artifacts_dir, language
):
    # given the derby has two more nights in Beijing
    derby = showcase_event(showcase, "capital-derby")
    first = derby.sessions.order_by("starts_at").first()
    for day in (27, 29):
        make_session(event=derby, layout=first.layout, starts_at=shanghai(2040, 12, day, 19, 35))
    words = LANGUAGES[language]

    # when a fan on a desktop searches matches in Beijing
    context, tab, violations = open_tab(browser, language, 1366)
    try:
        tab.goto(f"{live_server.url}/search/?kind=match&city=beijing")
        # then one card per event, the derby's with its three nights and the next one
        assert tab.locator("#results-title").inner_text() == words["found"]
        cards = tab.locator(".event-group-card")
        assert cards.count() == 2
        derby_card = cards.filter(has=tab.locator(f"a[href='/events/{derby.slug}/']"))
        assert derby_card.locator(".session-count").inner_text() == (
            "3 场" if language == "zh-hans" else "3 sessions"
        )
        # the filters stay beside the results, no drawer button
        assert tab.locator("#search-filters").is_visible()
        assert tab.locator("#filter-toggle").is_hidden()
        tab.screenshot(path=artifacts_dir / f"search-{language}-1366.png", full_page=True)
    finally:
        context.close()
    assert violations == []

    # when the same search is opened on a phone
    context, tab, violations = open_tab(browser, language, 390)
    try:
        tab.goto(f"{live_server.url}/search/?kind=match&city=beijing")
        # then the filters wait behind a button that counts the two in use
        toggle = tab.locator("#filter-toggle")
        assert texts(toggle) == [f"{words['filters']} 2"]
        assert tab.locator("#search-filters").is_hidden()
        assert tab.locator(".event-group-card").count() == 2
        tab.screenshot(path=artifacts_dir / f"search-{language}-390.png", full_page=True)
        # when the fan opens them, the drawer covers the screen with the form
        toggle.click()
        drawer = tab.locator("#search-filters")
        assert drawer.is_visible() and toggle.get_attribute("aria-expanded") == "true"
        box = drawer.bounding_box()
        assert (box["x"], box["width"]) == (0, 390)
        assert tab.evaluate("document.activeElement.id") == "f-q"
        tab.screenshot(path=artifacts_dir / f"search-{language}-390-drawer.png")
        # and a changed filter searches again from inside the drawer
        tab.select_option("#f-kind", "concert")
        tab.locator("#search-filters button[type=submit]").click()
        tab.wait_for_url("**kind=concert**")
        assert tab.locator("#search-filters").is_hidden()
        # and Escape, like Close, puts it away again
        tab.locator("#filter-toggle").click()
        tab.keyboard.press("Escape")
        assert tab.locator("#search-filters").is_hidden()
        assert tab.evaluate("document.activeElement.id") == "filter-toggle"
        assert tab.evaluate("document.scrollingElement.scrollWidth") <= 390
    finally:
        context.close()
    assert violations == []


def showcase_event(showcase, slug):
    from tessera.catalog.models import Event

    return Event.objects.get(slug=slug)


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 1366), ("en", 390)])
def test_the_home_page_picks_a_city(live_server, browser, showcase, artifacts_dir, language, width):
    context, tab, violations = open_tab(browser, language, width)
    try:
        # given the home page
        tab.goto(f"{live_server.url}/")
        picker = tab.locator("#hero-city")
        options = texts(picker.locator("option"))
        assert options[0] == ("全部城市" if language == "zh-hans" else "All cities")
        assert set(options[1:]) == (
            {"上海", "北京"} if language == "zh-hans" else {"Shanghai", "Beijing"}
        )
        tab.screenshot(path=artifacts_dir / f"home-city-{language}-{width}.png")
        # when the fan picks Beijing and searches
        picker.select_option("beijing")
        tab.locator(".hero-search button[type=submit]").click()
        tab.wait_for_url("**/search/?*city=beijing*")
        # then only Beijing's events are listed, with the city chosen in the filters
        assert tab.locator("#f-city").input_value() == "beijing"
        places = texts(tab.locator(".event-group-card .card-place"))
        assert places and all(
            p.startswith("北京" if language == "zh-hans" else "Beijing") for p in places
        )
    finally:
        context.close()
    assert violations == []
