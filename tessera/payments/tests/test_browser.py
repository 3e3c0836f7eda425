"""The sandbox cashier's main path in a real Chromium: the buyer sees the amount and the QR
code, presses "pay", the gateway's callback reaches the shop over HTTP and the buyer is sent
back to the shop; the cashier link then shows the gateway's own result."""

import pytest
from django.utils import timezone

from tessera.orders.models import Order, OrderStatus
from tessera.payments.models import CallbackLog
from tessera.payments.services import start_payment
from tessera.payments.tests.conftest import make_purchase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_paying_at_the_sandbox_cashier(live_server, settings, page, artifacts_dir):
    # given an order awaiting payment and a sandbox payment whose callbacks go to this server
    settings.TESSERA_PUBLIC_URL = live_server.url
    now = timezone.now()
    purchase = make_purchase(now=now)
    payment = start_payment(order=purchase.order, provider="sandbox", user=purchase.buyer, now=now)

    # when the buyer opens the cashier
    page.goto(payment.cashier_url)

    # then it shows the amount, the order number and a QR code, on the gateway's own page
    assert page.get_by_test_id("amount").inner_text() == "¥760.00"
    assert page.get_by_test_id("order-number").inner_text() == purchase.order.number
    assert page.locator("svg.cashier-qr").bounding_box()["width"] >= 150
    assert page.locator(".site-header").count() == 0
    page.screenshot(path=artifacts_dir / "sandbox-cashier.png", full_page=True)

    # when they press "pay"
    page.locator("button[value=pay]").click()

    # then the gateway sends them back to the shop's order page (which asks a signed-out
    # buyer to sign in first), and the shop got the signed callback over HTTP
    order_path = f"/orders/{purchase.order.number}/"
    page.wait_for_url(f"{live_server.url}/accounts/login/?next={order_path}")
    order = Order.objects.get(pk=purchase.order.pk)
    assert order.status == OrderStatus.FULFILLED
    assert list(CallbackLog.objects.values_list("outcome", flat=True)) == ["applied"]

    # and the cashier link now shows the gateway's result instead of the buttons
    page.goto(payment.cashier_url)
    assert page.locator(".result.ok").inner_text() == "支付完成，正在通知商户。"
    assert page.locator("button[value=pay]").count() == 0
    assert page.get_by_test_id("reference").inner_text().startswith("SBX")
    page.screenshot(path=artifacts_dir / "sandbox-cashier-paid.png", full_page=True)
