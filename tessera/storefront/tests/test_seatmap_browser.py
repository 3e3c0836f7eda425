"""The seat map of the buy page in a real Chromium: seats clicked on the map, best
available shown before it is taken, a standing quantity, a seat lost to another buyer, the
heat map and the phone layout."""

import re
from urllib.parse import urlsplit

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tessera.accounts.tests.factories import make_user
from tessera.inventory import demand
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHECKOUT = re.compile(r"/checkout/([0-9a-f-]{36})/$")


@pytest.fixture
def sale():
    return make_sale(sections=2, rows=3, seats_per_row=8, standing_capacity=50)


def sign_in_and_open_map(page, live_server, sale):
    make_user(username="fan", password="pass-word-42")
    buy = f"/sessions/{sale.session.pk}/buy/"
    page.goto(f"{live_server.url}/accounts/login/?next={buy}")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", "pass-word-42")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{buy}")
    page.wait_for_selector("#seatmap[data-ready='1']")


def zh(msgid: str, **values) -> str:
    """``msgid`` as the Chinese page shows it."""
    with translation.override("zh-hans"):
        return _(msgid) % values


def label(section: str, row: str, number: int) -> str:
    return zh("%(section)s · row %(row)s · seat %(seat)s", section=section, row=row, seat=number)


def seat(page, unit):
    return page.locator(f".sm-seat[data-unit='{unit.pk}']")


def held_unit_ids(hold_id) -> list[int]:
    return sorted(InventoryUnit.objects.filter(hold_id=hold_id).values_list("id", flat=True))


def api_calls(page) -> list[tuple[str, str, int]]:
    """(method, path, status) of every answer the page gets from now on."""
    calls: list[tuple[str, str, int]] = []
    page.on(
        "response",
        lambda r: calls.append((r.request.method, urlsplit(r.url).path, r.status)),
    )
    return calls


def test_two_adjacent_seats_clicked_on_the_map_are_held(live_server, page, sale, artifacts_dir):
    # given a fan on the buy page
    calls = api_calls(page)
    sign_in_and_open_map(page, live_server, sale)
    assert page.locator(".sm-section[data-section='S1']").get_attribute("data-level") == "many"
    page.screenshot(path=artifacts_dir / "seatmap-overview.png", full_page=True)

    # when they open section S1 and click seats B-4 and B-5
    page.click(".sm-section[data-section='S1']")
    b4, b5 = sale.seat_units("S1", "B", [4, 5])
    seat(page, b4).click()
    seat(page, b5).click()

    # then both are selected with the running total of two zone A prices
    assert seat(page, b4).get_attribute("aria-checked") == "true"
    assert page.locator("#sm-total").inner_text() == "¥760.00"
    assert page.locator(".sm-selected-seat").count() == 2
    page.screenshot(path=artifacts_dir / "seatmap-seats.png", full_page=True)

    # when they hold them
    page.click("#sm-hold")
    page.wait_for_url(CHECKOUT)

    # then the checkout page is that of a hold of exactly those two seats
    hold_id = CHECKOUT.search(page.url).group(1)
    assert held_unit_ids(hold_id) == sorted([b4.pk, b5.pk])
    assert Hold.objects.get(pk=hold_id).user.username == "fan"

    # and the map spoke only to the API's seat map endpoints
    api = f"/api/v1/sessions/{sale.session.pk}/seatmap/"
    s1 = sale.sections["S1"].pk
    seatmap_calls = [c for c in calls if "/seatmap/" in c[1]]
    assert {c[1] for c in seatmap_calls} == {
        api + "availability",
        api + f"sections/{s1}/seats",
        api + f"sections/{s1}/view",
        api + "hold",
    }
    assert ("GET", api + "availability", 200) in seatmap_calls
    assert ("POST", api + f"sections/{s1}/view", 204) in seatmap_calls
    assert ("POST", api + "hold", 201) in seatmap_calls


def test_best_available_is_shown_on_the_map_then_held(live_server, page, sale):
    # given the two best seats of zone B (row A, nearest the stage at x=500) and the fan
    sign_in_and_open_map(page, live_server, sale)
    best = sale.seat_units("S2", "A", [7, 8])

    # when they ask for the best 2 seats of zone B
    page.fill("#sm-best-qty", "2")
    page.select_option("#sm-best-zone", str(sale.zones["B"].pk))
    page.click("#sm-propose")

    # then the proposal is shown on the map and nothing is held yet
    page.wait_for_selector(".sm-seat.is-proposed")
    proposed = page.eval_on_selector_all(
        ".sm-seat.is-proposed", "els => els.map(e => Number(e.dataset.unit))"
    )
    assert sorted(proposed) == sorted(u.pk for u in best)
    seats = f"{label('S2', 'A', 7)}, {label('S2', 'A', 8)}"
    assert page.locator(".sm-proposal-text").inner_text() == zh(
        "Proposed: %(seats)s · %(total)s", seats=seats, total="¥560.00"
    )
    assert Hold.objects.count() == 0

    # when they accept, then exactly those seats are held
    page.click("#sm-accept")
    page.wait_for_url(CHECKOUT)
    assert held_unit_ids(CHECKOUT.search(page.url).group(1)) == sorted(u.pk for u in best)


def test_standing_places_through_the_quantity_picker(live_server, page, sale):
    sign_in_and_open_map(page, live_server, sale)

    page.click(".sm-section[data-section='GA']")
    page.fill("#sm-standing-qty", "3")
    page.click("#sm-standing-hold")
    page.wait_for_url(CHECKOUT)

    hold = Hold.objects.get(pk=CHECKOUT.search(page.url).group(1))
    assert hold.quantity == 3
    assert (
        list(InventoryUnit.objects.filter(hold=hold).values_list("section__code", "seat", "status"))
        == [("GA", None, UnitStatus.HELD)] * 3
    )


def test_a_seat_lost_to_another_buyer_is_explained_with_alternatives(
    live_server, page, sale, artifacts_dir
):
    # given a fan who selected C-4 and C-5 of S1
    sign_in_and_open_map(page, live_server, sale)
    page.click(".sm-section[data-section='S1']")
    c4, c5 = sale.seat_units("S1", "C", [4, 5])
    seat(page, c4).click()
    seat(page, c5).click()

    # when another buyer holds C-5 first (before the next poll) and the fan holds
    inventory.hold_units(
        session=sale.session, user=make_buyer(), unit_ids=[c5.pk], now=timezone.now()
    )
    page.click("#sm-hold")

    # then the page names the lost seat, marks it and offers the nearest blocks of two
    page.wait_for_selector("#sm-lost:not([hidden])")
    assert page.locator(".sm-lost-seats li").all_inner_texts() == [label("S1", "C", 5)]
    assert set(seat(page, c5).get_attribute("class").split()) == {"sm-seat", "is-held", "is-lost"}
    # the seat still free stays chosen; the lost one left the choice
    assert seat(page, c4).get_attribute("aria-checked") == "true"
    assert page.locator(".sm-selected-seat").count() == 1
    alternatives = page.locator(".sm-alternative")
    assert alternatives.count() == 3
    assert alternatives.first.inner_text() == zh(
        "Take %(seats)s · %(total)s",
        seats=f"{label('S1', 'B', 4)}, {label('S1', 'B', 5)}",  # right in front of C-5
        total="¥760.00",
    )
    assert page.locator(".sm-lost-message").inner_text() == zh(
        "Another buyer took %(seats)s before you. Choose again or take a suggestion.",
        seats=label("S1", "C", 5),
    )
    assert Hold.objects.filter(user__username="fan").count() == 0
    page.screenshot(path=artifacts_dir / "seatmap-lost.png", full_page=True)

    # when they take the first alternative, then it is held
    alternatives.first.click()
    page.wait_for_url(CHECKOUT)
    assert held_unit_ids(CHECKOUT.search(page.url).group(1)) == sorted(
        u.pk for u in sale.seat_units("S1", "B", [4, 5])
    )


def test_heat_map_shades_sections_by_demand(live_server, page, sale, artifacts_dir):
    # given S2 selling and looked at, S1 quiet
    now = timezone.now()
    inventory.hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=[u.pk for u in sale.seat_units("S2", "A", [1, 2, 3])],
        now=now,
    )
    demand.record_section_view(session=sale.session, section=sale.sections["S2"], now=now)
    sign_in_and_open_map(page, live_server, sale)

    page.check("#sm-heat")
    page.wait_for_selector("#seatmap[data-heat-ready='1']")

    assert page.locator(".sm-section[data-section='S2']").get_attribute("data-heat") == "1.00"
    assert page.locator(".sm-section[data-section='S1']").get_attribute("data-heat") == "0.00"
    page.screenshot(path=artifacts_dir / "seatmap-heat.png", full_page=True)


def test_phone_layout_fits_and_seats_can_be_tapped(live_server, phone_page, sale, artifacts_dir):
    page = phone_page
    sign_in_and_open_map(page, live_server, sale)

    # the map is as wide as the screen and the page does not scroll sideways
    box = page.locator("#sm-svg").bounding_box()
    assert box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.tap(".sm-section[data-section='S1'] polygon")
    a1 = sale.seat_unit("S1", "A", 1)
    seat(page, a1).tap()
    assert page.locator("#sm-total").inner_text() == "¥380.00"
    page.screenshot(path=artifacts_dir / "seatmap-phone.png", full_page=True)


@pytest.mark.parametrize(
    ("locale", "language", "width", "height"),
    [
        ("zh-CN", "zh-hans", 1366, 900),
        ("en-US", "en", 1366, 900),
        ("zh-CN", "zh-hans", 390, 844),
        ("en-US", "en", 390, 844),
    ],
)
def test_buy_page_with_the_map_in_both_languages_at_desktop_and_phone_width(
    live_server, browser, sale, artifacts_dir, locale, language, width, height
):
    # given a fan whose browser speaks ``language``, on a screen ``width`` pixels wide
    context = browser.new_context(
        locale=locale,
        viewport={"width": width, "height": height},
        is_mobile=width < 500,
        has_touch=width < 500,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in_and_open_map(page, live_server, sale)

        # when they open section S1 and choose seat A-2
        page.click(".sm-section[data-section='S1'] polygon")
        a2 = sale.seat_unit("S1", "A", 2)
        seat(page, a2).click()

        # then the map speaks their language, fits the screen and counts the price
        with translation.override(language):
            hold_text = _("Hold these seats")
            one_seat = _("1 seat selected")
            seat_label = _("%(section)s · row %(row)s · seat %(seat)s") % {
                "section": "S1",
                "row": "A",
                "seat": 2,
            }
        assert page.locator("#sm-hold").inner_text() == hold_text
        assert page.locator("#sm-count").inner_text() == one_seat
        assert page.locator(".sm-selected-seat span").inner_text() == f"{seat_label} · ¥380.00"
        assert page.locator("#sm-total").inner_text() == "¥380.00"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.locator("#sm-svg").bounding_box()["width"] <= width
        page.screenshot(path=artifacts_dir / f"seatmap-buy-{language}-{width}.png", full_page=True)
    finally:
        context.close()
