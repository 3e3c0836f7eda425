"""The ticket page's main path in a real Chromium (see the root conftest.py)."""

import pytest
from django.utils import translation

from tessera.accounts.tests.factories import make_user
from tessera.tickets import services
from tessera.tickets.selectors import list_order_tickets, summarize_ticket
from tessera.tickets.tests.factories import NOW, make_paid_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_buyer_signs_in_and_sees_the_ticket_with_a_scannable_qr(
    live_server, page, phone_page, artifacts_dir
):
    # given a buyer with one ticket for 李雷
    buyer = make_user(username="wang", password="pass-word-42", display_name="王小明")
    order = make_paid_order(seats=1, user=buyer, attendee_names=["李雷"])
    (ticket,) = services.issue_tickets(order=order, now=NOW)
    url = f"{live_server.url}/tickets/{ticket.public_id}/"

    # when they open the ticket, are sent to sign in, and sign in
    page.goto(url)
    page.fill("input[name=username]", "wang")
    page.fill("input[name=password]", "pass-word-42")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(url)

    # then the ticket shows its event, place, holder and a QR code of a usable size
    assert page.locator("h1").inner_text() == "星光演唱会"
    with translation.override("zh-hans"):
        place = summarize_ticket(list_order_tickets(order)[0]).place_text
    facts = dict(
        zip(
            page.locator(".fact dt").all_inner_texts(),
            page.locator(".fact dd").all_inner_texts(),
            strict=True,
        )
    )
    assert place in facts.values()
    assert "李雷" in facts.values()
    qr = page.locator("svg.ticket-qr")
    assert qr.get_attribute("viewBox") == "0 0 53 53"
    box = qr.bounding_box()
    assert box["width"] >= 260
    assert box["width"] == pytest.approx(box["height"], abs=1)
    page.screenshot(path=artifacts_dir / "ticket-desktop.png", full_page=True)

    # and on a phone the QR code fills most of the screen width
    phone_page.context.add_cookies(page.context.cookies())
    phone_page.goto(url)
    phone_box = phone_page.locator("svg.ticket-qr").bounding_box()
    assert 260 <= phone_box["width"] <= 390
    phone_page.screenshot(path=artifacts_dir / "ticket-phone.png", full_page=True)
