"""The discovery pages through Django's test client, content asserted exactly."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.catalog.models import EventStatus, SessionStatus
from tessera.catalog.selectors import month_calendar
from tessera.catalog.tests.factories import make_event, make_session, make_zone
from tessera.storefront.tests.conftest import (
    SHANGHAI,
    make_stadium_layout,
    price_stadium,
    shanghai,
)
from tessera.storefront.tests.html import elements, texts
from tessera.venues.tests.factories import make_layout, make_venue

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def card_titles(html: str) -> list[str]:
    return texts(html, css_class="card-title")


# --- home -------------------------------------------------------------------------------


def test_home_shows_featured_events_with_next_local_date_and_lowest_price(client, world):
    # given the world's featured concert (and a featured draft that must stay hidden)
    # when a fan opens the home page in English
    response = client.get("/", **EN)

    # then the featured card shows the concert, its next date in Shanghai time and its price
    html = response.content.decode()
    featured = elements(html, css_class="event-card")
    assert [e["text"] for e in featured] == [
        "Concert Jay Chou Carnival Tour Tue, Dec 25 · 19:30 "
        "Shanghai · Mercedes-Benz Arena from ¥280"
    ]
    assert "Secret Show" not in html


def test_home_lists_upcoming_sessions_soonest_first(client, world):
    response = client.get("/", **EN)

    html = response.content.decode()
    assert texts(html, css_class="upcoming-name") == [
        "Jay Chou Carnival Tour",
        "Beijing Guoan vs Shanghai Shenhua",
    ]
    assert texts(html, css_class="date-chip") == ["Dec 25 Tue 19:30", "Dec 26 Wed 00:30"]
    assert texts(html, css_class="upcoming-price") == ["from ¥280", "from ¥180"]


def test_home_calendar_counts_sessions_of_the_current_month_and_links_to_the_day(client, world):
    # given two sessions on the first day of the current month (Shanghai time)
    today = timezone.now().astimezone(SHANGHAI).date()
    first = shanghai(today.year, today.month, 1, 0, 30)
    layout = world.concert_session.layout
    make_session(event=world.concert, layout=layout, starts_at=first)
    make_session(event=world.concert, layout=layout, starts_at=first + timedelta(hours=20))

    # when the home page is shown
    html = client.get("/", **EN).content.decode()

    # then the mini calendar links the first day, with its count, to that day's search
    day = f"{today:%Y-%m-01}"
    links = elements(html, tag="a", data_day=day)
    assert [
        (link["attrs"]["data-count"], link["attrs"]["href"], link["text"]) for link in links
    ] == [("2", f"/search/?date_from={day}&date_to={day}", "1 2 sessions")]
    assert len(elements(html, tag="a", css_class=None, data_count="2")) == 1


def test_home_without_any_public_session_says_so(client, db):
    html = client.get("/", **EN).content.decode()

    assert texts(html, css_class="empty") == [
        "No featured events right now. Have a look at the calendar.",
        "Nothing is on sale yet. Check back soon.",
    ]


# --- calendar ---------------------------------------------------------------------------


def _day_cell(html: str, day: str) -> str:
    cells = elements(html, css_class="month-day", data_day=day)
    assert len(cells) == 1
    return cells[0]["text"]


def test_calendar_groups_sessions_by_local_day_in_shanghai(client, world):
    # given the match at 00:30 on the 26th in Beijing, i.e. still the 25th in UTC and in
    # the server's zone (America/Sao_Paulo in the tests)
    assert world.match_session.starts_at.astimezone(timezone.get_current_timezone()).day == 25

    # when December 2040 is shown
    html = client.get("/calendar/?year=2040&month=12", **EN).content.decode()

    # then the match is on the 26th and the concert on the 25th, with their local times
    assert _day_cell(html, "2040-12-25") == (
        "25 Tuesday, December 25, 2040 19:30 Jay Chou Carnival Tour"
    )
    assert _day_cell(html, "2040-12-26") == (
        "26 Wednesday, December 26, 2040 00:30 Beijing Guoan vs Shanghai Shenhua"
    )
    assert texts(html, css_class="month-title") == ["December 2040 2 sessions"]
    prev_link = elements(html, tag="a", rel="prev")[0]
    next_link = elements(html, tag="a", rel="next")[0]
    assert (prev_link["attrs"]["href"], prev_link["text"]) == (
        "?year=2040&month=11",
        "November 2040",
    )
    assert (next_link["attrs"]["href"], next_link["text"]) == ("?year=2041&month=1", "January 2041")


def test_calendar_puts_a_session_abroad_on_its_venues_local_day(client, world):
    # given a concert at 23:30 on 24 December in London (07:30 on the 25th in Shanghai)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    london = make_venue(
        name="温布利", name_en="Wembley Arena", slug="wembley", time_zone="Europe/London"
    )
    layout = make_layout(venue=london, sections=1, rows=1, seats_per_row=1)
    make_session(
        event=world.concert,
        layout=layout,
        starts_at=datetime(2040, 12, 24, 23, 30, tzinfo=ZoneInfo("Europe/London")),
    )

    # when December 2040 is shown
    html = client.get("/calendar/?year=2040&month=12", **EN).content.decode()

    # then it is on the 24th at 23:30, the time and day printed on the ticket
    assert _day_cell(html, "2040-12-24") == (
        "24 Monday, December 24, 2040 23:30 Jay Chou Carnival Tour"
    )
    assert texts(html, css_class="day-session-name") == [
        "Jay Chou Carnival Tour",
        "Jay Chou Carnival Tour",
        "Beijing Guoan vs Shanghai Shenhua",
    ]


def test_calendar_filters_by_kind_and_city_and_keeps_them_in_month_links(client, world):
    html = client.get("/calendar/?year=2040&month=12&kind=match&city=beijing", **EN)
    html = html.content.decode()

    assert texts(html, css_class="day-session-name") == ["Beijing Guoan vs Shanghai Shenhua"]
    assert elements(html, tag="a", rel="next")[0]["attrs"]["href"] == (
        "?year=2041&month=1&kind=match&city=beijing"
    )

    html = client.get("/calendar/?year=2040&month=12&city=shanghai", **EN).content.decode()
    assert texts(html, css_class="day-session-name") == ["Jay Chou Carnival Tour"]


@pytest.mark.parametrize(
    "query",
    [
        "year=2040&month=13",
        "year=abc&month=2",
        "year=99999&month=1",
        "month=0",
        "year=-5",
    ],
)
def test_calendar_with_a_bad_month_shows_the_current_month_and_a_message(client, world, query):
    today = timezone.now().astimezone(SHANGHAI).date()

    response = client.get(f"/calendar/?{query}", **EN)

    assert response.status_code == 200
    html = response.content.decode()
    assert texts(html, css_class="notice") == [
        "That month could not be shown. Here is the current month instead."
    ]
    expected = month_calendar(year=today.year, month=today.month, now=timezone.now(), zone=SHANGHAI)
    assert texts(html, css_class="month-title")[0].startswith(expected[1][0].day.strftime("%B %Y"))


def test_calendar_with_an_unknown_city_says_so_and_shows_every_city(client, world):
    html = client.get("/calendar/?year=2040&month=12&city=atlantis", **EN).content.decode()

    assert texts(html, css_class="field-error") == ["Choose one of the listed cities."]
    assert texts(html, css_class="day-session-name") == [
        "Jay Chou Carnival Tour",
        "Beijing Guoan vs Shanghai Shenhua",
    ]


# --- search -----------------------------------------------------------------------------


def test_search_without_filters_lists_every_event_with_an_upcoming_public_session(client, world):
    html = client.get("/search/", **EN).content.decode()

    assert card_titles(html) == ["Jay Chou Carnival Tour", "Beijing Guoan vs Shanghai Shenhua"]
    assert texts(html, css_class="event-group-card")[0] == (
        "Concert 1 session Jay Chou Carnival Tour Tue, Dec 25 · 19:30 "
        "Shanghai · Mercedes-Benz Arena from ¥280"
    )
    assert texts(html, id="results-title") == ["2 events found"]


def test_search_groups_the_sessions_of_an_event_with_the_next_date_and_lowest_price(client, world):
    # given two more concert nights, one in Beijing and one cheaper in Shanghai
    make_session(
        event=world.concert, layout=world.match_session.layout, starts_at=shanghai(2040, 12, 31)
    )
    cheaper = make_session(
        event=world.concert,
        layout=world.concert_session.layout,
        starts_at=shanghai(2040, 12, 28, 20, 0),
    )
    make_zone(session=cheaper, code="L", name="看台", name_en="Stands", price="99.00")

    # when a fan searches concerts in English and in Chinese
    english = client.get("/search/?kind=concert", **EN).content.decode()
    chinese = client.get("/search/?kind=concert", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    # then the three nights make one card: their count, the soonest and the lowest price
    assert texts(english, css_class="event-group-card") == [
        "Concert 3 sessions Jay Chou Carnival Tour Next: Tue, Dec 25 · 19:30 "
        "Shanghai · Mercedes-Benz Arena and 1 more venue from ¥99"
    ]
    assert texts(english, id="results-title") == ["1 event found"]
    assert texts(chinese, css_class="event-group-card") == [
        "演唱会 3 场 周杰伦嘉年华演唱会 最近： 12月25日 星期二 · 19:30 "
        "上海 · 梅赛德斯奔驰文化中心 及另外 1 个场馆 ¥99起"
    ]
    assert texts(chinese, id="results-title") == ["找到 1 个活动"]
    # and a filter that leaves one night keeps only that night's date and price
    filtered = client.get("/search/?kind=concert&price_max=150", **EN).content.decode()
    assert texts(filtered, css_class="event-group-card") == [
        "Concert 1 session Jay Chou Carnival Tour Fri, Dec 28 · 20:00 "
        "Shanghai · Mercedes-Benz Arena from ¥99"
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=Jay", ["Jay Chou Carnival Tour"]),
        ("q=申花", ["Beijing Guoan vs Shanghai Shenhua"]),
        ("kind=match", ["Beijing Guoan vs Shanghai Shenhua"]),
        ("city=shanghai", ["Jay Chou Carnival Tour"]),
        ("team=shenhua", ["Beijing Guoan vs Shanghai Shenhua"]),
        ("artist=jay-chou", ["Jay Chou Carnival Tour"]),
        ("date_from=2040-12-26&date_to=2040-12-26", ["Beijing Guoan vs Shanghai Shenhua"]),
        ("date_from=2040-12-25&date_to=2040-12-25", ["Jay Chou Carnival Tour"]),
        ("price_min=1000", ["Jay Chou Carnival Tour"]),
        ("price_max=200", ["Beijing Guoan vs Shanghai Shenhua"]),
        ("price_min=200&price_max=300", ["Jay Chou Carnival Tour"]),
        ("kind=concert&city=beijing", []),
        ("q=Guoan&city=beijing&price_max=180", ["Beijing Guoan vs Shanghai Shenhua"]),
    ],
)
def test_search_filters_combine(client, world, query, expected):
    html = client.get(f"/search/?{query}", **EN).content.decode()

    assert card_titles(html) == expected
    assert texts(html, css_class="field-error") == []


def test_search_with_a_bad_date_shows_the_error_and_applies_the_other_filters(client, world):
    response = client.get("/search/?date_from=2040-13-45&kind=match", **EN)

    html = response.content.decode()
    assert response.status_code == 200
    assert texts(html, css_class="field-error") == ["Enter a valid date, for example 2026-12-25."]
    assert elements(html, tag="input", id="f-date-from")[0]["attrs"]["aria-invalid"] == "true"
    assert card_titles(html) == ["Beijing Guoan vs Shanghai Shenhua"]
    assert texts(html, css_class="notice") == [
        "Some filters could not be used and were left out; the others still apply."
    ]


def test_search_with_a_bad_price_shows_the_error_and_applies_the_other_filters(client, world):
    response = client.get("/search/?price_max=cheap&city=shanghai", **EN)

    html = response.content.decode()
    assert texts(html, css_class="field-error") == [
        "Enter an amount of zero or more, for example 280."
    ]
    price_input = elements(html, tag="input", id="f-price-max")[0]["attrs"]
    assert (price_input["value"], price_input["aria-describedby"]) == ("cheap", "f-price-max-error")
    assert card_titles(html) == ["Jay Chou Carnival Tour"]


def test_search_errors_are_in_the_users_language(client, world):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get("/search/?price_min=-3").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    chinese = client.get("/search/?price_min=-3").content.decode()

    assert texts(english, css_class="field-error") == [
        "Enter an amount of zero or more, for example 280."
    ]
    assert '<html lang="zh-Hans">' in chinese
    assert len(texts(chinese, css_class="field-error")) == 1


@pytest.mark.parametrize(
    ("query", "field_id", "message", "expected"),
    [
        (
            "kind=opera&city=beijing",
            "f-kind",
            "Choose one of the listed kinds.",
            ["Beijing Guoan vs Shanghai Shenhua"],
        ),
        (
            "city=atlantis&kind=concert",
            "f-city",
            "Choose one of the listed cities.",
            ["Jay Chou Carnival Tour"],
        ),
        (
            "team=nobody",
            "f-team",
            "Choose one of the listed teams.",
            ["Jay Chou Carnival Tour", "Beijing Guoan vs Shanghai Shenhua"],
        ),
        (
            "artist=nobody&kind=match",
            "f-artist",
            "Choose one of the listed artists.",
            ["Beijing Guoan vs Shanghai Shenhua"],
        ),
        (
            "date_from=2040-12-26&date_to=2040-12-01",
            "f-date-to",
            "The end date is before the start date.",
            ["Beijing Guoan vs Shanghai Shenhua"],
        ),
        (
            "price_min=500&price_max=100",
            "f-price-max",
            "The maximum price is below the minimum price.",
            ["Jay Chou Carnival Tour"],
        ),
    ],
)
def test_search_unusable_values_are_explained_next_to_their_field(
    client, world, query, field_id, message, expected
):
    html = client.get(f"/search/?{query}", **EN).content.decode()

    assert texts(html, css_class="field-error", id=f"{field_id}-error") == [message]
    assert card_titles(html) == expected


def test_search_with_no_match_shows_the_empty_state(client, world):
    html = client.get("/search/?q=nothing-like-this", **EN).content.decode()

    assert card_titles(html) == []
    assert texts(html, css_class="empty-title") == ["No sessions match these filters."]
    assert texts(html, id="results-title") == ["0 events found"]


def test_search_paginates_twelve_per_page_and_keeps_the_filters(client, world):
    # given 13 more concerts in Shanghai, one each January day
    for day in range(1, 14):
        event = make_event(
            organization=world.concert.organization,
            kind=world.concert.kind,
            name=f"一月之夜 {day}",
            name_en=f"January Night {day}",
            slug=f"january-night-{day}",
        )
        make_session(
            event=event,
            layout=world.concert_session.layout,
            starts_at=shanghai(2041, 1, day, 20, 0),
        )

    first = client.get("/search/?kind=concert", **EN).content.decode()
    second = client.get("/search/?kind=concert&page=2", **EN).content.decode()
    beyond = client.get("/search/?kind=concert&page=99", **EN).content.decode()

    assert len(card_titles(first)) == 12
    assert texts(first, css_class="pagination-status") == ["Page 1 of 2"]
    assert elements(first, tag="a", rel="next")[0]["attrs"]["href"] == "?kind=concert&page=2"
    assert card_titles(second) == ["January Night 12", "January Night 13"]
    assert texts(second, css_class="event-group-card")[-1].startswith(
        "Concert 1 session January Night 13 Sun, Jan 13 · 20:00"
    )
    assert texts(beyond, css_class="pagination-status") == ["Page 2 of 2"]


def test_search_hides_past_cancelled_and_draft_sessions(client, world):
    make_session(
        event=world.concert,
        layout=world.concert_session.layout,
        starts_at=timezone.now() - timedelta(days=1),
    )
    make_session(
        event=world.concert,
        layout=world.concert_session.layout,
        starts_at=shanghai(2040, 12, 27, 20, 0),
        status=SessionStatus.CANCELLED,
    )

    html = client.get("/search/?kind=concert", **EN).content.decode()

    assert texts(html, id="results-title") == ["1 event found"]


# --- event page ---------------------------------------------------------------------------


def test_event_page_shows_details_sessions_and_zones(client, world):
    response = client.get("/events/jay-carnival/", **EN)

    html = response.content.decode()
    assert texts(html, css_class="event-title") == ["Jay Chou Carnival Tour"]
    assert texts(html, css_class="fact") == [
        "Artists Jay Chou",
        "Organizer Starlight Entertainment",
        "Date Tuesday, December 25, 2040 19:30",
        "Venue Mercedes-Benz Arena, Shanghai",
        "Prices ¥280 – ¥1,280",
    ]
    assert texts(html, css_class="tag") == ["#Pop"]
    assert "<p>Two hours of classics.</p>" in html
    rows = elements(html, tag="tr", css_class=None)
    assert [r["text"] for r in rows[1:]] == [
        "Tuesday, December 25, 2040 19:30 Asia/Shanghai · UTC+08:00 Mercedes-Benz Arena, "
        "Shanghai On sale from ¥280"
    ]
    assert texts(html, css_class="zone") == ["Floor VIP ¥1,280.00", "Stand B ¥280.00"]


def test_event_page_in_chinese_shows_chinese_names(client, world):
    html = client.get("/events/jay-carnival/").content.decode()

    assert '<html lang="zh-Hans">' in html
    assert texts(html, css_class="event-title") == ["周杰伦嘉年华演唱会"]
    assert texts(html, css_class="zone") == ["内场VIP ¥1,280.00", "看台B ¥280.00"]
    assert "<p>两小时的经典曲目。</p>" in html
    assert texts(html, css_class="session-block-title") == ["2040年12月25日 星期二 · 19:30"]


def test_event_overview_draws_one_polygon_per_section_in_its_zone_colour(client, world):
    html = client.get("/events/jay-carnival/", **EN).content.decode()

    polygons = elements(html, tag="polygon", css_class="ov-section")
    assert [
        (p["attrs"]["data-section"], p["attrs"]["fill"], p["attrs"]["data-zone"]) for p in polygons
    ] == [("S1", "#c0392b", "VIP"), ("S2", "#2e86de", "B"), ("GA", "#cfd4dc", "")]
    assert [p["text"] for p in polygons] == [
        "S1 Block 1 · Floor VIP ¥1,280.00",  # the code the map shows comes first
        "S2 Block 2 · Stand B ¥280.00",
        "GA Floor standing · not on sale",
    ]
    assert texts(html, css_class="legend-item") == [
        "Floor VIP ¥1,280.00",
        "Stand B ¥280.00",
        "Not on sale",
    ]
    assert texts(html, css_class="legend-focal") == ["● marks the 舞台"]


def test_event_overview_colours_a_section_sold_by_rows_with_its_zone(client, world):
    # given a section whose rows (not the whole section) are priced in zone B
    from tessera.catalog.models import ZoneAssignment
    from tessera.venues.models import Row, Section

    session = world.match_session
    zone_b = make_zone(session=session, code="B", price="99.00", color="#7c3aed", name_en="Zone B")
    section = Section.objects.get(layout=session.layout, code="S2")
    for row in Row.objects.filter(section=section):
        ZoneAssignment.objects.create(session=session, section=section, row=row, zone=zone_b)

    html = client.get("/events/guoan-shenhua/", **EN).content.decode()

    polygons = elements(html, tag="polygon", css_class="ov-section")
    assert [(p["attrs"]["data-section"], p["attrs"]["fill"]) for p in polygons] == [
        ("S1", "#cfd4dc"),
        ("S2", "#7c3aed"),
    ]


def test_event_page_of_a_fixture_shows_both_teams(client, world):
    html = client.get("/events/guoan-shenhua/", **EN).content.decode()

    assert texts(html, css_class="teams") == ["Beijing Guoan vs Shanghai Shenhua"]
    assert texts(html, css_class="tz") == ["Asia/Shanghai · UTC+08:00"]
    assert texts(html, tag="time", css_class=None)[:1] == ["Wednesday, December 26, 2040"]


def test_event_page_sale_states(client, world):
    now = timezone.now()
    layout = world.concert_session.layout
    make_session(
        event=world.concert,
        layout=layout,
        starts_at=shanghai(2041, 1, 5, 19, 30),
        on_sale_from=shanghai(2040, 12, 1, 10, 0),
    )
    make_session(
        event=world.concert,
        layout=layout,
        starts_at=shanghai(2041, 1, 6, 19, 30),
        on_sale_until=now - timedelta(minutes=1),
    )
    make_session(
        event=world.concert,
        layout=layout,
        starts_at=shanghai(2041, 1, 7, 19, 30),
        status=SessionStatus.POSTPONED,
    )
    make_session(event=world.concert, layout=layout, starts_at=now - timedelta(days=2))

    html = client.get("/events/jay-carnival/", **EN).content.decode()

    states = texts(html, css_class="status")
    # the table and the per-session blocks each show the state: past session first
    assert states[:5] == [
        "Sales ended",
        "On sale",
        "On sale from Dec. 1, 2040 10:00",
        "Sales ended",
        "Postponed",
    ]


def test_event_page_of_a_draft_or_unknown_event_is_a_styled_404(client, world):
    for slug in ("secret-show", "no-such-event"):
        response = client.get(f"/events/{slug}/", **EN)

        assert response.status_code == 404
        html = response.content.decode()
        assert texts(html, css_class="page-title") == ["We could not find that page"]
        assert 'href="/static/css/tessera.css"' in html
        assert "Secret Show" not in html


def test_event_page_of_a_cancelled_event_is_a_404(client, world):
    world.concert.status = EventStatus.CANCELLED
    world.concert.save()

    assert client.get("/events/jay-carnival/").status_code == 404


def test_event_page_with_80_sections_takes_a_handful_of_queries(
    client, world, django_assert_num_queries
):
    # given a stadium of 80 sections, four zones, and two sessions of the same event
    layout = make_stadium_layout(venue=world.stadium, sections=80)
    event = make_event(kind="match", name="大球场", name_en="Big Stadium Night", slug="big-night")
    sessions = [
        make_session(event=event, layout=layout, starts_at=shanghai(2040, 12, d, 19, 35))
        for d in (5, 12)
    ]
    for session in sessions:
        price_stadium(session)

    # when the event page is rendered: event, tags, artists, sessions, zones, sections,
    # zone assignments (aggregated), the next date's after-sales policy, the sessions'
    # changes (after-sales: cancelled, postponed), the event's resale policies, which
    # sessions are sold out (the waiting list's link) = 11 queries whatever the number of
    # sections
    with django_assert_num_queries(11):
        response = client.get("/events/big-night/", **EN)

    # then each session's overview has 80 polygons, 79 coloured and one grey
    html = response.content.decode()
    polygons = elements(html, tag="polygon", css_class="ov-section")
    assert len(polygons) == 160
    fills = [p["attrs"]["fill"] for p in polygons[:80]]
    assert fills.count("#cfd4dc") == 1
    assert {f for f in fills if f != "#cfd4dc"} == {"#b91c1c", "#ea580c", "#2563eb", "#0d9488"}
    assert len(elements(html, tag="rect", css_class="ov-shape")) == 2
    assert len(response.content) < 200_000


# --- venue page ---------------------------------------------------------------------------


def test_venue_page_shows_address_coordinates_and_upcoming_sessions(client, world):
    html = client.get("/venues/mb-arena/", **EN).content.decode()

    assert texts(html, css_class="page-title") == ["Mercedes-Benz Arena"]
    assert texts(html, css_class="fact") == [
        "City Shanghai",
        "Address 1200 Expo Avenue, Pudong",
        "Coordinates 31.189700° N, 121.493300° E",
        "Time zone Asia/Shanghai",
    ]
    assert card_titles(html) == ["Jay Chou Carnival Tour"]


def test_venue_page_without_sessions_and_unknown_venue(client, world):
    empty = make_venue(name="空场馆", name_en="Empty Hall", slug="empty-hall")
    make_layout(venue=empty, sections=1, rows=1, seats_per_row=1)

    html = client.get("/venues/empty-hall/", **EN).content.decode()

    assert texts(html, css_class="empty") == ["Nothing is scheduled here yet."]
    assert client.get("/venues/nowhere/").status_code == 404


# --- language, layout, login --------------------------------------------------------------


def test_default_language_is_simplified_chinese(client, world):
    html = client.get("/").content.decode()

    assert '<html lang="zh-Hans">' in html
    assert texts(html, css_class="upcoming-name")[0] == "周杰伦嘉年华演唱会"


def test_accept_language_english_is_respected(client, world):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()

    assert '<html lang="en">' in html
    assert texts(html, css_class="upcoming-name")[0] == "Jay Chou Carnival Tour"


def test_language_switch_posts_to_set_language_and_returns_to_the_page(client, world):
    html = client.get("/search/?kind=concert").content.decode()
    form = elements(html, tag="form", css_class="lang-switch")[0]
    assert form["attrs"]["action"] == "/i18n/setlang/"
    assert elements(html, tag="input", name="next")[0]["attrs"]["value"] == "/search/?kind=concert"

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/search/?kind=concert"})

    assert (response.status_code, response["Location"]) == (302, "/search/?kind=concert")
    html = client.get("/search/?kind=concert").content.decode()
    assert '<html lang="en">' in html
    assert card_titles(html) == ["Jay Chou Carnival Tour"]
    assert [b["attrs"]["aria-pressed"] for b in elements(html, tag="button", name="language")] == [
        "false",
        "true",
    ]


def test_navigation_shows_sign_in_for_visitors_and_admin_for_staff(client, world):
    from tessera.accounts.tests.factories import make_user

    visitor = texts(client.get("/", **EN).content.decode(), css_class="site-nav")
    staff = make_user(username="ops", is_staff=True)
    client.force_login(staff)
    member = texts(client.get("/", **EN).content.decode(), css_class="site-nav")

    assert visitor == ["Home Calendar Search Help Sign in"]
    assert member == ["Home Calendar Search Help My account Messages Admin Sign out"]


def test_login_page_is_styled_and_explains_a_wrong_password(client, world):
    from tessera.accounts.tests.factories import make_user

    make_user(username="fan", password="right-password-1")
    page = client.get("/accounts/login/", **EN).content.decode()
    response = client.post("/accounts/login/", {"username": "fan", "password": "wrong"}, **EN)
    signed_in = client.post("/accounts/login/", {"username": "fan", "password": "right-password-1"})

    assert texts(page, css_class="page-title") == ["Sign in"]
    assert [
        e["attrs"]["autocomplete"]
        for e in elements(page, tag="input")
        if "autocomplete" in e["attrs"]
    ] == ["username", "current-password"]
    assert texts(response.content.decode(), css_class="notice-error") == [
        "Please enter a correct username and password. Note that both fields may be case-sensitive."
    ]
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/")


def test_server_error_page_renders_without_a_request_or_a_database(db):
    # Django renders 500.html with an empty context when anything may be broken.
    from django.template.loader import render_to_string

    html = render_to_string("500.html")

    assert texts(html, css_class="page-title") == ["系统开小差了 · Something went wrong"]
    assert 'href="/static/css/tessera.css"' in html
