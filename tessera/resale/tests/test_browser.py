"""The resale pages in a real Chromium: a seller lists a ticket from the order page (a price
above the cap refused on the page), a fan finds "resale tickets" on the event page, buys the
ticket at the sandbox cashier and lands on their order with the new ticket; the seller's
ticket is revoked. Screenshots at 1366 and 390 px, in Chinese and English, go to the
artifacts folder."""

import re
from pathlib import Path

import pytest
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.orders.models import Order, OrderStatus
from tessera.resale.models import Listing, ListingStatus
from tessera.resale.tests.factories import make_resale
from tessera.tickets.models import Ticket, TicketStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


def shoot(page, artifacts_dir: Path, name: str) -> None:
    """The page at 1366 and 390 px wide, in its current language, then back to 1366."""
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts_dir / f"resale-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def both_languages(page, live_server, artifacts_dir: Path, name: str) -> None:
    shoot(page, artifacts_dir, f"{name}-zh")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.reload()
    shoot(page, artifacts_dir, f"{name}-en")
    page.context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": live_server.url}]
    )
    page.reload()


def sign_in(page, live_server, username: str, next_path: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")


def test_a_fan_buys_a_resale_ticket(live_server, settings, page, artifacts_dir):
    # given a seller with a paid ¥380 ticket; resale allowed up to 10 % above, 5 % fee
    settings.TESSERA_PUBLIC_URL = live_server.url
    now = timezone.now()
    r = make_resale(now, cap="10", fee="5")
    seller_user = r.seller
    seller_user.username = "seller"
    seller_user.set_password(PASSWORD)
    seller_user.save()
    make_user(username="fan", password=PASSWORD)
    ticket = r.tickets[0]

    # when the seller opens "sell on the official resale" from the order page
    sign_in(page, live_server, "seller", f"/orders/{r.order.number}/")
    assert page.locator("#order-resale").is_visible()
    page.locator(f"#order-resale li[data-ticket='{ticket.public_id}'] a.sell-resale").click()
    page.wait_for_selector("#resale-form")
    assert page.locator("#max-price").inner_text() == "418.00 CNY"
    both_languages(page, live_server, artifacts_dir, "1-sell")

    # and asks more than the cap: the page refuses it and lists nothing
    page.fill("#price", "500")
    page.click("#list-button")
    page.wait_for_selector("#resale-error")
    assert "418.00" in page.locator("#resale-error").inner_text()
    assert Listing.objects.count() == 0
    both_languages(page, live_server, artifacts_dir, "2-sell-refused")

    # then lists it at 400
    page.fill("#price", "400")
    page.click("#list-button")
    page.wait_for_selector("#my-listings")
    listing = Listing.objects.get()
    assert (listing.price, listing.status) == (400, ListingStatus.LISTED)
    both_languages(page, live_server, artifacts_dir, "3-mine")

    # when a fan finds the resale tickets on the event page
    page.context.clear_cookies()
    sign_in(page, live_server, "fan", f"/events/{r.sale.session.event.slug}/")
    link = page.locator(f"a.resale-link[data-session='{r.sale.session.pk}']").first
    assert "1" in link.inner_text()
    link.click()
    page.wait_for_selector("#resale-listings")
    both_languages(page, live_server, artifacts_dir, "4-session")

    # and buys it at the sandbox cashier
    page.locator(f"li[data-listing='{listing.pk}'] button.buy-resale").click()
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    page.locator("button[value=pay]").click()

    # then the fan lands on their order with the ticket; the seller's is revoked
    listing.refresh_from_db()
    order = Order.objects.get(pk=listing.buyer_order_id)
    page.wait_for_url(f"{live_server.url}/orders/{order.number}/")
    page.wait_for_selector("#pdf-link")
    assert listing.status == ListingStatus.SOLD
    assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLED
    assert Ticket.objects.get(order_line__order=order).unit_id == ticket.unit_id
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.REVOKED
    shoot(page, artifacts_dir, "5-bought-zh")

    # and the session's resale page is empty now
    page.goto(f"{live_server.url}/resale/sessions/{r.sale.session.pk}/")
    page.wait_for_selector("#no-resale")
    both_languages(page, live_server, artifacts_dir, "6-empty")


def test_the_back_office_lists_resale_per_event(live_server, settings, page, artifacts_dir):
    from tessera.inventory.tests.factories import make_buyer
    from tessera.resale import services
    from tessera.resale.tests.factories import buy

    now = timezone.now()
    r = make_resale(now, cap="10", fee="5")
    sold = services.list_ticket(
        ticket_public_id=r.tickets[0].public_id, user=r.seller, price="400", now=now
    )
    buy(sold, make_buyer(), now)
    services.list_ticket(
        ticket_public_id=r.tickets[1].public_id, user=r.seller, price="380", now=now
    )
    make_user(username="boss", password=PASSWORD, is_staff=True, is_superuser=True)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/resale/listing/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#resale-per-event")
    row = page.locator("#resale-per-event tbody tr").first.inner_text()
    assert "400.00" in row and "20.00" in row  # sales, fees
    both_languages(page, live_server, artifacts_dir, "7-admin")
