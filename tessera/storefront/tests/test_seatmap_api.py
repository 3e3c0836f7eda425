"""The seat map's JSON endpoints, one thin test each (exact JSON)."""

import gzip
import json

import pytest
from django.utils import timezone

from tessera.inventory import seatmap
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, InventoryUnit, SectionViewCount
from tessera.inventory.seatmap import encode_states
from tessera.inventory.tests.factories import make_buyer, make_sale

pytestmark = pytest.mark.django_db


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
    return f"/sessions/{sale.session.pk}/seatmap/{tail}"


def test_availability_is_gzip_with_an_etag_and_answers_304_when_unchanged(client, sale):
    a1 = sale.seat_unit("S1", "A", 1)
    inventory.hold_units(
        session=sale.session, user=make_buyer(), unit_ids=[a1.pk], now=timezone.now()
    )
    response = client.get(url(sale, "availability/"), HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == "no-cache"
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
    again = client.get(url(sale, "availability/"), HTTP_IF_NONE_MATCH=response["ETag"])
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", response["ETag"])


def test_section_seats_are_cached_long(client, sale):
    section = sale.sections["S1"]
    response = client.get(url(sale, f"sections/{section.pk}/seats/"))
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response.json() == seatmap.section_seats(session=sale.session, section_id=section.pk)
    assert [len(r["seats"]) for r in response.json()["rows"]] == [4, 4]
    missing = client.get(url(sale, "sections/999999/seats/"))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_opening_a_section_counts_a_view(client, sale):
    section = sale.sections["S1"]
    response = client.post(url(sale, f"sections/{section.pk}/view/"))
    assert (response.status_code, response.content) == (204, b"")
    assert list(SectionViewCount.objects.values_list("section_id", "views")) == [(section.pk, 1)]


def test_heat_per_section(client, sale):
    section = sale.sections["S1"]
    client.post(url(sale, f"sections/{section.pk}/view/"))
    assert client.get(url(sale, "heat/")).json() == {
        "session_id": sale.session.pk,
        "window_minutes": 15,
        "sections": {
            str(section.pk): {
                "taken": 0,
                "views": 1,
                "taken_per_minute": "0.00",
                "heat": "0.50",
            },
            str(sale.sections["GA"].pk): {
                "taken": 0,
                "views": 0,
                "taken_per_minute": "0.00",
                "heat": "0.00",
            },
        },
    }


def test_propose_shows_the_best_block_without_holding(client, sale):
    # the focal point is at x=500, so the right end of row A is best
    a3, a4 = sale.seat_units("S1", "A", [3, 4])
    response = client.get(url(sale, "propose/"), {"zone": sale.zones["A"].pk, "quantity": 2})
    section = sale.sections["S1"].pk
    zone = sale.zones["A"].pk

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

    assert response.json() == {
        "zone_id": zone,
        "quantity": 2,
        "unit_ids": [a3.pk, a4.pk],
        "seats": [seat(a3, 3), seat(a4, 4)],
        "total": "¥760.00",
    }
    assert Hold.objects.count() == 0
    too_many = client.get(url(sale, "propose/"), {"zone": zone, "quantity": 7})
    assert too_many.status_code == 422
    assert too_many.json()["error"]["message"] == "At most 6 tickets per order."


def test_hold_answers_the_checkout_address(client, fan, sale):
    a1, a2 = sale.seat_units("S1", "A", [1, 2])
    response = client.post(
        url(sale, "hold/"), {"unit_ids": [a1.pk, a2.pk]}, content_type="application/json"
    )
    hold = Hold.objects.get()
    assert (response.status_code, response.json()) == (
        201,
        {"hold_id": str(hold.pk), "checkout_url": f"/checkout/{hold.pk}/"},
    )
    assert sorted(InventoryUnit.objects.filter(hold=hold).values_list("id", flat=True)) == [
        a1.pk,
        a2.pk,
    ]


def test_hold_of_a_lost_seat_names_it_offers_alternatives_and_holds_nothing(client, fan, sale):
    a3, a4 = sale.seat_units("S1", "A", [3, 4])
    other = inventory.hold_units(
        session=sale.session, user=make_buyer(), unit_ids=[a4.pk], now=timezone.now()
    )
    response = client.post(
        url(sale, "hold/"), {"unit_ids": [a3.pk, a4.pk]}, content_type="application/json"
    )
    body = response.json()
    assert response.status_code == 409
    assert body["error"]["code"] == "places_unavailable"
    assert body["error"]["message"] == (
        "Another buyer took S1 · row A · seat 4 before you. Choose again or take a suggestion."
    )
    assert [s["unit_id"] for s in body["error"]["details"]["lost"]] == [a4.pk]
    b3, b4 = sale.seat_units("S1", "B", [3, 4])
    b1, b2 = sale.seat_units("S1", "B", [1, 2])
    # A-1 + A-2 would strand A-3 next to the lost seat, so both pairs come from row B
    assert [alt["unit_ids"] for alt in body["error"]["details"]["alternatives"]] == [
        [b3.pk, b4.pk],
        [b1.pk, b2.pk],
    ]
    assert body["error"]["details"]["alternatives"][0]["total"] == "¥760.00"
    assert Hold.objects.exclude(pk=other.pk).count() == 0


def test_hold_standing_places_and_bad_input(client, fan, sale):
    ga = sale.sections["GA"]
    response = client.post(
        url(sale, "hold/"), {"section": ga.pk, "quantity": 2}, content_type="application/json"
    )
    assert response.status_code == 201
    assert Hold.objects.get().quantity == 2
    bad = client.post(url(sale, "hold/"), {"unit_ids": ["x"]}, content_type="application/json")
    assert (bad.status_code, bad.json()["error"]["message"]) == (
        422,
        "Please choose at least one seat.",
    )
    garbage = client.post(url(sale, "hold/"), "{", content_type="application/json")
    assert garbage.status_code == 422
    assert Hold.objects.count() == 1


def test_hold_needs_sign_in(client, sale):
    response = client.post(
        url(sale, "hold/"), {"unit_ids": [sale.units()[0].pk]}, content_type="application/json"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (401, "sign_in_required")
    assert Hold.objects.count() == 0
