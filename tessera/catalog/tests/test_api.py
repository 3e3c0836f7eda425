"""The public catalog API: one thin test per endpoint with exact content, then filters,
the calendar's local days and the error shape."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tessera.catalog.models import EventStatus
from tessera.catalog.tests.factories import make_session, make_team, make_zone
from tessera.catalog.tests.helpers import local

pytestmark = pytest.mark.django_db

SHANGHAI_CITY = {
    "slug": "shanghai",
    "name": "上海",
    "name_en": "Shanghai",
    "display_name": "Shanghai",
    "time_zone": "Asia/Shanghai",
}
STADIUM = {
    "slug": "shanghai-stadium",
    "name": "上海体育场",
    "name_en": "Shanghai Stadium",
    "display_name": "Shanghai Stadium",
    "address": "天钥桥路666号",
    "address_en": "666 Tianyaoqiao Road",
    "time_zone": "Asia/Shanghai",
    "city": SHANGHAI_CITY,
}
WORKERS = {
    "slug": "workers-stadium",
    "name": "工人体育场",
    "name_en": "Workers Stadium",
    "display_name": "Workers Stadium",
    "address": "",
    "address_en": "",
    "time_zone": "Asia/Shanghai",
    "city": {
        "slug": "beijing",
        "name": "北京",
        "name_en": "Beijing",
        "display_name": "Beijing",
        "time_zone": "Asia/Shanghai",
    },
}
CONCERT_REF = {
    "slug": "jay-chou-carnival",
    "kind": "concert",
    "name": "周杰伦嘉年华演唱会",
    "name_en": "Jay Chou Carnival",
    "display_name": "Jay Chou Carnival",
}
MATCH_REF = {
    "slug": "shenhua-guoan",
    "kind": "match",
    "name": "上海申花 vs 北京国安",
    "name_en": "Shenhua vs Guoan",
    "display_name": "Shenhua vs Guoan",
}
JAY = {
    "slug": "jay-chou",
    "name": "周杰伦",
    "name_en": "Jay Chou",
    "display_name": "Jay Chou",
    "genre": "Mandopop",
}
POP = {"slug": "pop", "name": "流行", "name_en": "Pop", "display_name": "Pop"}


def get(client, url, lang="en"):
    return client.get(url, HTTP_ACCEPT_LANGUAGE=lang)


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


def slugs(response) -> list[str]:
    return [item["slug"] for item in response.json()["items"]]


def concert_sh_summary(scene) -> dict:
    return {
        "id": scene.concert_sh.pk,
        "status": "scheduled",
        "starts_at": "2025-07-05T19:30:00+08:00",
        "ends_at": "2025-07-05T22:00:00+08:00",
        "doors_open_at": "2025-07-05T18:00:00+08:00",
        "on_sale_from": "2025-05-20T12:00:00+08:00",
        "on_sale_until": "2025-07-05T19:00:00+08:00",
        "venue": STADIUM,
        "layout_id": scene.stadium_layout.pk,
        "price_from": "380.00",
        "price_to": "1280.00",
        "currency": "CNY",
    }


# -- events --------------------------------------------------------------------------------


def test_list_events_shows_published_events_with_upcoming_sessions(client, scene):
    # given the scene (a draft event, a past and a cancelled date among the rest)
    # when
    response = get(client, "/api/v1/events")
    # then
    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "items": [
            {
                **CONCERT_REF,
                "image_url": "",
                "is_featured": False,
                "tags": [POP],
                "first_starts_at": "2025-07-05T19:30:00+08:00",
                "price_from": "380.00",
                "price_to": "1280.00",
                "currency": "CNY",
            },
            {
                **MATCH_REF,
                "image_url": "",
                "is_featured": False,
                "tags": [],
                "first_starts_at": "2025-07-05T23:30:00+08:00",
                "price_from": "120.00",
                "price_to": "180.00",
                "currency": "CNY",
            },
        ],
    }


def test_list_events_pages(client, scene):
    first = get(client, "/api/v1/events?page_size=1")
    second = get(client, "/api/v1/events?page_size=1&page=2")
    assert (slugs(first), first.json()["count"]) == (["jay-chou-carnival"], 2)
    assert slugs(second) == ["shenhua-guoan"]


def test_event_detail_has_sessions_venue_tags_and_artists(client, scene):
    response = get(client, "/api/v1/events/jay-chou-carnival")

    assert response.status_code == 200
    body = response.json()
    sessions = body.pop("sessions")
    assert body == {
        **CONCERT_REF,
        "description": "夏夜之约",
        "description_en": "A summer night",
        "display_description": "A summer night",
        "image_url": "",
        "is_featured": False,
        "tags": [POP],
        "organizer": {
            "slug": "starlight",
            "name": "星光演艺",
            "name_en": "Starlight Live",
            "display_name": "Starlight Live",
        },
        "season": None,
        "round": "",
        "home_team": None,
        "away_team": None,
        "tour": {
            "slug": "carnival",
            "name": "嘉年华世界巡回演唱会",
            "name_en": "Carnival World Tour",
            "display_name": "Carnival World Tour",
            "artist": JAY,
        },
        "artists": [JAY],
    }
    # every date that is not cancelled, past ones included, in order
    assert [s["id"] for s in sessions] == [scene.past.pk, scene.concert_sh.pk, scene.concert_bj.pk]
    assert sessions[1] == concert_sh_summary(scene)
    assert sessions[2]["venue"] == WORKERS
    assert (sessions[0]["price_from"], sessions[0]["currency"]) == (None, "CNY")


def test_fixture_detail_has_season_and_teams(client, scene):
    body = get(client, "/api/v1/events/shenhua-guoan").json()

    assert body["season"] == {
        "name": "2025赛季",
        "name_en": "2025 season",
        "display_name": "2025 season",
        "starts_on": "2025-03-01",
        "ends_on": "2025-11-30",
        "competition": {
            "slug": "csl",
            "kind": "league",
            "sport": "football",
            "name": "中超联赛",
            "name_en": "Chinese Super League",
            "display_name": "Chinese Super League",
        },
    }
    assert body["round"] == "第18轮"
    assert body["home_team"] == {
        "slug": "shenhua",
        "name": "上海申花",
        "name_en": "Shanghai Shenhua",
        "display_name": "Shanghai Shenhua",
        "short_name": "申花",
        "color": "#0047ab",
        "city": "shanghai",
    }
    assert body["away_team"]["slug"] == "guoan"


def test_event_detail_speaks_chinese_by_default(client, scene):
    body = client.get("/api/v1/events/jay-chou-carnival").json()
    assert (body["display_name"], body["display_description"]) == ("周杰伦嘉年华演唱会", "夏夜之约")


@pytest.mark.parametrize("slug", ["secret-draft", "no-such-event"])
def test_unpublished_or_unknown_event_is_not_found(client, scene, slug):
    response = get(client, f"/api/v1/events/{slug}")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "details": {}}
    }


def test_cancelled_event_is_not_found(client, scene):
    scene.concert.status = EventStatus.CANCELLED
    scene.concert.save()
    assert get(client, "/api/v1/events/jay-chou-carnival").status_code == 404
    assert slugs(get(client, "/api/v1/events")) == ["shenhua-guoan"]


# -- sessions ------------------------------------------------------------------------------


def test_list_sessions_upcoming_public_only_soonest_first(client, scene):
    response = get(client, "/api/v1/sessions")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert ids(response) == [
        scene.concert_sh.pk,
        scene.late.pk,
        scene.after_midnight.pk,
        scene.concert_bj.pk,
    ]
    assert body["items"][0] == {**concert_sh_summary(scene), "event": CONCERT_REF}
    assert body["items"][1]["event"] == MATCH_REF


def test_session_detail_has_rules_window_venue_layout_and_zones(client, scene):
    response = get(client, f"/api/v1/sessions/{scene.concert_sh.pk}")

    assert response.status_code == 200
    assert response.json() == {
        **concert_sh_summary(scene),
        "event": CONCERT_REF,
        "rules": {"max_tickets_per_order": 4, "max_tickets_per_account": 6, "hold_minutes": 15},
        "is_on_sale": True,
        "price_zones": [
            {
                "id": scene.vip.pk,
                "code": "VIP",
                "name": "内场VIP",
                "name_en": "Floor VIP",
                "display_name": "Floor VIP",
                "color": "#d4af37",
                "price": "1280.00",
                "currency": "CNY",
            },
            {
                "id": scene.zone_a.pk,
                "code": "A",
                "name": "看台A",
                "name_en": "Stand A",
                "display_name": "Stand A",
                "color": "#3b82f6",
                "price": "380.00",
                "currency": "CNY",
            },
        ],
    }


def test_session_not_on_sale_before_its_window(client, scene):
    scene.concert_bj.on_sale_from = local(2025, 6, 10, 12, 0)
    scene.concert_bj.save()
    body = get(client, f"/api/v1/sessions/{scene.concert_bj.pk}").json()
    assert (body["is_on_sale"], body["on_sale_from"]) == (False, "2025-06-10T12:00:00+08:00")


def test_cancelled_and_draft_sessions_are_not_found(client, scene):
    for session in (scene.cancelled, scene.draft_session):
        for suffix in ("", "/price-zones"):
            response = get(client, f"/api/v1/sessions/{session.pk}{suffix}")
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"


def test_price_zones_with_counts_and_decimal_strings(client, scene):
    response = get(client, f"/api/v1/sessions/{scene.concert_sh.pk}/price-zones")

    assert response.status_code == 200
    assert response.json() == [
        # S1 (10 seats) and the 100-place standing area
        {
            "id": scene.vip.pk,
            "code": "VIP",
            "name": "内场VIP",
            "name_en": "Floor VIP",
            "display_name": "Floor VIP",
            "color": "#d4af37",
            "price": "1280.00",
            "currency": "CNY",
            "seats": 10,
            "standing": 100,
            "places": 110,
        },
        {
            "id": scene.zone_a.pk,
            "code": "A",
            "name": "看台A",
            "name_en": "Stand A",
            "display_name": "Stand A",
            "color": "#3b82f6",
            "price": "380.00",
            "currency": "CNY",
            "seats": 10,
            "standing": 0,
            "places": 10,
        },
    ]


# -- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=match", ["late", "after_midnight"]),
        ("kind=concert", ["concert_sh", "concert_bj"]),
        ("city=beijing", ["concert_bj"]),
        ("city=nowhere", []),
        ("team=guoan", ["late", "after_midnight"]),
        ("artist=jay-chou", ["concert_sh", "concert_bj"]),
        ("tag=pop", ["concert_sh", "concert_bj"]),
        ("q=Shenhua", ["late", "after_midnight"]),
        ("q=工人", ["concert_bj"]),
        # a session matches when one of its zones is in the range
        ("price_min=500", ["concert_sh", "concert_bj"]),
        ("price_max=150", ["after_midnight"]),
        ("price_min=380&price_max=380", ["concert_sh"]),
        ("price_min=381&price_max=579.99", []),
        # local days in the venue's zone: 00:30 on 6 July in Shanghai is still 5 July
        # in UTC and in the test zone, yet it belongs to 6 July
        ("date_from=2025-07-05&date_to=2025-07-05", ["concert_sh", "late"]),
        ("date_from=2025-07-06&date_to=2025-07-06", ["after_midnight"]),
        ("date_from=2025-07-06", ["after_midnight", "concert_bj"]),
        ("date_to=2025-07-05", ["concert_sh", "late"]),
        # a date_from may reach into the past
        ("date_from=2025-05-01&date_to=2025-05-01", ["past"]),
    ],
)
def test_session_filters(client, scene, query, expected):
    response = get(client, f"/api/v1/sessions?{query}")
    assert response.status_code == 200
    assert ids(response) == [getattr(scene, name).pk for name in expected]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=match", ["shenhua-guoan"]),
        ("city=beijing", ["jay-chou-carnival"]),
        ("team=shenhua", ["shenhua-guoan"]),
        ("artist=jay-chou", ["jay-chou-carnival"]),
        ("price_max=150", ["shenhua-guoan"]),
        ("date_from=2025-07-06&date_to=2025-07-06", ["shenhua-guoan"]),
        ("date_from=2025-07-07", ["jay-chou-carnival"]),
    ],
)
def test_event_filters(client, scene, query, expected):
    response = get(client, f"/api/v1/events?{query}")
    assert response.status_code == 200
    assert slugs(response) == expected


def test_event_list_prices_and_first_date_follow_the_matching_sessions(client, scene):
    # only the Beijing date matches: its price and date, not the Shanghai ones
    item = get(client, "/api/v1/events?city=beijing").json()["items"][0]
    assert (item["first_starts_at"], item["price_from"], item["price_to"]) == (
        "2025-07-12T19:30:00+08:00",
        "580.00",
        "580.00",
    )


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("date_from=2025-13-01", "query.date_from", "Enter a valid date, for example 2026-12-25."),
        ("date_to=tomorrow", "query.date_to", "Enter a valid date, for example 2026-12-25."),
        ("date_from=0001-01-01", "query.date_from", "Enter a valid date, for example 2026-12-25."),
        ("price_min=-1", "query.price_min", "Enter an amount of zero or more, for example 280."),
        ("price_max=cheap", "query.price_max", "Enter an amount of zero or more, for example 280."),
        (
            "price_max=1e999999",
            "query.price_max",
            "Enter an amount of zero or more, for example 280.",
        ),
        ("kind=opera", "query.kind", "Choose one of: match, concert, show, other."),
        (
            "date_from=2025-07-06&date_to=2025-07-05",
            "query.date_to",
            "The end date is before the start date.",
        ),
        (
            "price_min=500&price_max=100",
            "query.price_max",
            "The maximum price is below the minimum price.",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/sessions"])
def test_invalid_filters_are_refused_not_ignored(client, scene, path, query, field, message):
    response = get(client, f"{path}?{query}")

    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "invalid_input",
            "message": "The input is not valid.",
            "details": {"errors": [{"field": field, "message": message}]},
        }
    }


def test_every_invalid_filter_is_named(client, scene):
    response = get(client, "/api/v1/sessions?kind=opera&price_min=x&date_from=y")
    fields = [e["field"] for e in response.json()["error"]["details"]["errors"]]
    assert fields == ["query.date_from", "query.kind", "query.price_min"]


@pytest.mark.parametrize(
    "query", ["page=0", "page=abc", "page=100001", "page_size=0", "page_size=101"]
)
def test_bad_page_parameters_are_422(client, scene, query):
    response = get(client, f"/api/v1/sessions?{query}")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_page_beyond_the_end_is_empty(client, scene):
    assert get(client, "/api/v1/sessions?page=100000").json() == {"items": [], "count": 4}


def test_nul_bytes_in_a_path_or_filter_are_invalid_input(client, scene):
    # refused before the endpoint (core.inputguard): a NUL never reaches the database
    for url in [
        "/api/v1/events/bad%00slug",
        "/api/v1/sessions?q=Shen%00hua&city=bei%00jing",
        "/api/v1/sessions?q=%00Shenhua",
    ]:
        response = get(client, url)
        assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_input")
        assert response.json()["error"]["details"]["errors"][0]["field"] == "request"


# -- calendar ------------------------------------------------------------------------------


def calendar_entry(session, starts_at, event, venue="Shanghai Stadium"):
    return {
        "id": session.pk,
        "starts_at": f"{starts_at}:00+08:00",
        "local_time": starts_at[-5:],
        "event": event,
        "venue": venue,
    }


def test_calendar_groups_sessions_by_the_venue_local_day(client, scene):
    response = get(client, "/api/v1/calendar?year=2025&month=7")

    assert response.status_code == 200
    assert response.json() == {
        "year": 2025,
        "month": 7,
        "days": [
            {
                "date": "2025-07-05",
                "sessions": [
                    calendar_entry(scene.concert_sh, "2025-07-05T19:30", CONCERT_REF),
                    calendar_entry(scene.late, "2025-07-05T23:30", MATCH_REF),
                ],
            },
            # 16:30 UTC on 5 July, but 00:30 on 6 July in Shanghai
            {
                "date": "2025-07-06",
                "sessions": [
                    calendar_entry(scene.after_midnight, "2025-07-06T00:30", MATCH_REF),
                ],
            },
            {
                "date": "2025-07-12",
                "sessions": [
                    calendar_entry(
                        scene.concert_bj, "2025-07-12T19:30", CONCERT_REF, "Workers Stadium"
                    ),
                ],
            },
        ],
    }


def test_calendar_month_boundary_follows_the_local_day(client, scene):
    # given a show at 00:30 on 1 August in Shanghai (31 July in UTC)
    early = make_session(
        event=scene.concert, layout=scene.stadium_layout, starts_at=local(2025, 8, 1, 0, 30)
    )
    # when / then
    july = get(client, "/api/v1/calendar?year=2025&month=7").json()
    august = get(client, "/api/v1/calendar?year=2025&month=8").json()
    assert [d["date"] for d in july["days"]] == ["2025-07-05", "2025-07-06", "2025-07-12"]
    assert august["days"] == [
        {"date": "2025-08-01", "sessions": [calendar_entry(early, "2025-08-01T00:30", CONCERT_REF)]}
    ]


def test_calendar_filters_and_defaults_to_the_current_month(client, scene):
    filtered = get(client, "/api/v1/calendar?year=2025&month=7&kind=match").json()
    assert [d["date"] for d in filtered["days"]] == ["2025-07-05", "2025-07-06"]
    # NOW is 1 June 2025 (the test zone's day too); June has the past... nothing public
    current = get(client, "/api/v1/calendar").json()
    assert current == {"year": 2025, "month": 6, "days": []}
    may = get(client, "/api/v1/calendar?year=2025&month=5").json()
    assert [(d["date"], [s["id"] for s in d["sessions"]]) for d in may["days"]] == [
        ("2025-05-01", [scene.past.pk])
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("year=abc", "query.year"),
        ("month=13", "query.month"),
        ("year=1899", "query.year"),
        ("month=0", "query.month"),
    ],
)
def test_calendar_bad_year_or_month_is_422_with_the_field(client, scene, query, field):
    response = get(client, f"/api/v1/calendar?{query}")
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("invalid_input", "The input is not valid.")
    assert [e["field"] for e in error["details"]["errors"]] == [field]


# -- directories ---------------------------------------------------------------------------


def test_competitions(client, scene):
    assert get(client, "/api/v1/competitions").json() == {
        "count": 1,
        "items": [
            {
                "slug": "csl",
                "kind": "league",
                "sport": "football",
                "name": "中超联赛",
                "name_en": "Chinese Super League",
                "display_name": "Chinese Super League",
            }
        ],
    }


def test_teams_filtered_by_competition_and_name(client, scene):
    make_team(name="广州队", name_en="Guangzhou", slug="guangzhou")
    assert slugs(get(client, "/api/v1/teams")) == ["shenhua", "guoan", "guangzhou"]
    assert slugs(get(client, "/api/v1/teams?competition=csl")) == ["shenhua", "guoan"]
    assert slugs(get(client, "/api/v1/teams?q=guoan")) == ["guoan"]
    assert get(client, "/api/v1/teams?q=申花").json() == {
        "count": 1,
        "items": [
            {
                "slug": "shenhua",
                "name": "上海申花",
                "name_en": "Shanghai Shenhua",
                "display_name": "Shanghai Shenhua",
                "short_name": "申花",
                "color": "#0047ab",
                "city": "shanghai",
            }
        ],
    }


def test_artists(client, scene):
    assert get(client, "/api/v1/artists").json() == {"count": 1, "items": [JAY]}


def test_tours_filtered_by_artist(client, scene):
    expected = {
        "slug": "carnival",
        "name": "嘉年华世界巡回演唱会",
        "name_en": "Carnival World Tour",
        "display_name": "Carnival World Tour",
        "artist": JAY,
    }
    assert get(client, "/api/v1/tours?artist=jay-chou").json() == {"count": 1, "items": [expected]}
    assert get(client, "/api/v1/tours?artist=someone-else").json() == {"count": 0, "items": []}


# -- query counts --------------------------------------------------------------------------


def _add_sessions(scene, count: int) -> None:
    for day in range(count):
        session = make_session(
            event=scene.concert,
            layout=scene.workers_layout,
            starts_at=local(2025, 8, 1 + day, 20, 0),
        )
        make_zone(session=session, code="A", price="280.00")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/sessions",
        "/api/v1/events",
        "/api/v1/calendar?year=2025&month=8",
        "/api/v1/events/jay-chou-carnival",
    ],
)
def test_queries_do_not_grow_with_the_number_of_sessions(
    client, scene, url, django_assert_num_queries
):
    # given a baseline count, when eight more dates exist, then the same number of queries
    with CaptureQueriesContext(connection) as baseline:
        get(client, url)
    _add_sessions(scene, 8)
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = get(client, url)
    assert response.status_code == 200
