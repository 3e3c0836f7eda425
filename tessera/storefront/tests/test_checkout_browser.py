"""The whole minimal purchase flow in a real Chromium: sign in → event page → choose a zone
and quantity → held places with a countdown → attendees → the sandbox cashier → the signed
callback over HTTP → the order page with tickets."""

import re

import pytest
from django.utils import translation

from tessera.accounts.tests.factories import make_user
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_sale
from tessera.orders.models import Order, OrderStatus
from tessera.tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_buy_two_seats_pay_at_the_sandbox_and_get_tickets(
    live_server, settings, page, artifacts_dir
):
    # given a session on sale and a fan with an account; gateway callbacks reach this server
    settings.TESSERA_PUBLIC_URL = live_server.url
    sale = make_sale(sections=2, rows=3, seats_per_row=8)
    make_user(username="fan", password="pass-word-42")
    event = sale.session.event

    # when the fan signs in and opens the event page
    page.goto(f"{live_server.url}/accounts/login/?next=/events/{event.slug}/")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", "pass-word-42")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/events/{event.slug}/")
    # then a buy button leads to the choice of places
    page.click(f"a[href='/sessions/{sale.session.pk}/buy/']")
    page.check(f"input[name=zone][value='{sale.zones['A'].pk}']")
    page.check("input[name=mode][value=best]")
    page.fill("input[name=quantity]", "2")
    page.screenshot(path=artifacts_dir / "checkout-choose.png", full_page=True)
    page.click("#hold-button")

    # then the places are held with a running countdown
    page.wait_for_selector("#countdown")
    clock = page.locator(".countdown-clock")
    page.wait_for_function(
        "document.querySelector('.countdown-clock').textContent.match(/^(09|10):\\d\\d$/)"
    )
    assert re.fullmatch(r"(09|10):\d\d", clock.inner_text())
    assert page.locator(".place-row").count() == 2
    assert page.locator("#order-total").inner_text() == "¥760.00"
    page.fill("#attendee_0", "王芳")
    page.fill("#attendee_1", "Li Lei")
    page.screenshot(path=artifacts_dir / "checkout-attendees.png", full_page=True)

    # when they continue to payment and pay at the sandbox cashier
    page.click("#pay-button")
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    page.locator("button[value=pay]").click()
    page.wait_for_selector(".result.ok")
    page.click("a.back")

    # then the order page shows the fulfilled order with two tickets and the PDF
    page.wait_for_selector("#pdf-link")
    order = Order.objects.get()
    assert order.status == OrderStatus.FULFILLED
    with translation.override("zh-hans"):  # the browser asks for Chinese
        assert page.locator("#order-status").inner_text() == order.get_status_display()
    assert page.locator(".ticket-links li").count() == 2
    assert list(order.lines.order_by("id").values_list("attendee_name", flat=True)) == [
        "王芳",
        "Li Lei",
    ]
    assert InventoryUnit.objects.filter(status=UnitStatus.SOLD).count() == 2
    assert Ticket.objects.filter(order_line__order=order).count() == 2
    page.screenshot(path=artifacts_dir / "checkout-order.png", full_page=True)

    # and a ticket page shows its QR code
    page.locator(".ticket-links a").first.click()
    page.wait_for_selector("svg")
    page.screenshot(path=artifacts_dir / "checkout-ticket.png", full_page=True)
