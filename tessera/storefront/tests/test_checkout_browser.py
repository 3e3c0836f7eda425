"""The stepwise checkout in a real Chromium: seats → attendees → payment → done, with the
progress bar and the hold's countdown on every step, going back keeping the names, the
sandbox cashier and its signed callback over HTTP, hold expiry and recovery, switching
language on a step."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from tessera.accounts.tests.factories import make_user
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_sale
from tessera.orders.models import Order, OrderStatus
from tessera.tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


def sign_in(page, live_server, username: str, next_path: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")


def current_step(page) -> str:
    return page.locator("#checkout-steps li[aria-current=step]").inner_text()


def zh(text: str) -> str:
    """``text`` as the Chinese pages show it (the catalog's translation, else the msgid)."""
    with translation.override("zh-hans"):
        return translation.gettext(text)


def assert_countdown_running(page) -> None:
    page.wait_for_function(
        "() => /^(0\\d|10):\\d\\d$/.test(document.querySelector('.countdown-clock').textContent)"
    )
    assert page.locator("#countdown").is_visible()


def attendee_values(page) -> list[str]:
    return page.locator("input[name^=attendee_]").evaluate_all("els => els.map(e => e.value)")


def expire(hold: Hold, *, seconds_from_now: float = -1) -> None:
    when = timezone.now() + timedelta(seconds=seconds_from_now)
    Hold.objects.filter(pk=hold.pk).update(expires_at=when)
    InventoryUnit.objects.filter(hold=hold).update(hold_expires_at=when)
    Order.objects.filter(hold=hold).update(expires_at=when)


def test_stepwise_checkout_with_progress_countdown_back_and_tickets(
    live_server, settings, page, artifacts_dir
):
    # given a session on sale and a fan with an account; gateway callbacks reach this server
    settings.TESSERA_PUBLIC_URL = live_server.url
    sale = make_sale(sections=2, rows=3, seats_per_row=8)
    make_user(username="fan", password=PASSWORD)
    event = sale.session.event
    sign_in(page, live_server, "fan", f"/events/{event.slug}/")

    # step 1, seats: the buy page holds the best two seats of zone A
    page.click(f"a[href='/sessions/{sale.session.pk}/buy/']")
    # (the price zone form is there only without JavaScript: the map's best seats)
    page.wait_for_selector("#seatmap[data-ready='1']")
    page.select_option("#sm-best-zone", str(sale.zones["A"].pk))
    page.fill("#sm-best-qty", "2")
    page.click("#sm-propose")
    page.wait_for_selector(".sm-seat.is-proposed")
    page.screenshot(path=artifacts_dir / "checkout-1-seats.png", full_page=True)
    page.click("#sm-hold")

    # step 2, attendees: the held places with prices and total, the countdown running
    page.wait_for_selector("#checkout-form")
    hold = Hold.objects.get()
    assert page.url == f"{live_server.url}/checkout/{hold.pk}/"
    assert current_step(page) == "观演人"
    assert page.locator("#checkout-steps li.done").count() == 1
    assert_countdown_running(page)
    assert page.locator(".place-row").count() == 2
    assert page.locator(".place-price").all_inner_texts() == ["¥380.00", "¥380.00"]
    assert page.locator("#order-total").inner_text() == "¥760.00"
    # the keyboard walks name → name → email → continue
    page.focus("#attendee_0")
    focus_order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        focus_order.append(page.evaluate("document.activeElement.id"))
    assert focus_order == ["attendee_1", "email", "next-button"]
    page.fill("#attendee_0", "王芳")
    page.fill("#attendee_1", "Li Lei")
    page.screenshot(path=artifacts_dir / "checkout-2-attendees.png", full_page=True)

    # step 3, payment: the order with the names, the configured methods, the countdown
    page.click("#next-button")
    page.wait_for_url(f"{live_server.url}/checkout/{hold.pk}/payment/")
    assert current_step(page) == "支付"
    assert_countdown_running(page)
    assert page.locator(".attendee-name").all_inner_texts() == ["王芳", "Li Lei"]
    assert page.locator("input[name=provider]:checked").get_attribute("value") == "sandbox"
    page.screenshot(path=artifacts_dir / "checkout-3-payment.png", full_page=True)

    # going back with the browser shows the names again …
    page.go_back()
    page.wait_for_selector("#checkout-form")
    assert attendee_values(page) == ["王芳", "Li Lei"]
    page.fill("#attendee_1", "韩梅梅")
    page.click("#next-button")
    page.wait_for_url(re.compile(r"/payment/$"))
    # … and so does the explicit Back link
    page.click("#back-link")
    page.wait_for_selector("#checkout-form")
    assert attendee_values(page) == ["王芳", "韩梅梅"]
    page.click("#next-button")
    page.wait_for_url(re.compile(r"/payment/$"))
    assert Order.objects.count() == 1

    # when they pay at the sandbox cashier
    page.click("#pay-button")
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    page.locator("button[value=pay]").click()

    # step 4, done: the gateway sends them back to the fulfilled order with two tickets, the
    # PDF and the calendar file
    order = Order.objects.get()
    page.wait_for_url(f"{live_server.url}/orders/{order.number}/")
    page.wait_for_selector("#pdf-link")
    assert current_step(page) == zh("Done")
    assert page.locator("#checkout-steps li.done").count() == 3
    assert order.status == OrderStatus.FULFILLED
    with translation.override("zh-hans"):
        assert page.locator("#order-status").inner_text() == order.get_status_display()
    assert page.locator(".ticket-links li").count() == 2
    assert list(order.lines.order_by("id").values_list("attendee_name", flat=True)) == [
        "王芳",
        "韩梅梅",
    ]
    assert InventoryUnit.objects.filter(status=UnitStatus.SOLD).count() == 2
    assert Ticket.objects.filter(order_line__order=order).count() == 2
    assert page.locator("#ics-link").get_attribute("href") == (
        f"/sessions/{sale.session.pk}/calendar.ics"
    )
    page.screenshot(path=artifacts_dir / "checkout-4-done.png", full_page=True)

    # and a ticket page shows its QR code
    page.locator(".ticket-links a").first.click()
    page.wait_for_selector("svg")
    page.screenshot(path=artifacts_dir / "checkout-ticket.png", full_page=True)


def test_hold_expiry_is_explained_and_the_fan_recovers_same_places_or_an_alternative(
    live_server, page, artifacts_dir
):
    # given a fan with two seats held who named the attendees and reached the payment step
    sale = make_sale(sections=1, rows=2, seats_per_row=6)
    fan = make_user(username="fan", password=PASSWORD)
    units = sale.seat_units("S1", "A", [3, 4])
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[u.id for u in units], now=timezone.now()
    )
    sign_in(page, live_server, "fan", f"/checkout/{hold.pk}/")
    page.fill("#attendee_0", "王芳")
    page.fill("#attendee_1", "Li Lei")
    page.click("#next-button")
    page.wait_for_url(re.compile(r"/payment/$"))

    # when the hold is about to run out, the countdown warns, then it expires on screen
    expire(hold, seconds_from_now=4)
    page.reload()
    page.wait_for_selector("#countdown[data-warning='1']")
    assert page.locator(".countdown-warning").inner_text() != ""
    page.screenshot(path=artifacts_dir / "checkout-warning.png", full_page=True)
    # then the page reloads itself and explains what happened, on the same step
    page.wait_for_selector("#hold-expired", timeout=20_000)
    assert page.url.endswith(f"/checkout/{hold.pk}/payment/")
    assert page.locator("#countdown").count() == 0
    assert page.locator("#pay-button").count() == 0
    assert page.locator("#hold-expired-title").inner_text() == zh("Your hold has expired")
    page.screenshot(path=artifacts_dir / "checkout-expired.png", full_page=True)

    # when the fan takes the places again: the very same seats, names kept
    page.click("#recover-button")
    page.wait_for_selector("#checkout-form")
    second = Hold.objects.exclude(pk=hold.pk).get()
    assert page.url == f"{live_server.url}/checkout/{second.pk}/"
    assert page.get_by_text(zh("You have the same places again.")).is_visible()
    assert attendee_values(page) == ["王芳", "Li Lei"]
    assert sorted(
        InventoryUnit.objects.filter(hold=second).values_list("seat__label", flat=True)
    ) == ["3", "4"]
    assert_countdown_running(page)

    # when it expires again and a rival takes seat A-4 meanwhile
    expire(second)
    rival = make_user()
    inventory.hold_units(
        session=sale.session, user=rival, unit_ids=[units[1].id], now=timezone.now()
    )
    page.reload()
    page.wait_for_selector("#hold-expired")
    page.click("#recover-button")

    # then the nearest alternative of the same size in the same zone is held and explained
    page.wait_for_selector("#checkout-form")
    third = Hold.objects.exclude(pk__in=[hold.pk, second.pk]).get(user=fan)
    assert page.url == f"{live_server.url}/checkout/{third.pk}/"
    assert page.locator(".notice-warning[role=status]").inner_text() == zh(
        "Your places were taken, so we held the nearest alternative: the same number "
        "of places in the same price zone. Please check them."
    )
    labels = sorted(
        InventoryUnit.objects.filter(hold=third).values_list("seat__row__label", "seat__label")
    )
    assert labels == [("A", "5"), ("A", "6")]
    assert attendee_values(page) == ["王芳", "Li Lei"]
    page.screenshot(path=artifacts_dir / "checkout-recovered.png", full_page=True)


def test_switching_language_on_a_step_keeps_the_step(live_server, page, phone_page, artifacts_dir):
    # given a fan on the payment step, in Chinese
    sale = make_sale(sections=1, rows=1, seats_per_row=4)
    fan = make_user(username="fan", password=PASSWORD)
    hold = inventory.hold_units(
        session=sale.session,
        user=fan,
        unit_ids=[sale.seat_unit("S1", "A", 1).id],
        now=timezone.now(),
    )
    sign_in(page, live_server, "fan", f"/checkout/{hold.pk}/")
    page.fill("#attendee_0", "王芳")
    # switching language on the attendees step keeps the step and the name just typed
    page.click(".lang-switch button[value=en]")
    page.wait_for_selector("#checkout-form")
    assert page.url == f"{live_server.url}/checkout/{hold.pk}/"
    assert page.locator("h1").inner_text() == "Check your places and name the attendees"
    assert attendee_values(page) == ["王芳"]
    page.click(".lang-switch button[value=zh-hans]")
    page.wait_for_selector("#checkout-form")
    page.click("#next-button")
    step = f"{live_server.url}/checkout/{hold.pk}/payment/"
    page.wait_for_url(step)
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert current_step(page) == "支付"
    assert page.locator("tfoot th").inner_text() == "合计"

    # when they switch to English
    page.click(".lang-switch button[value=en]")
    page.wait_for_load_state()

    # then the same step is shown in English, with the same order and the countdown
    assert page.url == step
    assert page.locator("html").get_attribute("lang") == "en"
    assert current_step(page) == "Payment"
    assert page.locator("tfoot th").inner_text() == "Total"
    assert page.locator("h1").inner_text() == "Pay for your places"
    assert page.locator(".attendee-name").all_inner_texts() == ["王芳"]
    assert_countdown_running(page)
    page.screenshot(path=artifacts_dir / "checkout-3-payment-en.png", full_page=True)

    # and back to Chinese
    page.click(".lang-switch button[value=zh-hans]")
    page.wait_for_load_state()
    assert page.url == step
    assert current_step(page) == "支付"

    # on a phone the step fits 390 px without sideways scrolling
    phone_page.context.add_cookies(page.context.cookies())
    phone_page.goto(f"{live_server.url}/checkout/{hold.pk}/")
    phone_page.wait_for_selector("#checkout-form")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone_page.locator("#next-button").is_visible()
    phone_page.screenshot(path=artifacts_dir / "checkout-2-attendees-phone.png", full_page=True)
