"""A fan refunds one of two tickets in a real Chromium: from the order page to the fee
explained, confirmed, and the request's stage back on the order page; desktop and phone,
Chinese and English."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_sale
from tessera.orders.models import LineStatus, OrderStatus
from tessera.tickets.models import Ticket, TicketStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


def sign_in(page, live_server, next_path):
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")


def test_a_fan_refunds_one_of_two_tickets_and_sees_the_fee_explained(
    live_server, page, phone_page, artifacts_dir
):
    # given a paid order of two ¥380 tickets, four days before the concert (10 % fee)
    now = timezone.now()
    fan = make_user(username="fan", password=PASSWORD)
    sale = make_sale(sections=1, rows=1, seats_per_row=4, starts_at=now + timedelta(days=4))
    catalog.set_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        refund_cutoff_hours=2,
        tiers=[(168, 0), (72, 10), (0, 20)],
        note="退款原路退回。",
    )
    order = bought(sale, fan, [1, 2], now)
    first, second = order.lines.order_by("pk")
    order_path = f"/orders/{order.number}/"

    # when the fan opens the order's refunds and exchanges, and asks to refund the first
    sign_in(page, live_server, order_path)
    page.click(".aftersales summary")
    assert "退款原路退回。" in page.locator(".policy-lines").inner_text()
    page.click("#refund-link")
    page.wait_for_selector("#refund-choose")
    page.screenshot(path=artifacts_dir / "refund-choose-zh.png", full_page=True)
    page.check(f"input[name=line][value='{first.pk}']")
    page.click("#quote-refund")

    # then the fee is shown with its reason before anything happens
    page.wait_for_selector("#refund-confirm")
    why = page.locator(".fee-why li").all_inner_texts()
    assert why == [
        "按退票规则，当前（开场前3天至7天）手续费为10 %。",
        "票价¥380.00，手续费¥38.00：退还您¥342.00。",
    ]
    assert page.inner_text("#quote-amount") == "¥342.00"
    page.screenshot(path=artifacts_dir / "refund-quote-zh.png", full_page=True)
    assert Ticket.objects.get(order_line=first).status == TicketStatus.VALID

    # when they confirm
    page.click("#confirm-refund")
    page.wait_for_url(f"{live_server.url}{order_path}")

    # then the order page says the money is on its way and lists the request, refunded
    assert page.locator(".refund-request").get_attribute("data-stage") == "refunded"
    assert "¥342.00" in page.inner_text("#refund-requests")
    page.screenshot(path=artifacts_dir / "refund-done-zh.png", full_page=True)
    order.refresh_from_db()
    first.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert first.status == LineStatus.REFUNDED
    assert Ticket.objects.get(order_line=first).status == TicketStatus.REVOKED
    assert Ticket.objects.get(order_line=second).status == TicketStatus.VALID
    assert InventoryUnit.objects.get(pk=first.unit_id).status == UnitStatus.AVAILABLE

    # on a phone, in English, the refund page of the remaining ticket fits 390 px
    phone_page.context.add_cookies(page.context.cookies())
    phone_page.context.add_cookies(
        [{"name": "django_language", "value": "en", "url": live_server.url}]
    )
    phone_page.goto(f"{live_server.url}/orders/{order.number}/refund/")
    phone_page.check(f"input[name=line][value='{second.pk}']")
    phone_page.click("#quote-refund")
    phone_page.wait_for_selector("#refund-confirm")
    assert phone_page.locator(".fee-why li").last.inner_text() == (
        "Fee ¥38.00 of ¥380.00: ¥342.00 goes back to you."
    )
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_page.screenshot(path=artifacts_dir / "refund-quote-phone-en.png", full_page=True)
    phone_page.goto(f"{live_server.url}{order_path}")
    phone_page.screenshot(path=artifacts_dir / "refund-order-phone-en.png", full_page=True)
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
