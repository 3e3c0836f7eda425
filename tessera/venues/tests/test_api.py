from decimal import Decimal

import pytest
from django.test import Client

from tessera.venues.services import export_plan
from tessera.venues.tests.factories import make_city, make_layout, make_venue

pytestmark = pytest.mark.django_db


def get(path: str, lang: str = "en"):
    response = Client().get(f"/api/v1{path}", HTTP_ACCEPT_LANGUAGE=lang)
    return response.status_code, response.json()


@pytest.fixture
def shanghai():
    return make_city(name="上海", name_en="Shanghai", slug="shanghai")


@pytest.fixture
def stadium(shanghai):
    return make_venue(
        city=shanghai,
        name="上海体育场",
        name_en="Shanghai Stadium",
        slug="sh-stadium",
        address="天钥桥路666号",
        address_en="666 Tianyaoqiao Rd",
        latitude=Decimal("31.183000"),
        longitude=Decimal("121.437000"),
    )


SHANGHAI = {
    "slug": "shanghai",
    "name": "上海",
    "name_en": "Shanghai",
    "display_name": "Shanghai",
    "country": "CN",
    "time_zone": "Asia/Shanghai",
}


def test_cities_in_both_languages(shanghai):
    make_city(name="北京", name_en="", slug="beijing")
    status, body = get("/cities", lang="zh-hans")
    assert status == 200
    assert body == [
        {
            "slug": "beijing",
            "name": "北京",
            "name_en": "",
            "display_name": "北京",
            "country": "CN",
            "time_zone": "Asia/Shanghai",
        },
        {**SHANGHAI, "display_name": "上海"},
    ]


def test_venues_are_paginated_and_filtered_by_city(stadium):
    make_venue(name="工人体育场", name_en="Workers' Stadium", slug="workers")
    status, body = get("/venues?city=shanghai")
    assert status == 200
    assert body == {
        "count": 1,
        "items": [
            {
                "slug": "sh-stadium",
                "name": "上海体育场",
                "name_en": "Shanghai Stadium",
                "display_name": "Shanghai Stadium",
                "city": SHANGHAI,
                "address": "天钥桥路666号",
                "address_en": "666 Tianyaoqiao Rd",
                "display_address": "666 Tianyaoqiao Rd",
                "latitude": 31.183,
                "longitude": 121.437,
                "time_zone": "Asia/Shanghai",
            }
        ],
    }
    status, body = get("/venues?page_size=1&page=2")
    assert (status, body["count"], [v["slug"] for v in body["items"]]) == (200, 2, ["workers"])


def test_venue_detail_lists_layouts_with_counts(stadium):
    layout = make_layout(venue=stadium, sections=2, rows=2, seats_per_row=3, standing_capacity=400)
    status, body = get("/venues/sh-stadium", lang="zh-hans")
    assert status == 200
    assert body["display_name"] == "上海体育场"
    assert body["display_address"] == "天钥桥路666号"
    assert body["layouts"] == [
        {
            "id": layout.pk,
            "name": "标准",
            "name_en": "Standard",
            "display_name": "标准",
            "seat_count": 12,
            "standing_capacity": 400,
        }
    ]


def test_unknown_venue_is_a_404_in_the_error_shape():
    assert get("/venues/nowhere") == (
        404,
        {
            "error": {
                "code": "venue_not_found",
                "message": "No such venue.",
                "details": {"slug": "nowhere"},
            }
        },
    )


def test_layout_with_section_summary(stadium):
    layout = make_layout(venue=stadium, sections=1, rows=1, seats_per_row=2, standing_capacity=50)
    status, body = get(f"/layouts/{layout.pk}")
    assert status == 200
    assert body == {
        "id": layout.pk,
        "venue": "sh-stadium",
        "name": "标准",
        "name_en": "Standard",
        "display_name": "Standard",
        "width": 1000,
        "height": 600,
        "focal_point": {"x": 500.0, "y": 0.0, "label": "舞台"},
        "shapes": [],
        "seat_count": 2,
        "standing_capacity": 50,
        "sections": [
            {
                "code": "S1",
                "name": "1区",
                "name_en": "Block 1",
                "display_name": "Block 1",
                "kind": "seated",
                "tier": 1,
                "seat_count": 2,
                "standing_capacity": 0,
                "places": 2,
                "outline": [[40.0, 40.0], [90.0, 40.0], [90.0, 80.0], [40.0, 80.0]],
                "label": {"x": 70.0, "y": 30.0},
            },
            {
                "code": "GA",
                "name": "内场站票",
                "name_en": "Floor standing",
                "display_name": "Floor standing",
                "kind": "standing",
                "tier": 1,
                "seat_count": 0,
                "standing_capacity": 50,
                "places": 50,
                "outline": [[300.0, 400.0], [700.0, 400.0], [700.0, 550.0], [300.0, 550.0]],
                "label": {"x": 500.0, "y": 475.0},
            },
        ],
    }


def test_section_with_rows_and_seats(stadium):
    layout = make_layout(venue=stadium, sections=1, rows=2, seats_per_row=2)
    seats = {
        (s.row.label, s.label): s.pk
        for s in layout.sections.get(code="S1").seats.select_related("row")
    }
    status, body = get(f"/layouts/{layout.pk}/sections/S1", lang="zh-hans")
    assert status == 200
    assert body["display_name"] == "1区"
    assert body["places"] == 4

    def seat(row, number, x, y):
        return {
            "id": seats[(row, number)],
            "number": number,
            "position": int(number),
            "x": x,
            "y": y,
            "category": "",
            "accessible": False,
            "restricted_view": False,
            "aisle": False,
        }

    assert body["rows"] == [
        {"label": "A", "seats": [seat("A", "1", 50.0, 60.0), seat("A", "2", 70.0, 60.0)]},
        {"label": "B", "seats": [seat("B", "1", 50.0, 80.0), seat("B", "2", 70.0, 80.0)]},
    ]


def test_unknown_layout_and_section_are_404s(stadium):
    layout = make_layout(venue=stadium, sections=1, rows=1, seats_per_row=1)
    assert get(f"/layouts/{layout.pk}/sections/Z9") == (
        404,
        {
            "error": {
                "code": "section_not_found",
                "message": "No such section in this layout.",
                "details": {"layout": layout.pk, "code": "Z9"},
            }
        },
    )
    missing = layout.pk + 1000
    for path in (
        f"/layouts/{missing}",
        f"/layouts/{missing}/sections/S1",
        f"/layouts/{missing}/plan",
    ):
        assert get(path) == (
            404,
            {
                "error": {
                    "code": "layout_not_found",
                    "message": "No such layout.",
                    "details": {"id": missing},
                }
            },
        )


def test_plan_export_in_both_formats(stadium):
    layout = make_layout(venue=stadium, sections=1, rows=1, seats_per_row=2)
    assert get(f"/layouts/{layout.pk}/plan") == (200, export_plan(layout=layout))
    assert get(f"/layouts/{layout.pk}/plan?format=pretix") == (
        200,
        export_plan(layout=layout, format="pretix"),
    )
    status, body = get(f"/layouts/{layout.pk}/plan?format=svg")
    assert (status, body["error"]["code"]) == (422, "invalid_input")
    assert body["error"]["details"]["errors"][0]["field"] == "query.format"
