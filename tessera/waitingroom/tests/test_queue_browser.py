"""A fan in a real Chromium: sign in → the buy button leads to the waiting room → join the
pre-queue and watch the countdown → admitted at opening → the buy page → places held."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from tessera.accounts.tests.factories import make_user
from tessera.inventory import services as inventory
from tessera.inventory.admission import cookie_name
from tessera.inventory.models import Hold
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.waitingroom import services
from tessera.waitingroom.tests.factories import make_room
from tessera.waitingroom.views import _strings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_join_the_pre_queue_get_admitted_at_opening_and_hold_places(
    live_server, page, artifacts_dir
):
    # given a session whose waiting room opens its sale 12 seconds from now
    now = timezone.now()
    sale = make_sale(sections=2, rows=3, seats_per_row=8)
    room = make_room(
        sale=sale,
        now=now,
        name="周杰伦演唱会开票",
        opens_in_minutes=0,
        rate_per_minute=6000,
    )
    room.opens_at = now + timedelta(seconds=12)
    room.save(update_fields=["opens_at"])
    make_user(username="fan", password="pass-word-42")
    event = sale.session.event

    # when the fan signs in and presses buy on the event page
    page.goto(f"{live_server.url}/accounts/login/?next=/events/{event.slug}/")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", "pass-word-42")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/events/{event.slug}/")
    page.click(f"a[href='/sessions/{sale.session.pk}/buy/']")

    # then they land in the waiting room and join the pre-queue
    page.wait_for_url(f"{live_server.url}/queue/{room.pk}/")
    page.click("#join-button")
    page.wait_for_selector("#queue-countdown:not([hidden])")
    clock = page.locator("#queue-clock")
    page.wait_for_function(
        "() => /^00:(0\\d|1[0-2])$/.test(document.getElementById('queue-clock').textContent)"
    )
    assert re.fullmatch(r"00:(0\d|1[0-2])", clock.inner_text())
    with translation.override("zh-hans"):  # the browser asks for Chinese
        expected = _strings()["prequeue"]
    assert page.locator("#queue-message").inner_text() == expected
    page.screenshot(path=artifacts_dir / "queue-prequeue.png", full_page=True)

    # when the sale opens they are admitted and sent to the buy page with a pass cookie
    page.wait_for_url(f"{live_server.url}/sessions/{sale.session.pk}/buy/", timeout=30_000)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookie_name(sale.session.pk) in cookies

    # and they can hold places
    # (the price zone form is there only without JavaScript: the map's best seats)
    page.wait_for_selector("#seatmap[data-ready='1']")
    page.select_option("#sm-best-zone", str(sale.zones["A"].pk))
    page.fill("#sm-best-qty", "2")
    page.click("#sm-propose")
    page.wait_for_selector(".sm-seat.is-proposed")
    page.click("#sm-hold")
    page.wait_for_selector("#countdown")
    hold = Hold.objects.get()
    assert hold.user.username == "fan"
    assert hold.units.count() == 2
    page.screenshot(path=artifacts_dir / "queue-checkout.png", full_page=True)


def test_a_fan_in_line_sees_place_wait_and_progress_then_the_sell_out(
    live_server, page, artifacts_dir
):
    # given an open sale letting in one fan a minute, with four fans already in line
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=4)
    room = make_room(sale=sale, now=now, opens_in_minutes=0, rate_per_minute=1)
    for _ in range(4):
        services.join_queue(room=room, user=make_buyer(), now=now)
    services.advance_room(room=room, now=now + timedelta(seconds=61))
    fan = make_user(username="fan", password="pass-word-42")

    # when the fan signs in and joins the line
    page.goto(f"{live_server.url}/accounts/login/?next=/queue/{room.pk}/")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", "pass-word-42")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/queue/{room.pk}/")
    page.click("#join-button")

    # then they see their place (5th; one fan admitted, three ahead), the wait and progress
    page.wait_for_selector("#queue-figures:not([hidden])")
    assert services.get_backend().entry_for(room.pk, fan.pk).position == 5
    assert page.locator("#queue-position").inner_text() == "5"
    assert page.locator("#queue-ahead").inner_text() == "3"
    with translation.override("zh-hans"):
        expected_wait = _strings()["minutes"].replace("%(n)s", "4")
    assert page.locator("#queue-wait").inner_text() == expected_wait
    assert page.locator("#queue-progress").get_attribute("aria-valuenow") == "20"
    page.screenshot(path=artifacts_dir / "queue-in-line.png", full_page=True)

    # when every place goes (blocked by the organizer), the page says so by itself
    inventory.block_units(
        session=sale.session,
        unit_ids=list(sale.units().values_list("id", flat=True)),
        reason="sold elsewhere",
        actor=None,
        now=timezone.now(),
    )
    page.wait_for_selector("#queue-soldout:not([hidden])", timeout=15_000)
    assert page.locator("#waitlist-button").get_attribute("href") == (
        f"/waitlist/sessions/{sale.session.pk}/"
    )
    assert page.locator("#queue-figures").is_hidden()
    page.screenshot(path=artifacts_dir / "queue-sold-out.png", full_page=True)
