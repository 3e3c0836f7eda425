"""Verifying a phone with the sandbox's code, then buying, in a real Chromium; the 429 page.
Screenshots at 1366 and 390 px, in Chinese and English (test-artifacts/)."""

import re

import pytest
from django.utils import timezone, translation

from tessera.accounts.tests.factories import make_user
from tessera.inventory.tests.factories import make_sale
from tessera.notifications.models import SmsSandboxRecord
from tessera.orders.models import Order, OrderStatus
from tessera.ratelimit import verification
from tessera.ratelimit.models import VerifiedContact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
LOCALES = {"zh": "zh-CN", "en": "en-US"}
ALL = [("zh", "desktop"), ("zh", "phone"), ("en", "desktop"), ("en", "phone")]


def text(language: str, message: str, **values) -> str:
    with translation.override("zh-hans" if language == "zh" else "en"):
        return translation.gettext(message) % values if values else translation.gettext(message)


@pytest.fixture
def tab(browser):
    from conftest import watch_csp

    opened = []

    def open_tab(language: str, size: str):
        context = browser.new_context(locale=LOCALES[language], viewport=SIZES[size])
        context.set_default_timeout(15_000)
        page = context.new_page()
        opened.append((context, watch_csp(context, page)))
        return page

    yield open_tab
    for context, violations in opened:
        for page in context.pages:
            page.goto("about:blank")
        context.close()
        assert not violations, f"Content-Security-Policy violations: {violations}"


@pytest.mark.parametrize(("language", "size"), ALL)
def test_a_fan_verifies_a_phone_with_the_sandbox_code_then_buys(
    live_server, settings, tab, artifacts_dir, language, size
):
    # given a session that asks for a verified phone, and a fan with a phone on the account
    settings.TESSERA_PUBLIC_URL = live_server.url
    sale = make_sale(sections=1, rows=2, seats_per_row=8)
    verification.set_requirement(
        session=sale.session, requirement="phone", actor=None, now=timezone.now()
    )
    make_user(username="fan", password=PASSWORD, phone="13812345678")
    buy = f"/sessions/{sale.session.pk}/buy/"
    page = tab(language, size)
    shot = f"verify-{language}-{size}"

    # when the fan signs in on the way to the buy page
    page.goto(f"{live_server.url}/accounts/login/?next={buy}")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")

    # then the buy page sends them to verify, saying why
    page.wait_for_url(re.compile(r"/account/verify/\?next="))
    assert text(
        language, "This session asks buyers to verify a mobile phone before buying."
    ) in page.inner_text("main")
    assert page.input_value("#verify-address") == "13812345678"
    page.screenshot(path=artifacts_dir / f"{shot}-1-ask.png", full_page=True)

    # when they ask for a code, and first type a wrong one
    page.click("#send-code")
    page.wait_for_selector("#confirm-form")
    assert page.inner_text("#sent-to") == text(
        language, "We sent a code to %(sent_to)s.", sent_to="138****5678"
    )
    record = SmsSandboxRecord.objects.get(phone="13812345678")
    code = re.search(r"\b(\d{6})\b", record.text).group(1)
    page.fill("#verify-code", f"{(int(code) + 1) % 10**6:06d}")
    page.click("#confirm-code")
    page.wait_for_selector("#verify-error")
    assert page.inner_text("#verify-error") == text(
        language, "That code is not right. Check the latest code we sent and try again."
    )
    page.screenshot(path=artifacts_dir / f"{shot}-2-wrong.png", full_page=True)

    # and then the code the sandbox received
    page.fill("#verify-code", code)
    page.click("#confirm-code")

    # then they are back on the buy page, verified, and buy two seats
    page.wait_for_url(f"{live_server.url}{buy}")
    assert VerifiedContact.objects.filter(channel="phone", address="13812345678").exists()
    page.wait_for_selector("#seatmap[data-ready='1']")
    page.select_option("#sm-best-zone", str(sale.zones["A"].pk))
    page.fill("#sm-best-qty", "2")
    page.click("#sm-propose")
    page.wait_for_selector(".sm-seat.is-proposed")
    page.click("#sm-hold")
    page.wait_for_selector("#checkout-form")
    page.fill("#attendee_0", "王芳")
    page.fill("#attendee_1", "Li Lei")
    page.click("#next-button")
    page.wait_for_url(re.compile(r"/payment/$"))
    page.click("#pay-button")
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    page.locator("button[value=pay]").click()
    order = Order.objects.get(session=sale.session)
    page.wait_for_url(f"{live_server.url}/orders/{order.number}/")
    order.refresh_from_db()
    assert order.status in (OrderStatus.PAID, OrderStatus.FULFILLED)
    assert order.lines.count() == 2


@pytest.mark.parametrize(("language", "size"), ALL)
def test_the_429_page(live_server, settings, tab, artifacts_dir, language, size):
    # given a bucket of one sign-up a minute per address
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_BACKEND = "memory"
    settings.RATELIMITS = {"sign_up": {"ip": (1, 1)}}
    page = tab(language, size)
    page.goto(f"{live_server.url}/signup/")
    # when a form is sent twice within the minute (passwords that differ: the form again)
    for _ in range(2):
        page.fill("input[name=username]", "newfan")
        page.fill("input[name=email]", "newfan@example.com")
        page.fill("input[name=password1]", "a-long-pass-42")
        page.fill("input[name=password2]", "another-pass-42")
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
    # then the second answer is the 429 page, in the fan's language, with the wait
    page.wait_for_selector("#rate-limited-message")
    assert page.inner_text("h1") == text(language, "Too many requests")
    message = page.inner_text("#rate-limited-message")
    seconds = int(re.search(r"\d+", message).group())
    assert 50 <= seconds <= 60
    assert message == text(
        language,
        "Too many requests. Please wait %(seconds)s seconds and try again.",
        seconds=seconds,
    )
    page.screenshot(path=artifacts_dir / f"rate-limited-{language}-{size}.png", full_page=True)
