"""A transfer between two accounts in a real Chromium, and the gate scanner that refuses the
old QR code after its next sync (see the root conftest.py and checkin's browser tests)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.checkin import services as checkin
from tessera.tickets.models import Ticket
from tessera.tickets.services import credential_for
from tessera.transfers.models import Transfer, TransferStatus
from tessera.transfers.tests.factories import make_transferable


def soon():
    """A session a month from the real clock: these pages read the clock themselves."""
    return timezone.now() + timedelta(days=30)


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


def sign_in(page, base: str, next_path: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}{next_path}")


def scan(page, code: str) -> str:
    """Type a code into the wedge input and press Enter, as a handheld scanner does."""
    n = page.evaluate("window.__scans = (window.__scans || 0) + 1")
    page.fill("#code", code)
    page.press("#code", "Enter")
    page.wait_for_function(
        "([n]) => document.getElementById('result').dataset.seq === String(n)", arg=[n]
    )
    return page.get_attribute("#result", "data-reason")


def test_a_ticket_sent_by_link_and_accepted_then_the_old_qr_is_refused_after_sync(
    live_server, browser, page, artifacts_dir
):
    # given 王小明's order of two tickets, 李雷's account, and a gate phone that has
    # downloaded the session for offline use
    s = make_transferable(starts_at=soon(), password=PASSWORD)
    ticket = s.tickets[0]
    old_code = credential_for(ticket=ticket)
    base = live_server.url
    _device, token = checkin.register_device(
        organization=s.session.event.organization, name="Gate phone", now=s.order.paid_at
    )
    gate = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    gate.set_default_timeout(15_000)
    scanner = gate.new_page()
    scanner.goto(f"{base}/checkin/scanner/")
    scanner.fill("#token", token)
    scanner.click("#signin-form button[type=submit]")
    scanner.wait_for_selector("#setup:not([hidden])")
    scanner.click("#load")
    scanner.wait_for_selector("#scan:not([hidden])")

    # when 王小明 opens his order, chooses "Transfer" on the first ticket and makes a link
    sign_in(page, base, f"/orders/{s.order.number}/", s.buyer.username)
    page.locator(f"#order-transfers li[data-ticket='{ticket.public_id}'] a").click()
    page.check("#channel-link")
    page.click("#send-button")
    link = page.input_value("#transfer-link")
    assert link.startswith(f"{base}/transfers/link/")
    page.screenshot(path=artifacts_dir / "transfer-link.png", full_page=True)

    # and 李雷, in his own browser, opens the link, signs in and accepts
    friend = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    friend.set_default_timeout(15_000)
    li = friend.new_page()
    li.goto(link)
    li.fill("input[name=username]", s.friend.username)
    li.fill("input[name=password]", PASSWORD)
    li.locator("main form button[type=submit]").click()
    li.wait_for_url(link)
    assert "王小明" in li.inner_text("main")
    li.click("#accept-button")
    li.wait_for_url(f"{base}/tickets/{ticket.public_id}/")

    # then 李雷 sees the ticket with a QR code in his name
    assert li.locator("svg.ticket-qr").count() == 1
    assert "李雷" in li.inner_text(".facts")
    li.screenshot(path=artifacts_dir / "transfer-accepted.png", full_page=True)
    ticket.refresh_from_db()
    assert (ticket.holder_id, ticket.version) == (s.friend.pk, 2)
    assert Transfer.objects.get().status == TransferStatus.ACCEPTED
    new_code = credential_for(ticket=Ticket.objects.get(pk=ticket.pk))

    # and 王小明's order page says where it went
    page.goto(f"{base}/orders/{s.order.number}/")
    assert "李雷" in page.inner_text("#order-transfers")

    # when the gate phone syncs, then goes offline
    scanner.evaluate("delete document.getElementById('notice').dataset.synced")
    scanner.click("#sync")
    scanner.wait_for_selector("#notice[data-synced='1']")
    gate.set_offline(True)

    # then the old QR code is refused and 李雷's new one admits him
    assert scan(scanner, old_code) == "revoked"
    assert scanner.get_attribute("#result", "class") == "scan-result scan-result-bad"
    scanner.screenshot(path=artifacts_dir / "transfer-old-code-refused.png", full_page=True)
    assert scan(scanner, new_code) == "valid"
    gate.close()
    friend.close()


@pytest.mark.parametrize(("language", "locale"), [("zh", "zh-CN"), ("en", "en-US")])
@pytest.mark.parametrize(("size", "width", "height"), [("desktop", 1366, 900), ("phone", 390, 844)])
def test_a_transfer_from_the_ticket_page_declined_by_the_recipient(
    live_server, browser, artifacts_dir, language, locale, size, width, height
):
    s = make_transferable(starts_at=soon(), password=PASSWORD)
    ticket = s.tickets[0]
    base = live_server.url
    name = f"{language}-{size}"
    contexts = []

    def open_page():
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    try:
        # 王小明 opens his ticket and sends it from there to 李雷's phone number
        wang = open_page()
        sign_in(wang, base, f"/tickets/{ticket.public_id}/", s.buyer.username)
        wang.screenshot(path=artifacts_dir / f"ticket-transfer-offer-{name}.png", full_page=True)
        wang.click("#ticket-transfer-button")
        wang.check("#channel-phone")
        wang.fill("#contact", "13900000002")
        wang.click("#send-button")
        wang.goto(f"{base}/tickets/{ticket.public_id}/")
        assert wang.locator("#ticket-transfer-open").is_visible()
        wang.screenshot(path=artifacts_dir / f"ticket-transfer-open-{name}.png", full_page=True)

        # 李雷 declines it in his transfers
        li = open_page()
        sign_in(li, base, "/transfers/", s.friend.username)
        li.screenshot(path=artifacts_dir / f"transfer-offer-inbox-{name}.png", full_page=True)
        li.click(".decline-button")
        li.wait_for_selector(".notice[role=status]")
        assert li.locator(".decline-button").count() == 0
        li.screenshot(path=artifacts_dir / f"transfer-declined-{name}.png", full_page=True)
        for tab in (wang, li):
            assert tab.evaluate("document.scrollingElement.scrollWidth") <= width

        # the ticket is still 王小明's, who may send it again
        transfer = Transfer.objects.get()
        assert transfer.status == TransferStatus.DECLINED
        wang.goto(f"{base}/tickets/{ticket.public_id}/")
        assert wang.locator("#ticket-transfer-button").is_visible()
        assert Ticket.objects.get(pk=ticket.pk).is_held_by(s.buyer)
    finally:
        for context in contexts:
            context.close()
