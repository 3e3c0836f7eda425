"""Purchase limits in a real Chromium: the organizer's form in the back office (bad input
explained) and a fan refused on the buy page by the device limit, in zh-hans and en, at
1366 and 390 px wide."""

import pytest
from django.utils import timezone, translation

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member, make_user
from tessera.core.device import verify
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.limits import services as limits
from tessera.limits.models import PurchaseLimits
from tessera.limits.tests.factories import set_limits
from tessera.sale.choices import PlaceChoice
from tessera.sale.services import hold_places

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}
ALL = [("zh-hans", 1366), ("zh-hans", 390), ("en", 1366), ("en", 390)]


@pytest.fixture
def tab(browser):
    from conftest import watch_csp

    opened = []

    def open_tab(language: str, width: int):
        context = browser.new_context(
            locale=LOCALES[language],
            viewport={"width": width, "height": 900 if width > 500 else 844},
            is_mobile=width < 500,
            has_touch=width < 500,
        )
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


@pytest.mark.parametrize(("language", "width"), ALL)
def test_an_organizer_sets_limits_and_is_told_what_is_wrong(
    live_server, tab, artifacts_dir, language, width
):
    # given a manager of the organizer of an event on sale
    sale = make_sale(sections=1, rows=1, seats_per_row=6)
    manager = make_member(
        organization=sale.session.event.organization,
        role=Role.MANAGER,
        is_staff=True,
        password=PASSWORD,
    )
    page = tab(language, width)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", manager.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")

    # when they add the event's limits with a negative number per device
    page.goto(f"{live_server.url}/admin/limits/purchaselimits/add/")
    page.select_option("select[name=event]", str(sale.session.event.pk))
    page.fill("input[name=device_per_session]", "-2")
    page.fill("input[name=phone_per_session]", "4")
    page.evaluate("document.querySelector('input[name=device_per_session]').removeAttribute('min')")
    page.click("input[name=_save]")

    # then the form says what is wrong, in their language, and nothing is saved
    with translation.override(language):
        expected = translation.gettext(
            "Ensure this value is greater than or equal to %(limit_value)s."
        ) % {"limit_value": 0}
    assert expected in page.inner_text(".field-device_per_session")
    assert not PurchaseLimits.objects.exists()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(
        path=artifacts_dir / f"limits-admin-error-{language}-{width}.png", full_page=True
    )

    # when they correct it, then the limits are saved
    page.fill("input[name=device_per_session]", "2")
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/limits/purchaselimits/")
    row = PurchaseLimits.objects.get()
    assert (row.device_per_session, row.phone_per_session, row.is_limiting) == (2, 4, True)


@pytest.mark.parametrize(("language", "width"), ALL)
def test_a_fan_over_the_device_limit_is_told_which_limit_and_how_many_are_left(
    live_server, tab, artifacts_dir, language, width
):
    # given a session allowing 2 tickets per device, and a fan whose browser (device)
    # already held 2 places for another account
    sale = make_sale(sections=1, rows=2, seats_per_row=8, standing_capacity=20)
    set_limits(event=sale.session.event, device_per_session=2)
    make_user(username="fan", password=PASSWORD)
    page = tab(language, width)
    buy = f"/sessions/{sale.session.pk}/buy/"
    page.goto(f"{live_server.url}/accounts/login/?next={buy}")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{buy}")
    page.wait_for_selector("#seatmap[data-ready='1']")
    [cookie] = [c for c in page.context.cookies() if c["name"] == "tessera_device"]
    device = f"d:{verify(cookie['value'])}"
    hold_places(
        session=sale.session,
        user=make_buyer(),
        choice=PlaceChoice(zone_id=sale.zones["A"].pk, quantity=2),
        now=timezone.now(),
        buyer=limits.Buyer(device=device, address="192.0.2.1"),
    )

    # when the fan picks a standing place and holds it
    page.click(".sm-section[data-section='GA']")
    page.fill("#sm-standing-qty", "1")
    page.click("#sm-hold")

    # then the page says the device limit was hit and none are left; nothing is held
    with translation.override(language):
        message = translation.gettext(
            "At most %(limit)d tickets %(per)s for %(where)s; %(left)d left, you asked for "
            "%(requested)d."
        ) % {
            "limit": 2,
            "per": translation.gettext("per device"),
            "where": translation.gettext("this session"),
            "left": 0,
            "requested": 1,
        }
    page.wait_for_selector("#sm-notice[data-kind='error']")
    assert page.inner_text("#sm-notice") == message
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.locator("#sm-notice").scroll_into_view_if_needed()
    page.screenshot(path=artifacts_dir / f"limits-buy-device-{language}-{width}.png")


@pytest.mark.parametrize(("language", "width"), ALL)
def test_the_sandbox_cashier_lets_the_tester_pay_from_an_account(
    live_server, tab, artifacts_dir, language, width
):
    from tessera.sale.services import checkout
    from tessera.sandbox.models import SandboxTrade

    # given an order awaiting payment at the sandbox
    sale = make_sale(sections=1, rows=1, seats_per_row=6)
    bought = checkout(
        session_id=sale.session.pk,
        user=make_buyer(),
        choice=PlaceChoice(zone_id=sale.zones["A"].pk, quantity=1),
        provider="sandbox",
        now=timezone.now(),
    )
    parts = bought.payment.cashier_url.split("/pay/sandbox/", 1)
    page = tab(language, width)
    page.goto(f"{live_server.url}/pay/sandbox/{parts[1]}")

    # when the tester types a payer account
    with translation.override(language):
        label = translation.gettext("Pay from account (optional)")
    assert page.inner_text("label.payer").strip() == label
    page.fill("input[name=payer]", "fan-2088@sandbox")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=artifacts_dir / f"limits-cashier-payer-{language}-{width}.png")
    # (pressing pay, the trade and the signed callback naming the payer:
    # payments/tests/test_sandbox_payer.py; here the shop's return address is another origin)
    assert page.get_attribute("input[name=payer]", "maxlength") == "64"
    assert SandboxTrade.objects.count() == 0
