"""The inventory API: one thin test per endpoint with exact payloads, plus idempotency."""

import json
from datetime import timedelta

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client
from django.utils import timezone

from tessera.core.models import IdempotencyRecord
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.inventory.services import hold_units
from tessera.inventory.tests.factories import make_buyer, make_sale

pytestmark = pytest.mark.django_db


def when(value) -> str:
    """A datetime as the API renders it."""
    return json.loads(DjangoJSONEncoder().encode(value))


def unit_json(sale, unit: InventoryUnit) -> dict:
    zone = unit.zone
    return {
        "id": unit.pk,
        "zone_id": zone.pk,
        "zone_code": zone.code,
        "zone_name": zone.name_en,
        "price": str(zone.price),
        "currency": "CNY",
        "section_id": unit.section_id,
        "section_code": unit.section.code,
        "section_name": unit.section.name_en,
        "seat_id": unit.seat_id,
        "row": unit.seat.row.label if unit.seat else None,
        "seat": unit.seat.label if unit.seat else None,
    }


def hold_json(sale, hold: Hold, *, is_live: bool = True) -> dict:
    hold.refresh_from_db()
    units = InventoryUnit.objects.filter(hold=hold).order_by(
        "seat__row__sort_order", "seat__position", "id"
    )
    return {
        "id": str(hold.pk),
        "session_id": sale.session.pk,
        "status": hold.status,
        "is_live": is_live,
        "quantity": hold.quantity,
        "created_at": when(hold.created_at),
        "expires_at": when(hold.expires_at),
        "extensions": hold.extensions,
        "units": [unit_json(sale, u) for u in units],
    }


@pytest.fixture
def sale():
    return make_sale(standing_capacity=10)


@pytest.fixture
def buyer():
    return make_buyer()


def english_client() -> Client:
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def client(buyer):
    client = english_client()
    client.force_login(buyer)
    return client


def post(client, url, body=None, **headers):
    return client.post(
        url, data=json.dumps(body or {}), content_type="application/json", headers=headers
    )


# -- POST /sessions/{id}/holds ---------------------------------------------------------------------


def test_post_hold_by_unit_ids(client, sale, buyer):
    a9, a10 = sale.seat_units("S2", "A", [9, 10])
    response = post(
        client, f"/api/v1/sessions/{sale.session.pk}/holds", {"unit_ids": [a10.pk, a9.pk]}
    )
    assert response.status_code == 201
    hold = Hold.objects.get()
    assert hold.user == buyer
    assert response.json() == hold_json(sale, hold)
    assert [u["seat"] for u in response.json()["units"]] == ["9", "10"]


def test_post_hold_by_seat_ids_zone_quantity_and_best_available(client, sale):
    url = f"/api/v1/sessions/{sale.session.pk}/holds"
    b1 = sale.seat_unit("S1", "B", 1)
    by_seat = post(client, url, {"seat_ids": [b1.seat_id]})
    standing = post(client, url, {"zone": sale.zones["GA"].pk, "quantity": 2})
    best = post(client, url, {"best_available": True, "zone": sale.zones["B"].pk, "quantity": 2})
    assert [r.status_code for r in (by_seat, standing, best)] == [201, 201, 201]
    assert [u["id"] for u in by_seat.json()["units"]] == [b1.pk]
    assert [u["id"] for u in standing.json()["units"]] == [u.pk for u in sale.units("GA")[:2]]
    assert [(u["section_code"], u["row"], u["seat"]) for u in best.json()["units"]] == [
        ("S2", "A", "9"),
        ("S2", "A", "10"),
    ]


def test_post_hold_errors_use_the_error_shape(client, sale):
    url = f"/api/v1/sessions/{sale.session.pk}/holds"
    a1 = sale.seat_unit("S1", "A", 1)
    hold_units(session=sale.session, user=make_buyer(), unit_ids=[a1.pk], now=timezone.now())
    taken = post(client, url, {"unit_ids": [a1.pk]})
    assert taken.status_code == 409
    assert taken.json() == {
        "error": {
            "code": "places_unavailable",
            "message": "Some of these places are no longer available.",
            "details": {"unit_ids": [a1.pk]},
        }
    }
    unknown_seat = post(client, url, {"seat_ids": [987654321]})
    assert unknown_seat.status_code == 422
    assert unknown_seat.json()["error"]["code"] == "places_unknown"
    assert unknown_seat.json()["error"]["details"] == {"seat_ids": [987654321]}
    two_ways = post(client, url, {"unit_ids": [a1.pk], "zone": sale.zones["A"].pk, "quantity": 1})
    assert two_ways.status_code == 422
    assert two_ways.json() == {
        "error": {
            "code": "choice_invalid",
            "message": "Choose places one way: unit_ids, seat_ids, seat labels, a zone and a "
            "quantity, or best_available.",
            "details": {},
        }
    }
    foreign_zone = post(client, url, {"zone": make_sale().zones["A"].pk, "quantity": 1})
    assert foreign_zone.status_code == 422
    assert foreign_zone.json()["error"]["code"] == "scope_invalid"
    missing = post(client, "/api/v1/sessions/987654321/holds", {"unit_ids": [a1.pk]})
    assert missing.status_code == 404
    assert Hold.objects.count() == 1


def test_post_hold_needs_a_signed_in_buyer(sale):
    response = post(
        english_client(),
        f"/api/v1/sessions/{sale.session.pk}/holds",
        {"unit_ids": [sale.seat_unit("S1", "A", 1).pk]},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert Hold.objects.count() == 0


# -- idempotency ------------------------------------------------------------------------------


def test_same_key_same_body_answers_the_first_response_once(client, sale):
    url = f"/api/v1/sessions/{sale.session.pk}/holds"
    body = {"zone": sale.zones["GA"].pk, "quantity": 2}
    first = post(client, url, body, **{"Idempotency-Key": "k-1"})
    # the same body with its keys in another order is the same request
    again = post(client, url, dict(reversed(body.items())), **{"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Hold.objects.count() == 1
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 2
    record = IdempotencyRecord.objects.get()
    assert (record.scope, record.key, record.status_code) == ("inventory.hold", "k-1", 201)


def test_same_key_different_body_is_refused(client, sale):
    url = f"/api/v1/sessions/{sale.session.pk}/holds"
    post(client, url, {"zone": sale.zones["GA"].pk, "quantity": 2}, **{"Idempotency-Key": "k-2"})
    reused = post(
        client, url, {"zone": sale.zones["GA"].pk, "quantity": 3}, **{"Idempotency-Key": "k-2"}
    )
    assert reused.status_code == 422
    assert reused.json() == {
        "error": {
            "code": "idempotency_key_reused",
            "message": "This idempotency key was already used for a different request.",
            "details": {},
        }
    }
    assert Hold.objects.count() == 1
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 2


def test_a_refused_request_is_not_remembered(client, sale):
    url = f"/api/v1/sessions/{sale.session.pk}/holds"
    a1 = sale.seat_unit("S1", "A", 1)
    InventoryUnit.objects.filter(pk=a1.pk).update(status=UnitStatus.BLOCKED)
    refused = post(client, url, {"unit_ids": [a1.pk]}, **{"Idempotency-Key": "k-3"})
    InventoryUnit.objects.filter(pk=a1.pk).update(status=UnitStatus.AVAILABLE)
    retried = post(client, url, {"unit_ids": [a1.pk]}, **{"Idempotency-Key": "k-3"})
    assert (refused.status_code, retried.status_code) == (409, 201)
    assert IdempotencyRecord.objects.count() == 1


def test_keys_are_per_user(sale):
    url = f"/api/v1/sessions/{sale.session.pk}/holds"
    body = {"zone": sale.zones["GA"].pk, "quantity": 1}
    one, two = english_client(), english_client()
    one.force_login(make_buyer())
    two.force_login(make_buyer())
    first = post(one, url, body, **{"Idempotency-Key": "same"})
    second = post(two, url, body, **{"Idempotency-Key": "same"})
    assert first.json()["id"] != second.json()["id"]
    assert Hold.objects.count() == 2


def test_an_overlong_key_is_refused(client, sale):
    response = post(
        client,
        f"/api/v1/sessions/{sale.session.pk}/holds",
        {"zone": sale.zones["GA"].pk, "quantity": 1},
        **{"Idempotency-Key": "k" * 121},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_invalid"
    assert Hold.objects.count() == 0


# -- GET /holds/{id}, extend, DELETE ---------------------------------------------------


def test_get_hold(client, sale, buyer):
    hold = hold_units(
        session=sale.session,
        user=buyer,
        now=timezone.now(),
        unit_ids=[u.pk for u in sale.seat_units("S1", "C", [2, 3])],
    )
    response = client.get(f"/api/v1/holds/{hold.pk}")
    assert response.status_code == 200
    assert response.json() == hold_json(sale, hold)
    stranger = english_client()
    stranger.force_login(make_buyer())
    foreign = stranger.get(f"/api/v1/holds/{hold.pk}")
    assert foreign.status_code == 404
    assert foreign.json() == {
        "error": {"code": "hold_not_found", "message": "This hold does not exist.", "details": {}}
    }


def test_get_an_expired_hold_says_it_is_not_live(client, sale, buyer):
    hold = hold_units(
        session=sale.session,
        user=buyer,
        now=timezone.now() - timedelta(hours=1),
        unit_ids=[sale.seat_unit("S1", "C", 2).pk],
    )
    response = client.get(f"/api/v1/holds/{hold.pk}")
    assert response.json() == hold_json(sale, hold, is_live=False)


def test_extend_hold(client, sale, buyer):
    hold = hold_units(
        session=sale.session,
        user=buyer,
        now=timezone.now(),
        unit_ids=[sale.seat_unit("S1", "A", 5).pk],
    )
    expires_at = hold.expires_at
    response = post(client, f"/api/v1/holds/{hold.pk}/extend", **{"Idempotency-Key": "x-1"})
    assert response.status_code == 200
    assert response.json() == hold_json(sale, hold)
    assert response.json()["extensions"] == 1
    assert hold.expires_at == expires_at + timedelta(minutes=10)
    # a retry with the same key answers the same; a new attempt is refused
    replay = post(client, f"/api/v1/holds/{hold.pk}/extend", **{"Idempotency-Key": "x-1"})
    assert replay.json() == response.json()
    again = post(client, f"/api/v1/holds/{hold.pk}/extend")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "extension_used"


def test_delete_hold(client, sale, buyer):
    unit = sale.seat_unit("S1", "A", 5)
    hold = hold_units(session=sale.session, user=buyer, now=timezone.now(), unit_ids=[unit.pk])
    response = client.delete(f"/api/v1/holds/{hold.pk}")
    assert response.status_code == 204
    assert response.content == b""
    hold.refresh_from_db()
    assert hold.status == HoldStatus.RELEASED
    unit.refresh_from_db()
    assert (unit.status, unit.hold_id) == (UnitStatus.AVAILABLE, None)
    assert client.delete("/api/v1/holds/not-a-uuid").status_code == 422


# -- GET /sessions/{id}/availability ----------------------------------------------------


def test_availability(sale):
    hold_units(
        session=sale.session,
        user=make_buyer(),
        now=timezone.now(),
        unit_ids=[u.pk for u in sale.seat_units("S2", "A", [1, 2, 3])],
    )
    response = english_client().get(f"/api/v1/sessions/{sale.session.pk}/availability")
    assert response.status_code == 200
    zones, sections = sale.zones, sale.sections
    assert response.json() == {
        "session_id": sale.session.pk,
        "zones": [
            {
                "id": zones["A"].pk,
                "code": "A",
                "name": "Zone A",
                "price": "380.00",
                "currency": "CNY",
                "available": 30,
            },
            {
                "id": zones["B"].pk,
                "code": "B",
                "name": "Zone B",
                "price": "280.00",
                "currency": "CNY",
                "available": 27,
            },
            {
                "id": zones["GA"].pk,
                "code": "GA",
                "name": "Zone GA",
                "price": "180.00",
                "currency": "CNY",
                "available": 10,
            },
        ],
        "sections": [
            {
                "id": sections["S1"].pk,
                "code": "S1",
                "name": "Block 1",
                "kind": "seated",
                "available": 30,
            },
            {
                "id": sections["S2"].pk,
                "code": "S2",
                "name": "Block 2",
                "kind": "seated",
                "available": 27,
            },
            {
                "id": sections["GA"].pk,
                "code": "GA",
                "name": "Floor standing",
                "kind": "standing",
                "available": 10,
            },
        ],
    }
    assert english_client().get("/api/v1/sessions/987654321/availability").status_code == 404
