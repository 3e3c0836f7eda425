"""The main paths of the discovery pages in a real Chromium (see the root conftest.py)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 390


def shot(page, path) -> None:
    """A full-page screenshot from the top (so the sticky header sits where it belongs)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path, full_page=True)


def inner_texts(locator) -> list[str]:
    """The visible texts, each with its whitespace (line breaks of flex items) collapsed."""
    return [" ".join(text.split()) for text in locator.all_inner_texts()]


def test_home_search_event_and_language_switch(live_server, page, showcase, artifacts_dir):
    # given a fan whose browser asks for Chinese, on the home page
    page.goto(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert inner_texts(page.locator(".event-card .card-title")) == [
        "《猫》音乐剧中文版",
        "京沪德比：国安 vs 申花",
        "周杰伦嘉年华演唱会",
        "新年交响音乐会",
        "城市电竞总决赛",
    ]
    shot(page, artifacts_dir / "home-desktop.png")

    # when they search for matches in Beijing
    page.locator(".site-nav a[href='/search/']").click()
    page.select_option("#f-kind", "match")
    page.select_option("#f-city", "beijing")
    page.locator(".search-form button[type=submit]").click()
    page.wait_for_url("**/search/?*kind=match*")

    # then both Beijing matches are listed
    assert inner_texts(page.locator(".event-group-card .card-title")) == [
        "京沪德比：国安 vs 申花",
        "北京国安 vs 上海申花",
    ]
    shot(page, artifacts_dir / "search-desktop.png")

    # when they open the derby
    page.locator(".event-group-card .card-title a", has_text="京沪德比").click()
    page.wait_for_url("**/events/capital-derby/**")

    # then the price zones and the 80-section overview are shown
    assert inner_texts(page.locator(".zone")) == [
        "贵宾席 ¥1,280.00",
        "A区 ¥680.00",
        "B区 ¥380.00",
        "C区 ¥180.00",
    ]
    overview = page.locator("svg.overview-svg")
    assert overview.is_visible()
    assert overview.locator("polygon.ov-section").count() == 80
    assert overview.locator("polygon.ov-section[fill='#b91c1c']").count() > 0
    assert overview.bounding_box()["width"] > 400
    shot(page, artifacts_dir / "event-desktop.png")

    # when they switch the language to English
    page.locator(".lang-switch button[value=en]").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")

    # then the same page shows the English names
    assert page.url.endswith("/events/capital-derby/")
    assert page.locator("h1").inner_text() == "Capital Derby: Guoan vs Shenhua"
    assert inner_texts(page.locator(".zone")) == [
        "VIP ¥1,280.00",
        "Zone A ¥680.00",
        "Zone B ¥380.00",
        "Zone C ¥180.00",
    ]
    assert page.locator(".teams").inner_text().split() == [
        "Beijing",
        "Guoan",
        "VS",
        "Shanghai",
        "Shenhua",
    ]
    assert page.locator(".legend-focal").inner_text() == "● marks the Pitch"
    shot(page, artifacts_dir / "event-desktop-en.png")


def test_calendar_month_navigation(live_server, page, showcase, artifacts_dir):
    page.goto(f"{live_server.url}/calendar/?year=2040&month=12")

    cell = page.locator(".month-day[data-day='2040-12-26']")
    assert inner_texts(cell.locator(".day-session")) == ["00:30 北京国安 vs 上海申花"]
    shot(page, artifacts_dir / "calendar-desktop.png")

    page.locator("a[rel=next]").click()
    page.wait_for_url("**month=1")
    assert inner_texts(page.locator(".month-day:not(.is-outside) .day-session")) == [
        "14:00 城市电竞总决赛"
    ]


PHONE_PAGES = [
    ("home", "/"),
    ("calendar", "/calendar/?year=2040&month=12"),
    ("search", "/search/?price_max=abc"),
    ("event", "/events/capital-derby/"),
    ("event-concert", "/events/jay-carnival/"),
    ("venue", "/venues/mb-arena/"),
    ("login", "/accounts/login/"),
    ("not-found", "/events/secret-show/"),
]


def test_pages_fit_a_phone_without_horizontal_scrolling(
    live_server, phone_page, showcase, artifacts_dir
):
    widths = {}
    for name, path in PHONE_PAGES:
        phone_page.goto(f"{live_server.url}{path}")
        widths[name] = phone_page.evaluate("document.scrollingElement.scrollWidth")
        shot(phone_page, artifacts_dir / f"{name}-phone.png")

    assert widths == {name: PHONE_WIDTH for name, _ in PHONE_PAGES}
    # the calendar stacks into a list of the days that have sessions
    phone_page.goto(f"{live_server.url}/calendar/?year=2040&month=12")
    visible_days = phone_page.locator(".month-day:visible").evaluate_all(
        "cells => cells.map(c => c.dataset.day)"
    )
    assert visible_days == ["2040-12-18", "2040-12-22", "2040-12-25", "2040-12-26", "2040-12-31"]
