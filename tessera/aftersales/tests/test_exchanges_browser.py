"""The exchange pages in a real Chromium: from the order page a fan exchanges a ticket for a
dearer seat on another date, sees the quote, pays the difference at the sandbox cashier and
lands on the new order with the new ticket; the old ticket is revoked. Screenshots at
1366 and 390 px, in Chinese and English, go to the artifacts folder and /work/shots."""

import os
import re
from pathlib import Path

import pytest
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.aftersales.models import ExchangeRequest, ExchangeStatus
from tessera.aftersales.tests.exchange_factories import assert_invariants, make_two_dates
from tessera.aftersales.tests.factories import bought
from tessera.catalog.models import PriceZone
from tessera.orders.models import Order, OrderStatus
from tessera.tickets.models import Ticket, TicketStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
SHOTS = Path(os.environ.get("TESSERA_SHOTS_DIR", "/work/shots/exchanges"))


def shoot(page, artifacts_dir: Path, name: str) -> None:
    """The page at 1366 and 390 px wide, in its current language, then back to 1366."""
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for folder in (artifacts_dir, SHOTS if SHOTS.parent.exists() else None):
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=folder / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def in_english(page, live_server, artifacts_dir: Path, name: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.reload()
    shoot(page, artifacts_dir, f"{name}-en")
    page.context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": live_server.url}]
    )
    page.reload()


def test_a_fan_exchanges_to_another_date_and_pays_the_difference(
    live_server, settings, page, artifacts_dir
):
    # given a fan with a 380 ticket of the first date; the second date's zone A costs 480
    settings.TESSERA_PUBLIC_URL = live_server.url
    now = timezone.now()
    dates = make_two_dates(now)
    fan = make_user(username="fan", password=PASSWORD)
    order = bought(dates.first, fan, [1], now)
    old_ticket = Ticket.objects.get(order_line__order=order)
    page.goto(f"{live_server.url}/accounts/login/?next=/orders/{order.number}/")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/orders/{order.number}/")

    # when they open the exchange from the order page
    assert page.locator("#order-exchanges").is_visible()
    shoot(page, artifacts_dir, "exchange-0-order")
    page.click("#exchange-link")
    page.wait_for_selector("#exchange-form")
    zone = PriceZone.objects.get(session=dates.second, code="A")
    page.check(f"input[name=lines][value='{order.lines.get().pk}']")
    page.check(f"input[name=zone][value='{zone.pk}']")
    shoot(page, artifacts_dir, "exchange-1-choose")
    in_english(page, live_server, artifacts_dir, "exchange-1-choose")
    page.check(f"input[name=lines][value='{order.lines.get().pk}']")
    page.check(f"input[name=zone][value='{zone.pk}']")
    page.click("#hold-button")

    # then the quote explains the difference: 480 − 380 + 10 fee = 110 to pay
    page.wait_for_selector("#quote-table")
    assert page.locator("#quote-amount").inner_text() == "¥110.00"
    assert page.locator("#new-places li").count() == 1
    shoot(page, artifacts_dir, "exchange-2-quote")
    in_english(page, live_server, artifacts_dir, "exchange-2-quote")

    # when they confirm and pay at the sandbox cashier
    page.click("#confirm-button")
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    exchange = ExchangeRequest.objects.get()
    assert exchange.status == ExchangeStatus.AWAITING_PAYMENT
    assert Ticket.objects.get(pk=old_ticket.pk).status == TicketStatus.VALID
    page.locator("button[value=pay]").click()

    # then they land on the new order with the new ticket; the old one is revoked
    new_order = Order.objects.get(pk=exchange.new_order_id)
    page.wait_for_url(f"{live_server.url}/orders/{new_order.number}/")
    page.wait_for_selector("#pdf-link")
    exchange.refresh_from_db()
    assert exchange.status == ExchangeStatus.COMPLETED
    assert Order.objects.get(pk=new_order.pk).status == OrderStatus.FULFILLED
    assert Ticket.objects.get(pk=old_ticket.pk).status == TicketStatus.REVOKED
    assert Ticket.objects.get(order_line__order=new_order).session_id == dates.second.pk
    assert_invariants(order, new_order)

    # and the exchange's own page says it is done
    page.goto(f"{live_server.url}/exchanges/{exchange.pk}/")
    assert page.locator("#exchange-stage").inner_text() == "已改签"
    shoot(page, artifacts_dir, "exchange-3-done")
    in_english(page, live_server, artifacts_dir, "exchange-3-done")
    page.goto(f"{live_server.url}/orders/{order.number}/")
    shoot(page, artifacts_dir, "exchange-4-old-order")


def test_a_fan_picks_the_new_seat_of_an_exchange_on_the_seat_map(
    live_server, settings, page, artifacts_dir
):
    # given a fan with a 380 ticket of the first date
    settings.TESSERA_PUBLIC_URL = live_server.url
    now = timezone.now()
    dates = make_two_dates(now)
    fan = make_user(username="fan", password=PASSWORD)
    order = bought(dates.first, fan, [1], now)
    line = order.lines.get()
    page.goto(f"{live_server.url}/accounts/login/?next=/exchanges/orders/{order.number}/")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("#exchange-form")

    # when they choose the ticket and "pick the seats on the map" of the second date
    page.check(f"input[name=lines][value='{line.pk}']")
    page.click(f"button.map-button[value='map:{dates.second.pk}']")
    page.wait_for_selector("#sm-svg")
    assert "1" in page.locator("#exchange-map-lead").inner_text()
    shoot(page, artifacts_dir, "exchange-map")
    in_english(page, live_server, artifacts_dir, "exchange-map")

    # and click seat 4 of row A in section S1, then hold it
    page.click(".sm-section[data-section='S1']")
    unit = dates.unit(dates.second, "S1", 4)
    page.locator(f".sm-seat[data-unit='{unit.pk}']").click()
    page.click("#sm-hold")

    # then the quote is for exactly that seat: 480 − 380 + 10 fee = 110 to pay
    page.wait_for_selector("#quote-table")
    assert page.locator("#quote-amount").inner_text() == "¥110.00"
    unit.refresh_from_db()
    assert unit.hold.user_id == fan.pk
    assert f"lines={line.pk}" in page.url
