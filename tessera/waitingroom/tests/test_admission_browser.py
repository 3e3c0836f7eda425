"""The moment of admission in a real Chromium: a room over one session sends the admitted
fan straight to the sale; a room over several sessions offers date-first choices that wrap
on a phone, in Chinese and in English."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.catalog.tests.factories import make_event
from tessera.inventory.admission import cookie_name
from tessera.inventory.tests.factories import make_sale
from tessera.waitingroom import services
from tessera.waitingroom.tests.factories import make_room

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def admitted_fan(room, now):
    """A fan who joined the open room and has been let in."""
    fan = make_user(username="fan", password=PASSWORD)
    services.join_queue(room=room, user=fan, now=now)
    services.advance_room(room=room, now=now + timedelta(seconds=2))
    assert services.get_backend().counters(room.pk).watermark >= 1
    return fan


def sign_in(page, live_server, next_path: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")


def test_an_admitted_fan_of_a_one_session_room_goes_straight_to_the_sale(live_server, page):
    # given an open room over one session and a fan it has already admitted
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=4)
    room = make_room(sale=sale, now=now, opens_in_minutes=-1, rate_per_minute=6000)
    admitted_fan(room, now)

    # when the fan opens the queue page
    sign_in(page, live_server, f"/queue/{room.pk}/")

    # then they land on the buy page at once, with the pass of the session
    page.wait_for_url(f"{live_server.url}/sessions/{sale.session.pk}/buy/")
    assert cookie_name(sale.session.pk) in {c["name"] for c in page.context.cookies()}


@pytest.mark.parametrize(
    ("locale", "width", "height", "expected"),
    [
        ("zh-CN", 390, 844, ["12月29日 周三 19:30 · 选座", "12月31日 周五 20:00 · 选座"]),
        ("zh-CN", 1366, 900, ["12月29日 周三 19:30 · 选座", "12月31日 周五 20:00 · 选座"]),
        (
            "en-US",
            390,
            844,
            ["Wed 29 Dec 19:30 · Choose seats", "Fri 31 Dec 20:00 · Choose seats"],
        ),
        (
            "en-US",
            1366,
            900,
            ["Wed 29 Dec 19:30 · Choose seats", "Fri 31 Dec 20:00 · Choose seats"],
        ),
    ],
)
def test_an_admitted_fan_of_a_two_session_room_chooses_by_date_on_any_screen(
    live_server, browser, artifacts_dir, locale, width, height, expected
):
    # given a room over two nights of one event (named in both languages) admitting the fan
    now = timezone.now()
    event = make_event()
    first = make_sale(
        sections=1,
        rows=1,
        seats_per_row=4,
        event=event,
        starts_at=datetime(2027, 12, 29, 19, 30, tzinfo=SHANGHAI),
    )
    second = make_sale(
        sections=1,
        rows=1,
        seats_per_row=4,
        event=event,
        starts_at=datetime(2027, 12, 31, 20, 0, tzinfo=SHANGHAI),
    )
    room = make_room(
        sale=first,
        now=now,
        opens_in_minutes=-1,
        rate_per_minute=6000,
        name="跨年演唱会开票排队",
        name_en="New Year concerts: on-sale queue",
        sessions=[second.session, first.session],
    )
    admitted_fan(room, now)
    context = browser.new_context(
        locale=locale,
        viewport={"width": width, "height": height},
        is_mobile=width < 500,
        has_touch=width < 500,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        # when the fan opens the queue page
        sign_in(page, live_server, f"/queue/{room.pk}/")
        page.wait_for_url(f"{live_server.url}/queue/{room.pk}/")

        # then it stays there and offers one button per night, date first, in time order
        page.wait_for_selector("#queue-admitted:not([hidden])")
        english = locale.startswith("en")
        assert page.locator("h1.page-title").inner_text() == (
            "New Year concerts: on-sale queue" if english else "跨年演唱会开票排队"
        )
        assert page.locator("#queue-admitted .queue-choice-when").all_inner_texts() == expected
        message = page.locator("#queue-message").inner_text()
        assert message == (
            "It's your turn! Choose the session you want to buy for:"
            if english
            else "轮到您了！请选择要购买的场次："
        )
        # and nothing sticks out of the screen: the buttons wrap
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for box in page.locator("#queue-admitted .queue-choice").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().right)"
        ):
            assert box <= width
        page.screenshot(path=artifacts_dir / f"queue-choice-{locale}-{width}.png", full_page=True)

        # when they choose the second night they are on its buy page with its pass
        page.locator("#queue-admitted .queue-choice").nth(1).click()
        page.wait_for_url(f"{live_server.url}/sessions/{second.session.pk}/buy/")
        assert cookie_name(second.session.pk) in {c["name"] for c in context.cookies()}
    finally:
        context.close()
