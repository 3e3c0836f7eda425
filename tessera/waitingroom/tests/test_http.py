"""The waiting room over HTTP: the API (join, status with the pass, holds with the
``X-Tessera-Admission`` header), the queue page, and the buy page's redirect to the queue."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tessera.inventory.admission import cookie_name
from tessera.inventory.models import Hold
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.waitingroom import services, status
from tessera.waitingroom.tests.factories import make_room

pytestmark = pytest.mark.django_db


def signed_in(user, language="en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


@pytest.fixture
def open_room(backend):
    now = timezone.now()
    sale = make_sale()
    room = make_room(sale=sale, now=now, opens_in_minutes=-1, rate_per_minute=6000)
    return sale, room


def test_api_join_status_and_hold_with_the_pass(open_room):
    sale, room = open_room
    fan = make_buyer()
    client = signed_in(fan)
    joined = client.post(f"/api/v1/waitingrooms/{room.pk}/entries")
    again = client.post(f"/api/v1/waitingrooms/{room.pk}/entries")
    assert joined.status_code == 201
    assert again.json() == joined.json()
    assert joined.json()["position"] == 1
    status.clear_views()
    answer = Client().get("/api/v1/waitingrooms/status", {"token": joined.json()["token"]})
    body = answer.json()
    assert (answer.status_code, body["admitted"], body["position"]) == (200, True, 1)
    url = f"/api/v1/sessions/{sale.session.pk}/holds"
    payload = json.dumps({"zone": sale.zones["A"].pk, "quantity": 2})
    refused = client.post(url, data=payload, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "admission_required"
    assert Hold.objects.count() == 0
    held = client.post(
        url,
        data=payload,
        content_type="application/json",
        headers={"X-Tessera-Admission": body["admission_pass"]},
    )
    assert held.status_code == 201
    assert len(held.json()["units"]) == 2


def test_a_foreign_pass_is_refused_in_the_users_language(open_room):
    sale, room = open_room
    fan, friend = make_buyer(), make_buyer()
    token = services.join_queue(room=room, user=fan, now=timezone.now()).token
    status.clear_views()
    a_pass = status.check_status(token, now=timezone.now())["admission_pass"]
    response = signed_in(friend, "zh-hans").post(
        f"/api/v1/sessions/{sale.session.pk}/holds",
        data=json.dumps({"zone": sale.zones["A"].pk, "quantity": 1}),
        content_type="application/json",
        headers={"X-Tessera-Admission": a_pass},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "admission_foreign"
    assert Hold.objects.count() == 0


def test_status_endpoint_refuses_a_tampered_token():
    response = Client().get("/queue/-/status", {"t": "q1.1.1.1.1.AAAAAAAAAAAAAAAAAAAAAA"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "queue_token_invalid"


def test_buy_page_sends_a_fan_without_a_pass_to_the_queue_and_lets_an_admitted_one_in(
    open_room,
):
    sale, room = open_room
    fan = make_buyer()
    client = signed_in(fan)
    buy = f"/sessions/{sale.session.pk}/buy/"
    assert client.get(buy).headers["Location"] == f"/queue/{room.pk}/"
    # the queue page offers to join; joining shows the place
    page = client.get(f"/queue/{room.pk}/")
    assert 'id="join-button"' in page.content.decode()
    joined = client.post(f"/queue/{room.pk}/")
    assert joined.headers["Location"] == f"/queue/{room.pk}/"
    assert services.get_backend().entry_for(room.pk, fan.pk) is not None
    status.clear_views()
    # admitted at once (the room is open and fast): the queue page sends the fan on to
    # the room's only session, with the pass cookie
    again = client.get(f"/queue/{room.pk}/")
    assert again.status_code == 302
    assert again.headers["Location"] == buy
    assert again.cookies[cookie_name(sale.session.pk)].value
    # with the pass cookie now set, the buy page opens
    assert client.get(buy).status_code == 200


def test_buy_page_without_a_room_is_unchanged(backend):
    sale = make_sale()
    assert signed_in(make_buyer()).get(f"/sessions/{sale.session.pk}/buy/").status_code == 200


def test_queue_page_before_the_pre_queue_says_when_it_opens(backend):
    now = timezone.now()
    sale = make_sale()
    room = make_room(sale=sale, now=now, prequeue_minutes=-60, opens_in_minutes=120)
    page = signed_in(make_buyer()).get(f"/queue/{room.pk}/").content.decode()
    assert 'id="queue-scheduled"' in page
    assert "join-button" not in page


def test_admin_live_view_shows_the_figures(backend, admin_client):
    now = timezone.now()
    sale = make_sale()
    room = make_room(sale=sale, now=now, opens_in_minutes=5)
    for _ in range(3):
        services.join_queue(room=room, user=make_buyer(), now=now)
    page = admin_client.get(f"/admin/waitingroom/waitingroom/{room.pk}/live/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<td id="live-queued">3</td>' in html
    assert '<td id="live-admitted">0</td>' in html
    assert f'<td id="live-free">{sale.units().count()}</td>' in html
    response = admin_client.post(f"/admin/waitingroom/waitingroom/{room.pk}/live/", {"do": "pause"})
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.status == "paused"
    admin_client.post(
        f"/admin/waitingroom/waitingroom/{room.pk}/live/",
        {"do": "rate", "rate_mode": "fixed", "rate_per_minute": "250"},
    )
    room.refresh_from_db()
    assert room.rate_per_minute == 250
    assert room.opens_at == room.prequeue_opens_at + timedelta(minutes=35)


def test_organizers_see_and_control_only_their_own_rooms(backend):
    from tessera.accounts.tests.factories import make_member, make_organization

    now = timezone.now()
    sale = make_sale()
    room = make_room(sale=sale, now=now, opens_in_minutes=5)
    own = Client()
    own.force_login(make_member(organization=sale.session.event.organization))
    stranger = Client()
    stranger.force_login(make_member(organization=make_organization(name="别家主办方")))
    live = f"/admin/waitingroom/waitingroom/{room.pk}/live/"
    assert own.get(live).status_code == 200
    assert stranger.get(live).status_code == 404
    assert stranger.post(live, {"do": "pause"}).status_code == 404
    room.refresh_from_db()
    assert room.status == "scheduled"
    listing = stranger.get("/admin/waitingroom/waitingroom/").content.decode()
    assert room.name not in listing


def test_the_periodic_task_advances_open_rooms(backend):
    from tessera.waitingroom.tasks import advance_waiting_rooms

    now = timezone.now()
    sale = make_sale()
    room = make_room(sale=sale, now=now, opens_in_minutes=-1, rate_per_minute=600)
    for _ in range(3):
        services.join_queue(room=room, user=make_buyer(), now=now)
    result = advance_waiting_rooms.enqueue()
    assert result.return_value == 1
    assert backend.counters(room.pk, with_entries=True).watermark == 3
