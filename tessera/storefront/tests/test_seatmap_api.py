"""The seat map's endpoints (``storefront.api`` under ``/api/v1/sessions/{id}/seatmap/``):
one thin test each with exact JSON, the answers to bad input, and the queries each costs."""

import gzip
import json

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from tessera.catalog.models import EventStatus
from tessera.core.models import AuditEntry
from tessera.inventory import seatmap
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, InventoryUnit, SectionViewCount, UnitStatus
from tessera.inventory.seatmap import encode_states
from tessera.inventory.tests.factories import make_buyer, make_sale

pytestmark = pytest.mark.django_db

# PostgreSQL takes a per-account advisory lock for each hold (one statement more)
POSTGRES_LOCK = 1 if connection.vendor == "postgresql" else 0


@pytest.fixture(autouse=True)
def _fresh_caches():
    from django.core.cache import cache

    from tessera.inventory.selectors import clear_geometry_cache

    seatmap.clear_order_cache()
    clear_geometry_cache()
    cache.clear()
    yield
    seatmap.clear_order_cache()
    clear_geometry_cache()


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def sale():
    return make_sale(sections=1, rows=2, seats_per_row=4, standing_capacity=5)


@pytest.fixture
def fan(client):
    user = make_buyer(username="fan")
    client.force_login(user)
    return user


def url(sale, tail: str) -> str:
    return f"/api/v1/sessions/{sale.session.pk}/seatmap/{tail}"


def post_json(client, address: str, body) -> object:
    return client.post(address, json.dumps(body), content_type="application/json")


def units_state(sale) -> list[tuple]:
    """Every place of the sale with its status and hold: what a refused request must leave."""
    return list(
        InventoryUnit.objects.filter(session=sale.session)
        .order_by("id")
        .values_list("id", "status", "hold_id")
    )


def assert_nothing_held(sale, *, audit_before: int) -> None:
    assert Hold.objects.count() == 0
    assert {status for _, status, _ in units_state(sale)} == {UnitStatus.AVAILABLE}
    assert AuditEntry.objects.count() == audit_before


# -- availability ----------------------------------------------------------------------------


def test_availability_is_gzip_with_an_etag_and_answers_304_when_unchanged(client, sale):
    a1 = sale.seat_unit("S1", "A", 1)
    inventory.hold_units(
        session=sale.session, user=make_buyer(), unit_ids=[a1.pk], now=timezone.now()
    )
    response = client.get(url(sale, "availability"), HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-cache"
    assert response["Vary"] == "Accept-Encoding, Accept-Language"
    assert json.loads(gzip.decompress(response.content)) == {
        "session_id": sale.session.pk,
        "version": seatmap.get_version(sale.session.pk),
        "sections": {
            str(sale.sections["S1"].pk): {
                "free": 7,
                "total": 8,
                "states": encode_states([1, 0, 0, 0, 0, 0, 0, 0]),
            },
            str(sale.sections["GA"].pk): {"free": 5, "total": 5},
        },
    }
    again = client.get(url(sale, "availability"), HTTP_IF_NONE_MATCH=response["ETag"])
    assert (again.status_code, again.content, again["ETag"], again["Cache-Control"]) == (
        304,
        b"",
        response["ETag"],
        "no-cache",
    )


def test_availability_without_gzip_is_the_same_json_and_a_new_state_a_new_etag(client, sale):
    first = client.get(url(sale, "availability"), HTTP_ACCEPT_ENCODING="gzip")
    plain = client.get(url(sale, "availability"))
    assert "Content-Encoding" not in plain
    assert plain.content == gzip.decompress(first.content)
    assert plain["ETag"] == first["ETag"]

    # when a seat is held, the old ETag no longer matches
    inventory.hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=[sale.seat_unit("S1", "B", 4).pk],
        now=timezone.now(),
    )
    seatmap.bump_version(sale.session.pk)  # what the hold's on_commit does
    changed = client.get(url(sale, "availability"), HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]
    assert changed.json()["sections"][str(sale.sections["S1"].pk)]["free"] == 7


def test_availability_of_an_unknown_or_unpublished_session_is_404(client, sale):
    missing = client.get(f"/api/v1/sessions/{sale.session.pk + 1000}/seatmap/availability")
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": {"code": "session_not_found", "message": "No such session.", "details": {}}},
    )
    sale.session.event.status = EventStatus.DRAFT
    sale.session.event.save()
    draft = client.get(url(sale, "availability"))
    assert (draft.status_code, draft.json()["error"]["code"]) == (404, "session_not_found")


def test_errors_answer_in_the_fans_language(client, sale):
    response = client.get(
        f"/api/v1/sessions/{sale.session.pk + 1000}/seatmap/heat",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    with translation.override("zh-hans"):
        expected = gettext("No such session.")
    assert expected != "No such session."
    assert response.json()["error"]["message"] == expected
    assert response["Content-Language"] == "zh-hans"


def test_availability_poll_costs_one_query_when_warm(
    client, sale, django_assert_num_queries, django_assert_max_num_queries
):
    # the first poll also builds the seat order (kept in process memory)
    with django_assert_max_num_queries(3):
        first = client.get(url(sale, "availability"), HTTP_ACCEPT_ENCODING="gzip")
    # cold payload: the session and the seat states
    from django.core.cache import cache

    cache.clear()
    with django_assert_max_num_queries(2):
        cold = client.get(url(sale, "availability"), HTTP_ACCEPT_ENCODING="gzip")
    # warm: the session only, and a 304 costs the same
    with django_assert_num_queries(1):
        warm = client.get(url(sale, "availability"), HTTP_ACCEPT_ENCODING="gzip")
    with django_assert_num_queries(1):
        not_modified = client.get(url(sale, "availability"), HTTP_IF_NONE_MATCH=warm["ETag"])
    assert [first.status_code, cold.status_code, warm.status_code] == [200, 200, 200]
    assert not_modified.status_code == 304
    assert first.content == cold.content == warm.content


# -- section geometry, views, heat -----------------------------------------------------------


def test_section_seats_are_cached_long_and_answer_304(client, sale):
    section = sale.sections["S1"]
    response = client.get(url(sale, f"sections/{section.pk}/seats"))
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["Vary"] == "Accept-Encoding, Accept-Language"
    assert response.json() == seatmap.section_seats(session=sale.session, section_id=section.pk)
    assert [len(r["seats"]) for r in response.json()["rows"]] == [4, 4]
    zipped = client.get(url(sale, f"sections/{section.pk}/seats"), HTTP_ACCEPT_ENCODING="gzip")
    assert gzip.decompress(zipped.content) == response.content
    again = client.get(
        url(sale, f"sections/{section.pk}/seats"), HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert (again.status_code, again.content, again["Cache-Control"]) == (
        304,
        b"",
        "public, max-age=3600",
    )


def test_sections_unknown_or_of_another_layout_are_404(client, sale):
    other = make_sale(sections=1, rows=1, seats_per_row=2)
    for section_id in (999999, other.sections["S1"].pk):
        seats = client.get(url(sale, f"sections/{section_id}/seats"))
        view = client.post(url(sale, f"sections/{section_id}/view"))
        assert (seats.status_code, seats.json()) == (
            404,
            {
                "error": {
                    "code": "section_not_found",
                    "message": "No such section in this session.",
                    "details": {},
                }
            },
        )
        assert (view.status_code, view.json()["error"]["code"]) == (404, "section_not_found")
    assert SectionViewCount.objects.count() == 0


def test_opening_a_section_counts_a_view(client, sale):
    section = sale.sections["S1"]
    response = client.post(url(sale, f"sections/{section.pk}/view"))
    assert (response.status_code, response.content) == (204, b"")
    assert list(SectionViewCount.objects.values_list("section_id", "views")) == [(section.pk, 1)]


def test_heat_per_section(client, sale):
    section = sale.sections["S1"]
    client.post(url(sale, f"sections/{section.pk}/view"))
    assert client.get(url(sale, "heat")).json() == {
        "session_id": sale.session.pk,
        "window_minutes": 15,
        "sections": {
            str(section.pk): {
                "taken": 0,
                "views": 1,
                "taken_per_minute": "0.00",
                "heat": "0.03",
            },
            str(sale.sections["GA"].pk): {
                "taken": 0,
                "views": 0,
                "taken_per_minute": "0.00",
                "heat": "0.00",
            },
        },
    }


# -- proposals -------------------------------------------------------------------------------


def test_propose_shows_the_best_block_without_holding(client, sale, django_assert_max_num_queries):
    # the focal point is at x=500, so the right end of row A is best
    a3, a4 = sale.seat_units("S1", "A", [3, 4])
    section = sale.sections["S1"].pk
    zone = sale.zones["A"].pk
    # session with its zones (2), the zone's free seats and its geometry (2), the seats (1)
    with django_assert_max_num_queries(5):
        response = client.get(url(sale, "propose"), {"zone": zone, "quantity": 2})

    def seat(unit, n):
        return {
            "unit_id": unit.pk,
            "section_id": section,
            "section": "S1",
            "row": "A",
            "seat": str(n),
            "zone_id": zone,
            "price": "380.00",
            "label": f"S1 · row A · seat {n}",
        }

    assert (response.status_code, response.json()) == (
        200,
        {
            "zone_id": zone,
            "quantity": 2,
            "unit_ids": [a3.pk, a4.pk],
            "seats": [seat(a3, 3), seat(a4, 4)],
            "total": "¥760.00",
        },
    )
    assert Hold.objects.count() == 0


def test_propose_refuses_more_than_an_order_allows_and_zones_of_other_sessions(client, sale):
    zone = sale.zones["A"].pk
    too_many = client.get(url(sale, "propose"), {"zone": zone, "quantity": 7})
    assert (too_many.status_code, too_many.json()["error"]) == (
        422,
        {
            "code": "limit_exceeded",
            "message": "At most 6 tickets per order.",
            "details": {"max_tickets_per_order": 6, "requested": 7},
        },
    )
    other = make_sale(sections=1, rows=1, seats_per_row=2)
    foreign = client.get(url(sale, "propose"), {"zone": other.zones["A"].pk, "quantity": 1})
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (422, "scope_invalid")
    assert foreign.json()["error"]["details"] == {"zone": other.zones["A"].pk}


def test_propose_when_no_block_is_left_is_a_conflict(client, sale):
    # one seat of each row taken in the middle: no three adjacent seats remain
    inventory.hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=[sale.seat_unit("S1", "A", 2).pk, sale.seat_unit("S1", "B", 3).pk],
        now=timezone.now(),
    )
    response = client.get(url(sale, "propose"), {"zone": sale.zones["A"].pk, "quantity": 3})
    assert (response.status_code, response.json()["error"]) == (
        409,
        {
            "code": "places_unavailable",
            "message": "No 3 adjacent seats are left in Zone A.",
            "details": {"zone": sale.zones["A"].pk, "quantity": 3},
        },
    )


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({}, ["query.zone", "query.quantity"]),
        ({"zone": "A", "quantity": "2"}, ["query.zone"]),
        ({"zone": "1", "quantity": "true"}, ["query.quantity"]),
        ({"zone": "1\x00", "quantity": "2"}, ["request"]),  # refused by core.inputguard
        ({"zone": str(2**64), "quantity": "2"}, ["query.zone"]),
        ({"zone": "1", "quantity": str(10**30)}, ["query.quantity"]),
        ({"zone": "1", "quantity": "0"}, ["query.quantity"]),
        ({"zone": "1", "quantity": "-2"}, ["query.quantity"]),
    ],
)
def test_propose_with_bad_parameters_is_invalid_input(client, sale, params, fields):
    response = client.get(url(sale, "propose"), params)
    body = response.json()
    assert (response.status_code, body["error"]["code"], body["error"]["message"]) == (
        422,
        "invalid_input",
        "The input is not valid.",
    )
    assert [e["field"] for e in body["error"]["details"]["errors"]] == fields


# -- the hold --------------------------------------------------------------------------------


def test_hold_answers_the_checkout_address(client, fan, sale, django_assert_max_num_queries):
    a1, a2 = sale.seat_units("S1", "A", [1, 2])
    # the fan's session and user (2), the session with its zones (2), the admission guard
    # (1), then the hold: count, insert, update, audit with their savepoints (8), and on
    # PostgreSQL the account's advisory lock (1)
    with django_assert_max_num_queries(13 + POSTGRES_LOCK):
        response = post_json(client, url(sale, "hold"), {"unit_ids": [a1.pk, a2.pk]})
    hold = Hold.objects.get()
    assert (response.status_code, response.json()) == (
        201,
        {"hold_id": str(hold.pk), "checkout_url": f"/checkout/{hold.pk}/"},
    )
    assert hold.user == fan
    assert sorted(InventoryUnit.objects.filter(hold=hold).values_list("id", flat=True)) == [
        a1.pk,
        a2.pk,
    ]


def test_hold_of_a_lost_seat_names_it_offers_alternatives_and_holds_nothing(
    client, fan, sale, django_assert_max_num_queries
):
    a3, a4 = sale.seat_units("S1", "A", [3, 4])
    other = inventory.hold_units(
        session=sale.session, user=make_buyer(), unit_ids=[a4.pk], now=timezone.now()
    )
    # the hold that fails (16, and the advisory lock on PostgreSQL), then the lost seats
    # described and their positions, the zone's free seats and geometry, and the
    # alternatives' seats (5)
    with django_assert_max_num_queries(21 + POSTGRES_LOCK):
        response = post_json(client, url(sale, "hold"), {"unit_ids": [a3.pk, a4.pk]})
    body = response.json()
    assert response.status_code == 409
    assert body["error"]["code"] == "places_unavailable"
    assert body["error"]["message"] == (
        "Another buyer took S1 · row A · seat 4 before you. Choose again or take a suggestion."
    )
    assert body["error"]["details"]["lost"] == [
        {
            "unit_id": a4.pk,
            "section_id": sale.sections["S1"].pk,
            "section": "S1",
            "row": "A",
            "seat": "4",
            "zone_id": sale.zones["A"].pk,
            "price": "380.00",
            "label": "S1 · row A · seat 4",
        }
    ]
    b3, b4 = sale.seat_units("S1", "B", [3, 4])
    b1, b2 = sale.seat_units("S1", "B", [1, 2])
    # A-1 + A-2 would strand A-3 next to the lost seat, so both pairs come from row B
    assert [alt["unit_ids"] for alt in body["error"]["details"]["alternatives"]] == [
        [b3.pk, b4.pk],
        [b1.pk, b2.pk],
    ]
    assert body["error"]["details"]["alternatives"][0]["total"] == "¥760.00"
    assert Hold.objects.exclude(pk=other.pk).count() == 0
    assert InventoryUnit.objects.get(pk=a3.pk).status == UnitStatus.AVAILABLE


def test_hold_of_standing_places(client, fan, sale, django_assert_max_num_queries):
    ga = sale.sections["GA"]
    # as for seats (13, and the advisory lock on PostgreSQL), plus the section, its zone
    # and the ids taken (3)
    with django_assert_max_num_queries(16 + POSTGRES_LOCK):
        response = post_json(client, url(sale, "hold"), {"section": ga.pk, "quantity": 2})
    hold = Hold.objects.get()
    assert (response.status_code, response.json()) == (
        201,
        {"hold_id": str(hold.pk), "checkout_url": f"/checkout/{hold.pk}/"},
    )
    assert hold.quantity == 2
    assert (
        list(InventoryUnit.objects.filter(hold=hold).values_list("section_id", "seat_id", "status"))
        == [(ga.pk, None, UnitStatus.HELD)] * 2
    )


def test_hold_needs_sign_in(client, sale):
    audit_before = AuditEntry.objects.count()
    response = post_json(client, url(sale, "hold"), {"unit_ids": [sale.units()[0].pk]})
    assert (response.status_code, response.json()) == (
        401,
        {"error": {"code": "not_authenticated", "message": "Please sign in.", "details": {}}},
    )
    assert_nothing_held(sale, audit_before=audit_before)


def test_hold_by_cookie_needs_the_csrf_token(sale):
    # given a signed-in fan whose browser has the buy page's CSRF cookie
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(make_buyer(username="fan"))
    browser.get(f"/sessions/{sale.session.pk}/buy/")
    token = browser.cookies["csrftoken"].value
    a1 = sale.seat_unit("S1", "A", 1)
    audit_before = AuditEntry.objects.count()

    # when the hold comes without the token (as a forged cross-site post would), it is refused
    forged = post_json(browser, url(sale, "hold"), {"unit_ids": [a1.pk]})
    assert (forged.status_code, forged.json()["error"]["code"]) == (403, "csrf_failed")
    assert_nothing_held(sale, audit_before=audit_before)

    # with the token in the header, as the page sends it, the seat is held
    sent = browser.post(
        url(sale, "hold"),
        json.dumps({"unit_ids": [a1.pk]}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert sent.status_code == 201
    assert list(InventoryUnit.objects.filter(hold__isnull=False).values_list("id", flat=True)) == [
        a1.pk
    ]


BAD_HOLD_BODIES = [
    # (body as sent, status, error code, error field or None)
    ("{", 400, "invalid_json", None),
    ("[1, 2]", 422, "invalid_input", "body.payload"),
    ("null", 422, "invalid_input", "body.payload"),
    # a NUL escaped in JSON is refused before the endpoint (core.inputguard)
    ('"\\u0000"', 422, "invalid_input", "request"),
    ("{}", 422, "invalid_input", "body.payload"),
    ('{"unit_ids": 5}', 422, "invalid_input", "body.payload.unit_ids"),
    ('{"unit_ids": "1,2"}', 422, "invalid_input", "body.payload.unit_ids"),
    ('{"unit_ids": {"0": 1}}', 422, "invalid_input", "body.payload.unit_ids"),
    ('{"unit_ids": []}', 422, "invalid_input", "body.payload.unit_ids"),
    ('{"unit_ids": [true]}', 422, "invalid_input", "body.payload.unit_ids.0"),
    ('{"unit_ids": ["7"]}', 422, "invalid_input", "body.payload.unit_ids.0"),
    ('{"unit_ids": [7.0]}', 422, "invalid_input", "body.payload.unit_ids.0"),
    ('{"unit_ids": [null]}', 422, "invalid_input", "body.payload.unit_ids.0"),
    ('{"unit_ids": [18446744073709551616]}', 422, "invalid_input", "body.payload.unit_ids.0"),
    ('{"unit_ids": [-1]}', 422, "invalid_input", "body.payload.unit_ids.0"),
    ('{"unit_ids": ["1\\u0000"]}', 422, "invalid_input", "request"),
    ("UNIT_IDS_101", 422, "invalid_input", "body.payload.unit_ids"),
    ('{"section": "GA\\u0000", "quantity": 1}', 422, "invalid_input", "request"),
    ('{"section": true, "quantity": 1}', 422, "invalid_input", "body.payload.section"),
    ("SECTION_QUANTITY_TRUE", 422, "invalid_input", "body.payload.quantity"),
    ("SECTION_QUANTITY_HUGE", 422, "invalid_input", "body.payload.quantity"),
    ("SECTION_QUANTITY_1E400", 422, "invalid_input", "body.payload.quantity"),
    ("SECTION_ONLY", 422, "invalid_input", "body.payload"),
    ("UNITS_AND_QUANTITY", 422, "invalid_input", "body.payload"),
]


def _body(text: str, sale) -> str:
    ga = sale.sections["GA"].pk
    unit = sale.seat_unit("S1", "A", 1).pk
    return {
        "UNIT_IDS_101": json.dumps({"unit_ids": list(range(1, 102))}),
        "SECTION_QUANTITY_TRUE": json.dumps({"section": ga, "quantity": True}),
        "SECTION_QUANTITY_HUGE": json.dumps({"section": ga, "quantity": 10**30}),
        "SECTION_QUANTITY_1E400": f'{{"section": {ga}, "quantity": 1e400}}',
        "SECTION_ONLY": json.dumps({"section": ga}),
        "UNITS_AND_QUANTITY": json.dumps({"unit_ids": [unit], "quantity": 1}),
    }.get(text, text)


@pytest.mark.parametrize(("body", "status", "code", "field"), BAD_HOLD_BODIES)
def test_hold_with_bad_input_is_a_clear_4xx_and_changes_nothing(
    client, fan, sale, body, status, code, field
):
    audit_before = AuditEntry.objects.count()
    response = client.post(url(sale, "hold"), _body(body, sale), content_type="application/json")
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (status, code)
    assert set(error) == {"code", "message", "details"}
    if field is None:
        assert error["details"] == {}
    else:
        assert error["message"] == "The input is not valid."
        assert field in [e["field"] for e in error["details"]["errors"]]
    assert_nothing_held(sale, audit_before=audit_before)


def test_hold_of_places_sections_or_sessions_that_are_not_these(client, fan, sale):
    # given another session on sale, with its own places and sections
    other = make_sale(sections=1, rows=1, seats_per_row=2, standing_capacity=3)
    audit_before = AuditEntry.objects.count()
    before = units_state(other)

    foreign_units = post_json(
        client, url(sale, "hold"), {"unit_ids": [other.seat_unit("S1", "A", 1).pk]}
    )
    unknown_units = post_json(client, url(sale, "hold"), {"unit_ids": [99999999]})
    foreign_section = post_json(
        client, url(sale, "hold"), {"section": other.sections["GA"].pk, "quantity": 1}
    )
    unknown_section = post_json(client, url(sale, "hold"), {"section": 99999999, "quantity": 1})
    seated_section = post_json(
        client, url(sale, "hold"), {"section": sale.sections["S1"].pk, "quantity": 1}
    )
    unknown_session = post_json(
        client,
        f"/api/v1/sessions/{other.session.pk + 1000}/seatmap/hold",
        {"unit_ids": [sale.seat_unit("S1", "A", 1).pk]},
    )
    too_many = post_json(
        client, url(sale, "hold"), {"section": sale.sections["GA"].pk, "quantity": 7}
    )

    assert [
        (r.status_code, r.json()["error"]["code"], r.json()["error"]["details"])
        for r in (foreign_units, unknown_units, foreign_section, unknown_section)
    ] == [
        (422, "places_unknown", {"unit_ids": [other.seat_unit("S1", "A", 1).pk]}),
        (422, "places_unknown", {"unit_ids": [99999999]}),
        (422, "scope_invalid", {"section": other.sections["GA"].pk}),
        (422, "scope_invalid", {"section": 99999999}),
    ]
    assert (seated_section.status_code, seated_section.json()["error"]["message"]) == (
        422,
        "Choose seats on the map for a seated section.",
    )
    assert (unknown_session.status_code, unknown_session.json()["error"]["code"]) == (
        404,
        "session_not_found",
    )
    assert (too_many.status_code, too_many.json()["error"]["message"]) == (
        422,
        "At most 6 tickets per order.",
    )
    assert_nothing_held(sale, audit_before=audit_before)
    assert units_state(other) == before


def test_old_seat_map_addresses_are_gone(client, sale):
    for tail in ("availability/", "heat/", "propose/?zone=1&quantity=1"):
        assert client.get(f"/sessions/{sale.session.pk}/seatmap/{tail}").status_code == 404


def test_the_buy_page_gives_the_map_the_api_addresses(client, fan, sale):
    html = client.get(f"/sessions/{sale.session.pk}/buy/").content.decode()
    blob = html.split('<script id="seatmap-config" type="application/json">')[1]
    config = json.loads(blob.split("</script>")[0])
    api = f"/api/v1/sessions/{sale.session.pk}/seatmap/"
    assert config["urls"] == {
        "availability": api + "availability",
        "seats": api + "sections/{id}/seats",
        "view": api + "sections/{id}/view",
        "heat": api + "heat",
        "propose": api + "propose",
        "hold": api + "hold",
    }
    # each answers where the page will call it
    section = sale.sections["S1"].pk
    assert client.get(config["urls"]["availability"]).status_code == 200
    assert client.get(config["urls"]["seats"].replace("{id}", str(section))).status_code == 200
    assert client.get(config["urls"]["heat"]).status_code == 200
