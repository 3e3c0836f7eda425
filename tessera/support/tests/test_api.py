"""The help chat over HTTP, the hand-off to a person in the back office, the large text
switch: each fan sees only their own conversation; organizers only their own queue."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tessera.accounts.tests.factories import make_member, make_user
from tessera.aftersales.tests.factories import bought
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.support import services
from tessera.support.models import Conversation, Message, SupportPreference

pytestmark = pytest.mark.django_db(transaction=True)

ASK = "/api/v1/support/messages"


def post(client, url, body):
    return client.post(
        url, body, content_type="application/json", headers={"Accept-Language": "en"}
    )


def test_a_visitor_asks_and_the_bot_answers_from_the_help_centre(client):
    answered = post(client, ASK, {"text": "Is there parking at the stadium?"})
    assert answered.status_code == 200, answered.content
    body = answered.json()
    assert [m["sender"] for m in body["messages"]] == ["fan", "bot"]
    assert body["messages"][1]["body"].startswith("Most venues have paid parking")
    assert body["messages"][1]["links"] == [
        {"label": "Is there parking at the venue?", "url": "/help/#parking"}
    ]
    assert (body["status"], body["offers_person"]) == ("bot", False)

    # the same browser reads it; another browser cannot
    again = client.get(f"/api/v1/support/conversations/{body['id']}")
    assert again.json()["messages"][0]["body"] == "Is there parking at the stadium?"
    stranger = Client().get(f"/api/v1/support/conversations/{body['id']}")
    assert stranger.status_code == 404
    assert stranger.json()["error"]["code"] == "conversation_not_found"


@pytest.mark.parametrize(
    "payload",
    [
        {"text": ""},
        {"text": "\x00\x00"},
        {"text": "x" * 1001},
        {"text": 12},
        {"text": ["a"]},
        {"text": "hi", "organization": 10**30},
        {"text": "hi", "conversation": "not-a-uuid"},
        {"text": "hi", "extra": 1},
    ],
)
def test_bad_messages_are_refused_and_nothing_is_stored(client, payload):
    refused = post(client, ASK, payload)
    assert refused.status_code == 422, refused.content
    assert refused.json()["error"]["code"] in ("message_invalid", "invalid_input")
    assert Conversation.objects.count() == 0 and Message.objects.count() == 0


def test_a_signed_in_conversation_belongs_to_that_account_only(client):
    fan = make_buyer()
    other = make_buyer()
    client.force_login(fan)
    started = post(client, ASK, {"text": "我的票在哪里？"}).json()
    assert started["messages"][1]["body"].startswith("You have no tickets for upcoming sessions")
    intruder = Client()
    intruder.force_login(other)
    assert intruder.get(f"/api/v1/support/conversations/{started['id']}").status_code == 404
    taken = post(intruder, ASK, {"text": "hello", "conversation": started["id"]})
    assert taken.status_code == 404
    assert Message.objects.filter(conversation__public_id=started["id"]).count() == 2


def test_hand_off_to_the_organizers_queue_reply_notes_close_and_rating(client):
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=4, starts_at=now + timedelta(days=5))
    organization = sale.session.event.organization
    fan = make_buyer()
    order = bought(sale, fan, [1], now)
    services.set_preference(user=fan, needs_assistance=True, now=now)
    client.force_login(fan)

    started = post(client, ASK, {"text": f"Can I refund my order {order.number}?"}).json()
    assert started["messages"][1]["body"].startswith(f"{order.number}: ")
    conversation_id = started["id"]
    handed = post(client, f"/api/v1/support/conversations/{conversation_id}/escalate", {}).json()
    assert handed["status"] == "waiting"
    conversation = Conversation.objects.get(public_id=conversation_id)
    assert (conversation.organization_id, conversation.is_priority) == (organization.pk, True)

    # the organizer's agent sees it, with the fan's order beside the chat; another organizer not
    agent = make_member(organization=organization, is_staff=True)
    other_org_agent = make_member(
        organization=make_sale(sections=1, rows=1, seats_per_row=1).session.event.organization,
        is_staff=True,
    )
    inbox = Client()
    inbox.force_login(agent)
    listing = inbox.get("/admin/support/conversation/")
    assert str(conversation) in listing.content.decode()
    page = inbox.get(f"/admin/support/conversation/{conversation.pk}/change/")
    assert page.status_code == 200 and order.number in page.content.decode()
    outsider = Client()
    outsider.force_login(other_org_agent)
    assert str(conversation) not in outsider.get("/admin/support/conversation/").content.decode()
    assert outsider.get(f"/admin/support/conversation/{conversation.pk}/change/").status_code == 404

    inbox.post(
        f"/admin/support/conversation/{conversation.pk}/change/",
        {"action": "reply", "text": "Checking the order for you.", "is_note": "on"},
    )
    inbox.post(
        f"/admin/support/conversation/{conversation.pk}/change/",
        {"action": "reply", "text": "Yes, the fee is 10 %."},
    )
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.assigned_to == agent
    assert conversation.first_response_at is not None

    seen = client.get(f"/api/v1/support/conversations/{conversation_id}?after=0").json()
    bodies = [m["body"] for m in seen["messages"]]
    assert "Yes, the fee is 10 %." in bodies and "Checking the order for you." not in bodies
    # the fan's further message waits for the person: no bot answer
    waiting = post(client, ASK, {"text": "Thanks!", "conversation": conversation_id}).json()
    assert [m["sender"] for m in waiting["messages"]] == ["fan"]

    # the agent notes the fan's wish for elder-friendly help (already set here: no button)
    assert "The fan asked for elder-friendly help" not in page.content.decode()

    early = post(client, f"/api/v1/support/conversations/{conversation_id}/rating", {"rating": 5})
    assert early.status_code == 409
    inbox.post(f"/admin/support/conversation/{conversation.pk}/change/", {"action": "close"})
    closed = client.get(f"/api/v1/support/conversations/{conversation_id}").json()
    assert (closed["status"], closed["can_rate"]) == ("closed", True)
    bad = post(client, f"/api/v1/support/conversations/{conversation_id}/rating", {"rating": 6})
    assert bad.status_code == 422
    rated = post(client, f"/api/v1/support/conversations/{conversation_id}/rating", {"rating": 4})
    assert rated.json()["rating"] == 4
    twice = post(client, f"/api/v1/support/conversations/{conversation_id}/rating", {"rating": 1})
    assert twice.status_code == 409
    conversation.refresh_from_db()
    assert conversation.rating == 4

    metrics = inbox.get("/admin/support/conversation/metrics/")
    assert metrics.status_code == 200
    assert "4.0" in metrics.content.decode() or "4" in metrics.content.decode()


def test_the_large_text_switch_is_remembered_per_device_and_account(client):
    fan = make_user()
    client.force_login(fan)
    switched = client.post("/help/large-text/", {"on": "1", "next": "/help/"})
    assert switched.status_code == 302 and switched["Location"] == "/help/"
    assert switched.cookies["tessera_large_text"].value == "1"
    assert SupportPreference.objects.get(user=fan).large_text is True
    assert 'class="large-text"' in client.get("/help/").content.decode()

    # another device of the same account: no cookie yet, the account's choice applies
    other_device = Client()
    other_device.force_login(fan)
    assert 'class="large-text"' in other_device.get("/help/").content.decode()
    # a foreign "next" is not followed
    away = client.post("/help/large-text/", {"on": "0", "next": "https://evil.example/"})
    assert away["Location"] == "/"
    assert 'class="large-text"' not in client.get("/help/").content.decode()


def test_the_mode_is_suggested_to_an_account_that_asked_for_help(client):
    fan = make_user()
    client.force_login(fan)
    assert "large-text-suggestion" not in client.get("/help/").content.decode()
    client.post("/help/assistance/", {"wanted": "1", "next": "/help/"})
    assert "large-text-suggestion" in client.get("/help/").content.decode()


def test_the_help_centre_searches_in_chinese_and_english(client):
    page = client.get("/help/", {"q": "停车"}, headers={"Accept-Language": "zh-hans"})
    text = page.content.decode()
    assert "场馆有停车场吗？" in text
    english = client.get("/help/", {"q": "refund fee\x00"}).content.decode()
    assert "Results for" in english or "的搜索结果" in english or "结果" in english
