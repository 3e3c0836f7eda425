"""Real-name tickets in a real Chromium: a fan adds an attendee, buys a real-name ticket, and
a second account is refused a ticket for the same ID with a clear message; the gate scanner's
check-ID mode, offline. Screenshots at 1366 and 390 px, in Chinese and English."""

import json

import pytest
from django.utils import timezone, translation

from tessera.accounts.tests.factories import make_user
from tessera.checkin.models import Scan
from tessera.checkin.tests.factories import make_gates
from tessera.checkin.tests.test_browser import scan
from tessera.identities.models import Attendee, LineIdentity
from tessera.identities.tests.test_gate import NUMBERS, bind
from tessera.inventory import services as inventory
from tessera.inventory.tests.factories import make_sale
from tessera.orders.models import Order, OrderStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
NUMBER = NUMBERS[0]
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
LOCALES = {"zh": "zh-CN", "en": "en-US"}


def text(language: str, message: str, **values) -> str:
    with translation.override("zh-hans" if language == "zh" else "en"):
        return translation.gettext(message) % values if values else translation.gettext(message)


@pytest.fixture
def tab(browser, request):
    """A page per (language, size); closed afterwards, failing on any CSP violation."""
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
            page.goto("about:blank")  # no request of the page outlives the test's database
        context.close()
        assert not violations, f"Content-Security-Policy violations: {violations}"


def sign_in(page, live_server, username: str, next_path: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")


def add_attendee_from_checkout(page, name: str, number: str) -> None:
    page.click("#manage-attendees")
    page.wait_for_selector("#attendee-form")
    page.fill("#attendee-name", name)
    page.select_option("#attendee-doc-type", "resident_id")
    page.fill("#attendee-number", number)
    page.click("#add-attendee")
    page.wait_for_selector("#checkout-form")  # back to the checkout (``next``)


ALL = [("zh", "desktop"), ("zh", "phone"), ("en", "desktop"), ("en", "phone")]


@pytest.mark.parametrize(("language", "size"), ALL)
def test_a_fan_buys_a_real_name_ticket_and_a_second_one_for_the_same_id_is_refused(
    live_server, tab, artifacts_dir, language, size
):
    # given a real-name session and two fans
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=6, now=now)
    sale.session.real_name_required = True
    sale.session.save(update_fields=["real_name_required"])
    first, second = make_user(username="first"), make_user(username="second")
    units = [u.pk for u in sale.units()]
    hold = inventory.hold_units(session=sale.session, user=first, unit_ids=units[:1], now=now)
    page = tab(language, size)
    sign_in(page, live_server, "first", f"/checkout/{hold.pk}/")
    shot = f"realname-{language}-{size}"

    # when the first fan, without attendees yet, adds one from the checkout, with a typo first
    assert page.locator("#real-name-note").is_visible()
    page.click("#manage-attendees")
    page.fill("#attendee-name", "Li Lei")
    page.fill("#attendee-number", "110105194912310021")
    page.click("#add-attendee")
    assert page.inner_text("#attendee-error") == text(
        language, "The last character of this ID number does not match (check digit)."
    )
    assert page.input_value("#attendee-number") == ""  # never echoed back
    page.screenshot(path=artifacts_dir / f"{shot}-attendee-error.png", full_page=True)
    page.fill("#attendee-number", NUMBER.lower())
    page.click("#add-attendee")
    page.wait_for_selector("#checkout-form")
    assert Attendee.objects.filter(user=first).count() == 1

    # and chooses that attendee for the ticket and continues
    options = page.locator("#attendee_id_0 option").all_inner_texts()
    assert options[1] == "Li Lei · 1101**********002X"
    page.select_option("#attendee_id_0", index=1)
    page.screenshot(path=artifacts_dir / f"{shot}-checkout.png", full_page=True)
    page.click("#next-button")
    page.wait_for_url(f"{live_server.url}/checkout/{hold.pk}/payment/")

    # then the order names Li Lei with the masked number
    order = Order.objects.get(hold=hold)
    assert order.status == OrderStatus.PENDING_PAYMENT
    line = order.lines.get()
    assert (line.attendee_name, line.attendee_id_number) == ("Li Lei", "1101**********002X")
    assert LineIdentity.objects.get(line=line).masked == "1101**********002X"
    assert "1101**********002X" in page.inner_text("main")

    # when a second account adds the same person and tries to buy another ticket
    page.context.clear_cookies()
    second_hold = inventory.hold_units(
        session=sale.session, user=second, unit_ids=units[1:2], now=timezone.now()
    )
    sign_in(page, live_server, "second", f"/checkout/{second_hold.pk}/")
    add_attendee_from_checkout(page, "Li Lei", NUMBER)
    page.select_option("#attendee_id_0", index=1)
    page.click("#next-button")

    # then it is refused with a message saying who and which limit
    error = page.inner_text("#checkout-error")
    assert error == text(
        language,
        "%(name)s (%(number)s) already holds %(already)d of the %(limit)d tickets one "
        "person may have for this session.",
        name="Li Lei",
        number="1101**********002X",
        already=1,
        limit=1,
    )
    assert not Order.objects.filter(hold=second_hold).exists()
    page.screenshot(path=artifacts_dir / f"{shot}-refused.png", full_page=True)

    # and the attendee list shows the number masked only
    page.goto(f"{live_server.url}/account/attendees/")
    assert page.inner_text("#attendee-list .attendee-number") == "1101**********002X"
    assert NUMBER not in page.content()
    page.screenshot(path=artifacts_dir / f"{shot}-attendees.png", full_page=True)


@pytest.mark.parametrize(("language", "size"), ALL)
def test_the_scanner_checks_an_id_against_the_ticket_offline(
    live_server, tab, artifacts_dir, language, size
):
    # given a real-name session's tickets and a gate device with the names downloaded
    gates = make_gates(tickets=2, names=["王小明", "Li Lei"])
    first, _second = bind(gates)
    page = tab(language, size)
    page.goto(f"{live_server.url}/checkin/scanner/")
    page.fill("#token", gates.token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#setup:not([hidden])")
    page.check("#names")
    page.click("#load")
    page.wait_for_selector("#scan:not([hidden])")
    messages = json.loads(page.inner_text("#checkin-messages"))

    # when it scans the first ticket offline
    page.context.set_offline(True)
    assert scan(page, first) == "valid"

    # then it shows the holder and the masked number, and offers the ID check
    identity = messages["identity"] % {
        "doc": messages["doc_resident_id"],
        "number": "1101**********002X",
    }
    assert page.inner_text("#result-identity") == identity
    assert page.locator("#check-id").is_visible()

    # when the staff type another person's number, then it is refused
    page.fill("#id-number", NUMBERS[1])
    page.press("#id-number", "Enter")
    page.wait_for_selector("#id-result[data-reason=id_mismatch]")
    assert page.inner_text("#id-result") == messages["id_mismatch"]

    # and the holder's own number (lower case x, spaces) matches
    page.fill("#id-number", "110105 19491231 002x")
    page.press("#id-number", "Enter")
    page.wait_for_selector("#id-result[data-reason=id_match]")
    assert page.inner_text("#id-result") == messages["id_match"]
    page.screenshot(path=artifacts_dir / f"realname-scanner-{language}-{size}.png", full_page=True)

    # and back online, the offline scan syncs (no request is left running afterwards)
    page.context.set_offline(False)
    page.wait_for_selector("#notice[data-synced='1']")
    assert Scan.objects.get().reason == "valid"
