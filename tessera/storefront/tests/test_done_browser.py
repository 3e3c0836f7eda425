"""The done page in a real Chromium: the tickets' QR codes inline (readable by a QR decoder,
the very credential the gate checks), and for a session whose gates take only the live
code, no QR image and no PDF, and a note saying why."""

import base64

import pytest
from django.utils import timezone

from tessera.checkin.tests.factories import make_gates
from tessera.orders.models import Order, OrderStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"

DECODE = """async (png) => {
  const img = new Image();
  img.src = "data:image/png;base64," + png;
  await img.decode();
  const pad = 40, canvas = document.createElement("canvas");
  canvas.width = img.width + 2 * pad; canvas.height = img.height + 2 * pad;
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, canvas.width, canvas.height);
  g.drawImage(img, pad, pad);
  const found = jsQR(g.getImageData(0, 0, canvas.width, canvas.height).data,
                     canvas.width, canvas.height);
  return found ? found.data : null;
}"""


def open_order_page(browser, live_server, gates, *, locale: str, width: int):
    fan = gates.tickets[0].order_line.order.user
    fan.set_password(PASSWORD)
    fan.save()
    number = gates.tickets[0].order_line.order.number
    # the factory's order is paid with tickets issued: the sale's last step marks it so
    Order.objects.filter(number=number).update(
        status=OrderStatus.FULFILLED, fulfilled_at=timezone.now()
    )
    context = browser.new_context(
        locale=locale, viewport={"width": width, "height": 900}, device_scale_factor=1
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    path = f"/orders/{number}/"
    page.goto(f"{live_server.url}/accounts/login/?next={path}")
    page.fill("input[name=username]", fan.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{path}")
    return context, page, number


@pytest.mark.parametrize(
    ("locale", "width"), [("zh-CN", 390), ("zh-CN", 1366), ("en-US", 390), ("en-US", 1366)]
)
def test_the_done_page_shows_each_tickets_qr_code_inline(
    live_server, browser, artifacts_dir, locale, width
):
    # given a fulfilled order of two tickets for a session whose gates take static codes
    g = make_gates(tickets=2)
    context, page, _number = open_order_page(browser, live_server, g, locale=locale, width=width)
    try:
        # then each ticket shows its QR code on the page itself, next to its place
        codes = page.locator(".ticket-code-qr svg")
        assert codes.count() == 2
        assert page.locator("#pdf-link").is_visible()
        assert page.locator("#live-codes-only").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=artifacts_dir / f"order-done-{locale}-{width}.png", full_page=True)

        # and the first code reads as the first ticket's credential
        png = codes.first.screenshot()
        page.add_script_tag(url="/checkin/vendor/jsqr.js")
        assert page.evaluate(DECODE, base64.b64encode(png).decode()) == g.credentials[0]
    finally:
        context.close()


def test_a_live_code_only_session_offers_no_printable_code_and_says_so(
    live_server, browser, artifacts_dir
):
    # given a fulfilled order for a session whose gates take only the live rotating code
    g = make_gates(uses_rotating_codes=True, is_static_credential_allowed=False, tickets=2)
    context, page, number = open_order_page(browser, live_server, g, locale="en-US", width=390)
    try:
        # then the done page shows no static QR code and no PDF, and says why …
        assert page.locator(".ticket-code-qr").count() == 0
        assert page.locator("#pdf-link").count() == 0
        assert (
            page.locator("#live-codes-only")
            .inner_text()
            .startswith("This session admits only the live QR code")
        )
        page.screenshot(path=artifacts_dir / "order-done-live-only-en-US-390.png", full_page=True)
        # … each ticket links to its live code
        page.locator(".ticket-code a").first.click()
        page.wait_for_selector("#ticket-qr[data-from] svg")
        assert page.locator("#ticket-no-print").count() == 1
        # … and the static files are refused even when asked for directly
        pdf = context.request.get(f"{live_server.url}/tickets/order/{number}/pdf")
        assert pdf.status == 404
        qr = context.request.get(f"{live_server.url}/tickets/{g.tickets[0].public_id}/qr.svg")
        assert qr.status == 404
    finally:
        context.close()
