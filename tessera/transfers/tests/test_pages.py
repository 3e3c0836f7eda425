"""The transfer pages through Django's test client: send form, link shown once, the link's
page, my transfers, the entries on the order and account pages."""

import re
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


def client_for(user, lang="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    return client


def test_send_a_link_from_the_order_page_and_accept_it_on_the_link_page():
    # given 王小明's order page shows a "Transfer" entry per ticket
    s = make_transferable(starts_at=soon())
    wang, li = client_for(s.buyer), client_for(s.friend)
    ticket = s.tickets[0]
    order_page = wang.get(f"/orders/{s.order.number}/").content.decode()
    send_url = f"/transfers/tickets/{ticket.public_id}/send/"
    assert send_url in order_page

    # when he chooses the link on the send form
    form = wang.get(send_url)
    assert form.status_code == 200 and b"Send the ticket" in form.content
    made = wang.post(send_url, {"channel": "link"})

    # then the page shows the link once
    assert made.status_code == 200
    link = re.search(r'value="(http://testserver/transfers/link/[^"]+)"', made.content.decode())[1]
    path = link.removeprefix("http://testserver")
    assert link not in wang.get("/transfers/").content.decode()
    assert "Link sent" in wang.get(f"/orders/{s.order.number}/").content.decode()

    # when 李雷 opens it and accepts under another name
    landing = li.get(path)
    assert landing.status_code == 200 and "王小明 is giving you this ticket." in landing.text
    accepted = li.post(path, {"holder_name": "Li Lei"})

    # then he lands on the ticket with its new QR code; it is listed under his account
    assert accepted.status_code == 302
    assert accepted["Location"] == f"/tickets/{ticket.public_id}/"
    page = li.get(accepted["Location"]).content.decode()
    assert "The ticket is yours now. Here is its new QR code." in page
    assert "svg" in page and "Li Lei" in page
    assert str(ticket.public_id) in li.get("/orders/").content.decode()
    assert "Tickets transferred to me" in li.get("/orders/").content.decode()

    # and 王小明's ticket page says it went, without a QR code; his order page too
    mine = wang.get(f"/tickets/{ticket.public_id}/").content.decode()
    assert 'id="ticket-given-away"' in mine and 'id="ticket-qr"' not in mine
    assert wang.get(f"/tickets/{ticket.public_id}/qr.svg").status_code == 404
    assert "Transferred to Li Lei" not in wang.get(f"/orders/{s.order.number}/").text
    assert "Transferred to 李雷" in wang.get(f"/orders/{s.order.number}/").text

    # and the link cannot be used again
    third = li.get(path)
    assert "You have accepted this ticket." in third.text


def test_send_by_phone_then_the_recipient_accepts_from_my_transfers_and_sender_cancels():
    s = make_transferable(starts_at=soon())
    wang, li = client_for(s.buyer, "zh-hans"), client_for(s.friend, "zh-hans")
    first, second = s.tickets
    sent = wang.post(
        f"/transfers/tickets/{first.public_id}/send/",
        {"channel": "phone", "contact": "13900000002"},
    )
    assert sent.status_code == 302 and sent["Location"] == "/transfers/"
    assert "票已转赠给 李雷" in wang.get("/transfers/").text
    inbox = li.get("/transfers/").text
    assert "待我接受的票" in inbox and "接受这张票" in inbox
    transfer = Transfer.objects.get()
    answer = li.post(f"/transfers/{transfer.pk}/accept/", {"holder_name": ""})
    assert answer.status_code == 302
    first.refresh_from_db()
    assert (first.holder_id, first.holder_name, first.version) == (s.friend.pk, "李雷", 2)

    # the sender sends the second by email and cancels it from his order page
    wang.post(
        f"/transfers/tickets/{second.public_id}/send/",
        {"channel": "email", "contact": "li.lei@example.com"},
    )
    open_one = Transfer.objects.get(status=TransferStatus.PENDING)
    back = wang.post(f"/transfers/{open_one.pk}/cancel/", {"next": f"/orders/{s.order.number}/"})
    assert back["Location"] == f"/orders/{s.order.number}/"
    assert "转赠已取消：这张票仍然属于你。" in wang.get(back["Location"]).text
    open_one.refresh_from_db()
    assert open_one.status == TransferStatus.CANCELLED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"channel": "email", "contact": "nobody@example.com"}, "No account has this phone number"),
        (
            {"channel": "phone", "contact": "13800000001"},
            "You cannot transfer a ticket to yourself.",
        ),
        ({"channel": "phone", "contact": "1390000\x000002"}, "Enter a mobile phone number"),
        ({"channel": "owl"}, "Choose how to send the ticket"),
    ],
)
def test_bad_input_on_the_send_form_shows_the_error_and_changes_nothing(data, message):
    s = make_transferable(starts_at=soon())
    wang = client_for(s.buyer)
    answer = wang.post(f"/transfers/tickets/{s.tickets[0].public_id}/send/", data)
    assert answer.status_code == 422
    assert message in answer.text
    assert Transfer.objects.count() == 0


def test_pages_of_someone_elses_ticket_or_transfer_are_not_found():
    s = make_transferable(starts_at=soon())
    li = client_for(s.friend)
    ticket = s.tickets[0]
    assert li.get(f"/transfers/tickets/{ticket.public_id}/send/").status_code == 404
    assert (
        li.post(f"/transfers/tickets/{ticket.public_id}/send/", {"channel": "link"}).status_code
        == 404
    )
    assert li.get("/transfers/link/nonsense/").status_code == 404
    assert Client().get("/transfers/").status_code == 302
    assert Transfer.objects.count() == 0
    assert Ticket.objects.filter(holder__isnull=False).count() == 0


def test_the_recipient_declines_from_my_transfers_and_the_ticket_page_offers_a_transfer():
    s = make_transferable(starts_at=soon())
    wang, li = client_for(s.buyer, "zh-hans"), client_for(s.friend)
    first = s.tickets[0]
    # the ticket's own page offers the transfer
    page = wang.get(f"/tickets/{first.public_id}/").text
    assert 'id="ticket-transfer-button"' in page and "转赠这张票" in page
    wang.post(
        f"/transfers/tickets/{first.public_id}/send/",
        {"channel": "phone", "contact": "13900000002"},
    )
    # while it is on its way, the ticket page says so and offers to cancel
    page = wang.get(f"/tickets/{first.public_id}/").text
    assert 'id="ticket-transfer-open"' in page and 'id="ticket-transfer-button"' not in page
    # the recipient declines it
    transfer = Transfer.objects.get()
    assert "Decline" in li.get("/transfers/").text
    answer = li.post(f"/transfers/{transfer.pk}/decline/")
    assert answer.status_code == 302
    assert "Transfer declined" in li.get("/transfers/").text
    transfer.refresh_from_db()
    first.refresh_from_db()
    assert transfer.status == TransferStatus.DECLINED and first.is_held_by(s.buyer)
    # someone else cannot decline it
    assert wang.post(f"/transfers/{transfer.pk}/decline/").status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.DECLINED


def test_no_transfer_button_on_the_ticket_page_when_the_policy_allows_none():
    s = make_transferable(starts_at=soon(), is_transferable=False)
    page = client_for(s.buyer).get(f"/tickets/{s.tickets[0].public_id}/").text
    assert 'id="ticket-transfer"' not in page
