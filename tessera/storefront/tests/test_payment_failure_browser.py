"""A failed payment in a real Chromium: the sandbox cashier refuses, the order page says so
(found by a small status call, no reloading every 5 s), keeps the places and their countdown
and offers to pay again or to release the places, confirming what it did."""

import re

import pytest
from django.utils import timezone, translation

from tessera.accounts.tests.factories import make_user
from tessera.inventory import services as inventory
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_sale
from tessera.orders.models import Order, OrderStatus
from tessera.payments.models import Payment, PaymentStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


def text(message: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(message)


def fail_at_the_cashier(page, live_server, browser_language: str):
    """A fan with two seats held who names them, goes to the cashier and presses "fail";
    returns (sale, order) once the order page shows the failure."""
    sale = make_sale(sections=1, rows=2, seats_per_row=6)
    fan = make_user(username="fan", password=PASSWORD)
    units = sale.seat_units("S1", "A", [3, 4])
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[u.id for u in units], now=timezone.now()
    )
    page.goto(f"{live_server.url}/accounts/login/?next=/checkout/{hold.pk}/")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("#checkout-form")
    page.fill("#attendee_0", "王芳")
    page.fill("#attendee_1", "Li Lei")
    page.click("#next-button")
    page.wait_for_url(re.compile(r"/payment/$"))
    requests = []
    page.on("request", lambda r: requests.append(r))
    page.click("#pay-button")
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    page.locator("button[value=fail]").click()
    order = Order.objects.get()
    page.wait_for_url(f"{live_server.url}/orders/{order.number}/")
    # the failure arrives by the gateway's callback; the page finds it by itself
    page.wait_for_selector("#payment-failed", timeout=20_000)
    return sale, order, requests


@pytest.mark.parametrize(("locale", "language"), [("zh-CN", "zh-hans"), ("en-US", "en")])
def test_a_failed_payment_is_shown_with_the_places_held_and_paying_again_works(
    live_server, settings, browser, artifacts_dir, locale, language
):
    # given gateway callbacks reach this server and a fan whose browser speaks ``language``
    settings.TESSERA_PUBLIC_URL = live_server.url
    context = browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        # when the payment fails at the cashier
        _sale, order, requests = fail_at_the_cashier(page, live_server, language)

        # then the order page says so, keeps the two places with their countdown running …
        assert Payment.objects.get().status == PaymentStatus.FAILED
        assert (
            page.locator("#payment-failed")
            .inner_text()
            .startswith(text("The payment did not go through: nothing was charged.", language))
        )
        assert page.locator("#payment-waiting").count() == 0
        assert page.locator(".place-row").count() == 2
        page.wait_for_function(
            "() => /^(0\\d|1[0-5]):\\d\\d$/"
            ".test(document.querySelector('.countdown-clock').textContent)"
        )
        assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 2
        # … without a meta refresh: the status came from the JSON API
        assert page.locator("meta[http-equiv=refresh]").count() == 0
        for _ in range(80):  # the first check runs 2 s after the page loads
            if any(f"/api/v1/orders/{order.number}" in r.url for r in requests) and any(
                "/api/v1/payments/" in r.url for r in requests
            ):
                break
            page.wait_for_timeout(250)
        assert any(f"/api/v1/orders/{order.number}" in r.url for r in requests)
        assert any("/api/v1/payments/" in r.url for r in requests)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(
            path=artifacts_dir / f"order-payment-failed-{locale}-390.png", full_page=True
        )
        page.set_viewport_size({"width": 1366, "height": 900})
        page.screenshot(
            path=artifacts_dir / f"order-payment-failed-{locale}-1366.png", full_page=True
        )

        # when they pay again and this time pay
        page.click("#pay-again")
        page.wait_for_url(re.compile(r"/payment/$"))
        page.click("#pay-button")
        page.wait_for_url(re.compile(r"/pay/sandbox/"))
        page.locator("button[value=pay]").click()

        # then the order is fulfilled and its page shows the tickets
        page.wait_for_url(f"{live_server.url}/orders/{order.number}/")
        page.wait_for_selector("#done-notice", timeout=20_000)
        order.refresh_from_db()
        assert order.status == OrderStatus.FULFILLED
        assert list(Payment.objects.values_list("status", flat=True).order_by("created_at")) == [
            PaymentStatus.FAILED,
            PaymentStatus.SUCCEEDED,
        ]
        assert InventoryUnit.objects.filter(status=UnitStatus.SOLD).count() == 2
    finally:
        context.close()


def test_releasing_the_places_after_a_failed_payment_says_what_it_did(
    live_server, settings, page, artifacts_dir
):
    # given a fan whose payment failed
    settings.TESSERA_PUBLIC_URL = live_server.url
    _sale, order, _requests = fail_at_the_cashier(page, live_server, "zh-hans")

    # when they release the places
    page.click("#release-button")

    # then they are back on the order page, which confirms it, and the seats are free again
    page.wait_for_url(f"{live_server.url}/orders/{order.number}/")
    with translation.override("zh-hans"):
        expected = translation.gettext(
            "Your places were released and order %(number)s is cancelled; nothing was charged."
        ) % {"number": order.number}
    assert page.get_by_role("status").filter(has_text=expected).count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 0
    assert page.locator("#pay-again").count() == 0
    page.screenshot(path=artifacts_dir / "order-released.png", full_page=True)
