"""The waiting list's endpoints: join, status, leave; bad input answers a clear error in the
caller's language, never a 500, and writes nothing."""

import pytest
from django.test import Client

from tessera.catalog.models import EventStatus
from tessera.inventory import services as inventory
from tessera.waitlist.models import EntryStatus, WaitlistEntry, WaitlistOffer
from tessera.waitlist.tests.factories import fan, make_soldout, now_

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    now = now_()
    sale, holds = make_soldout(now=now, seats=4, max_tickets_per_account=4)
    client = Client()
    user = fan()
    client.force_login(user)
    return sale, holds, client, user


def url(session_id) -> str:
    return f"/api/v1/sessions/{session_id}/waitlist"


def test_join_see_the_position_and_the_offer_then_leave(setup):
    sale, [hold], client, user = setup
    other = Client()
    other.force_login(fan())
    assert other.post(url(sale.session.pk), {"quantity": 1}, "application/json").status_code == 201

    answer = client.post(
        url(sale.session.pk), {"quantity": 2, "zone": sale.zones["A"].pk}, "application/json"
    )

    assert answer.status_code == 201
    body = answer.json()
    assert (body["status"], body["position"], body["quantity"], body["offer"]) == (
        "waiting",
        2,
        2,
        None,
    )
    # when the places come back, the status shows the offer and its checkout
    inventory.release_hold(hold=hold, user=None, now=now_())
    body = client.get(url(sale.session.pk)).json()
    offer = WaitlistOffer.objects.get(user=user)
    assert body["status"] == "offered" and body["position"] is None
    assert body["offer"]["checkout_url"] == f"/checkout/{offer.hold_id}/"
    assert body["offer"]["quantity"] == 2
    # leaving declines the offer
    left = client.delete(url(sale.session.pk))
    assert left.status_code == 200 and left.json()["status"] == "left"
    assert client.get(url(sale.session.pk)).json()["error"]["code"] == "waitlist_entry_not_found"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"quantity": 0}, 422),
        ({"quantity": -1}, 422),
        ({"quantity": 10**12}, 422),
        ({"quantity": 50}, 422),  # over the session's limit of 4: QuantityNotAllowed
        ({"quantity": "2"}, 422),
        ({"quantity": 1.5}, 422),
        ({"quantity": None}, 422),
        ({"quantity": True}, 422),
        ({}, 422),
        ([], 422),
        ("x", 400),
        ({"quantity": 1, "zone": "A"}, 422),
        ({"quantity": 1, "zone": 999999}, 422),
        ({"quantity": 1, "max_price": "abc"}, 422),
        ({"quantity": 1, "max_price": -5}, 422),
        ({"quantity": 1, "extra": 1}, 422),
    ],
)
def test_bad_input_is_refused_clearly_and_nothing_is_written(setup, body, status):
    sale, _, client, _ = setup
    answer = client.post(url(sale.session.pk), body, "application/json")
    assert answer.status_code == status, answer.content
    error = answer.json()["error"]
    assert error["code"] and error["message"]
    assert not WaitlistEntry.objects.exists()


def test_errors_speak_the_callers_language(setup):
    sale, _, client, _ = setup
    client.post(url(sale.session.pk), {"quantity": 1}, "application/json")
    answer = client.post(
        url(sale.session.pk), {"quantity": 1}, "application/json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["message"] == "您已在本场次的候补名单中。"
    answer = client.post(
        url(sale.session.pk), {"quantity": 1}, "application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert answer.json()["error"]["message"] == (
        "You are already on the waiting list of this session."
    )


def test_a_foreign_or_unknown_session_and_no_sign_in(setup):
    sale, _, client, _ = setup
    draft, _ = make_soldout(now=now_(), seats=1)
    draft.session.event.status = EventStatus.DRAFT
    draft.session.event.save(update_fields=["status"])
    for session_id in (draft.session.pk, 987654321):
        answer = client.post(url(session_id), {"quantity": 1}, "application/json")
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "session_not_found"
    assert client.get("/api/v1/sessions/abc/waitlist").status_code == 422
    anonymous = Client().post(url(sale.session.pk), {"quantity": 1}, "application/json")
    assert anonymous.status_code == 401
    assert not WaitlistEntry.objects.filter(status=EntryStatus.WAITING).exists()
