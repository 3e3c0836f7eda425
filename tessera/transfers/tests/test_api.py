"""The transfer endpoints, one thin test each, plus the link shown once and bad input."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tessera.tickets.models import Ticket
from tessera.transfers.models import Transfer, TransferStatus
from tessera.transfers.tests.factories import make_transferable


def soon():
    """A session a month from the real clock: these pages read the clock themselves."""
    return timezone.now() + timedelta(days=30)


pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_send_by_link_shows_the_link_once_and_the_recipient_accepts_it():
    # given 王小明 and 李雷 signed in
    s = make_transferable(starts_at=soon())
    wang, li = client_for(s.buyer), client_for(s.friend)
    ticket = s.tickets[0]

    # when 王小明 makes a link with an idempotency key, and his client retries
    body = {"ticket": str(ticket.public_id), "channel": "link"}
    first = post(wang, "/api/v1/transfers", body, HTTP_IDEMPOTENCY_KEY="send-1")
    again = post(wang, "/api/v1/transfers", body, HTTP_IDEMPOTENCY_KEY="send-1")

    # then the first answer has the link, the replay the same transfer without it
    assert first.status_code == 201, first.content
    sent = first.json()
    assert sent["status"] == "pending" and sent["channel"] == "link"
    assert sent["link"].startswith("http://testserver/transfers/link/")
    assert again.status_code == 201
    assert again.json()["id"] == sent["id"] and again.json()["link"] is None
    assert Transfer.objects.count() == 1
    token = sent["link"].rstrip("/").rsplit("/", 1)[1]

    # when 李雷 accepts it with the name to print
    accepted = post(li, "/api/v1/transfers/accept-link", {"token": token, "holder_name": "李雷"})

    # then the ticket is his, and his ticket endpoint gives him the new credential
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["recipient_name"] == "李雷"
    mine = li.get(f"/api/v1/tickets/{ticket.public_id}").json()
    assert mine["version"] == 2 and mine["holder_name"] == "李雷" and mine["credential"]
    theirs = wang.get(f"/api/v1/tickets/{ticket.public_id}").json()
    assert theirs["credential"] is None

    # and each sees it in their list
    assert [t["id"] for t in wang.get("/api/v1/transfers?box=sent").json()] == [sent["id"]]
    assert [t["id"] for t in li.get("/api/v1/transfers").json()] == [sent["id"]]
    assert wang.get("/api/v1/transfers").json() == []


def test_accept_and_cancel_by_id():
    s = make_transferable(starts_at=soon())
    wang, li = client_for(s.buyer), client_for(s.friend)
    body = {
        "ticket": str(s.tickets[0].public_id),
        "channel": "email",
        "contact": "li.lei@example.com",
    }
    sent = post(wang, "/api/v1/transfers", body).json()
    assert sent["recipient_name"] == "李雷" and sent["link"] is None

    # the recipient cannot cancel; the sender can, and then it cannot be accepted
    not_his = post(li, f"/api/v1/transfers/{sent['id']}/cancel", {})
    assert not_his.status_code == 404
    assert not_his.json()["error"]["code"] == "transfer_not_found"
    cancelled = post(wang, f"/api/v1/transfers/{sent['id']}/cancel", {})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    refused = post(li, f"/api/v1/transfers/{sent['id']}/accept", {})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "transfer_not_open"

    # a second transfer, accepted by id
    body["ticket"] = str(s.tickets[1].public_id)
    sent = post(wang, "/api/v1/transfers", body).json()
    accepted = post(li, f"/api/v1/transfers/{sent['id']}/accept", {"holder_name": ""})
    assert accepted.status_code == 200 and accepted.json()["holder_name"] == "李雷"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"ticket": "not-a-uuid", "channel": "link"}, 422, "invalid_input"),
        ({"ticket": "{t}", "channel": "pigeon"}, 422, "invalid_input"),
        (
            {"ticket": "{t}", "channel": "email", "contact": "nobody@example.com"},
            422,
            "transfer_recipient_unknown",
        ),
        (
            {"ticket": "{t}", "channel": "phone", "contact": "138\u000000000001"},
            422,
            "invalid_input",  # refused before the view (core.inputguard)
        ),
        (
            {"ticket": "{t}", "channel": "email", "contact": "wang@example.com"},
            422,
            "transfer_to_self",
        ),
        ({"ticket": "{t}", "channel": "link", "extra": 1}, 422, "invalid_input"),
        (
            {"ticket": "00000000-0000-0000-0000-000000000000", "channel": "link"},
            404,
            "ticket_not_found",
        ),
    ],
)
def test_bad_sends_answer_a_clear_error_and_change_nothing(body, status, code):
    s = make_transferable(starts_at=soon())
    wang = client_for(s.buyer)
    body = {
        k: (v.replace("{t}", str(s.tickets[0].public_id)) if isinstance(v, str) else v)
        for k, v in body.items()
    }
    answer = post(wang, "/api/v1/transfers", body)
    assert answer.status_code == status, answer.content
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]
    assert Transfer.objects.count() == 0


def test_someone_elses_ticket_and_an_unknown_link_are_not_found():
    s = make_transferable(starts_at=soon())
    li = client_for(s.friend)
    answer = post(
        li, "/api/v1/transfers", {"ticket": str(s.tickets[0].public_id), "channel": "link"}
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "ticket_not_found"
    answer = post(li, "/api/v1/transfers/accept-link", {"token": "x" * 43})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "transfer_link_not_valid"
    assert Client().get("/api/v1/transfers").status_code == 401
    assert Ticket.objects.filter(holder__isnull=False).count() == 0


def test_errors_are_translated_for_a_chinese_client():
    s = make_transferable(starts_at=soon(), is_transferable=False)
    wang = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    wang.force_login(s.buyer)
    answer = post(
        wang, "/api/v1/transfers", {"ticket": str(s.tickets[0].public_id), "channel": "link"}
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["message"] == "本场次的票不可转赠。"
    assert TransferStatus.PENDING not in Transfer.objects.values_list("status", flat=True)


def test_the_recipient_declines_and_the_sender_may_send_again():
    s = make_transferable(starts_at=soon())
    wang, li = client_for(s.buyer), client_for(s.friend)
    body = {"ticket": str(s.tickets[0].public_id), "channel": "phone", "contact": "13900000002"}
    sent = post(wang, "/api/v1/transfers", body).json()

    # the sender cannot decline his own offer; the recipient can, twice with the same answer
    assert post(wang, f"/api/v1/transfers/{sent['id']}/decline", {}).status_code == 404
    declined = post(li, f"/api/v1/transfers/{sent['id']}/decline", {})
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    again = post(li, f"/api/v1/transfers/{sent['id']}/decline", {})
    assert again.status_code == 200 and again.json()["status"] == "declined"
    # then it cannot be accepted, the ticket is still the sender's, who may offer it again
    refused = post(li, f"/api/v1/transfers/{sent['id']}/accept", {})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "transfer_not_open"
    s.tickets[0].refresh_from_db()
    assert s.tickets[0].is_held_by(s.buyer) and s.tickets[0].version == 1
    assert post(wang, "/api/v1/transfers", body).status_code == 201
