"""The seat map of the buy page in a real Chromium: seats clicked on the map, best
available shown before it is taken, a standing quantity, a seat lost to another buyer, the
heat map and the phone layout."""

import re
from urllib.parse import urlsplit

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tessera.accounts.tests.factories import make_user
from tessera.inventory import demand, seatmap
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


def test_a_best_available_proposal_replaces_the_manual_pick_with_one_hold_button(
    live_server, page, sale
):
    # given the two best seats of zone B (row A, nearest the stage at x=500) and a fan who
    # picked seat C-1 of S1 by hand
    sign_in_and_open_map(page, live_server, sale)
    best = sale.seat_units("S2", "A", [7, 8])
    page.click(".sm-section[data-section='S1']")
    picked = sale.seat_unit("S1", "C", 1)
    seat(page, picked).click()
    assert page.locator("#sm-count").inner_text() == zh("1 seat selected")

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
    # and the proposal is now the choice: the hand-picked seat left it, the bar counts the
    # two proposed seats, and the bar's button is the one primary button (no second one)
    assert page.locator(".sm-selected-seat").count() == 2
    assert page.locator("#sm-count").inner_text() == zh("%(n)s seats selected", n=2)
    assert page.locator("#sm-total").inner_text() == "¥560.00"
    assert page.locator("#sm-accept").count() == 0
    assert page.locator(".button-primary:visible").count() == 1
    assert page.locator("#sm-hold").is_enabled()
    assert page.locator(".sm-proposal-hint").inner_text() == zh(
        "These seats are now your choice: hold them below, or tap seats to change."
    )

    # when they hold, then exactly the proposed seats are held
    page.click("#sm-hold")
    page.wait_for_url(CHECKOUT)
    assert held_unit_ids(CHECKOUT.search(page.url).group(1)) == sorted(u.pk for u in best)


def test_standing_places_through_the_quantity_picker(live_server, page, sale):
    sign_in_and_open_map(page, live_server, sale)

    page.click(".sm-section[data-section='GA']")
    page.fill("#sm-standing-qty", "3")

    # the bar counts the standing places and holds them with the same one button
    assert page.locator("#sm-count").inner_text() == zh(
        "%(section)s · %(n)s places", section=sale.sections["GA"].name, n=3
    )
    assert page.locator("#sm-total").inner_text() == "¥540.00"
    assert page.locator("#sm-hold").inner_text() == zh("Hold these places")
    assert page.locator(".button-primary:visible").count() == 1
    page.click("#sm-hold")
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

    # three places and one view in a quiet sale: warmer than S1, far from hot
    # ((3/20 + 1/20) / 2, see inventory.demand)
    assert page.locator(".sm-section[data-section='S2']").get_attribute("data-heat") == "0.10"
    assert page.locator(".sm-section[data-section='S1']").get_attribute("data-heat") == "0.00"
    page.screenshot(path=artifacts_dir / "seatmap-heat.png", full_page=True)

    # when they open S2, the heat stays visible around and behind its seats
    page.click(".sm-section[data-section='S2'] polygon")
    page.wait_for_selector(".sm-seat")
    shape = page.locator(".sm-section[data-section='S2'] .sm-section-shape")
    assert shape.get_attribute("fill").startswith("hsl(")
    assert float(shape.evaluate("e => getComputedStyle(e).opacity")) >= 0.6
    assert page.locator("#sm-legend [data-legend='heat']").is_visible()


def in_viewport(page, selector) -> bool:
    box = page.locator(selector).bounding_box()
    view = page.viewport_size
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= view["height"] + 0.5
        and box["x"] >= 0
        and box["x"] + box["width"] <= view["width"] + 0.5
    )


def test_phone_layout_a_sticky_bar_a_full_width_map_and_seats_big_enough_to_tap(
    live_server, phone_page, sale, artifacts_dir
):
    page = phone_page
    sign_in_and_open_map(page, live_server, sale)

    # the map is as wide as the screen and the page does not scroll sideways
    box = page.locator("#sm-svg").bounding_box()
    assert (round(box["x"]), round(box["width"])) == (0, 390)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # the step bar is on one line
    tops = page.eval_on_selector_all(
        "#checkout-steps li", "els => els.map(e => Math.round(e.getBoundingClientRect().top))"
    )
    assert len(tops) == 4 and len(set(tops)) == 1
    # the hold bar is on screen from the start, its button disabled and saying why
    assert in_viewport(page, "#sm-bar")
    assert page.locator("#sm-hold").is_disabled()
    assert page.locator("#sm-hold-reason").inner_text() == zh(
        "Choose seats on the map or ask for the best seats first."
    )

    # when they tap section S1 and two seats
    page.tap(".sm-section[data-section='S1'] polygon")
    a1, a2 = sale.seat_units("S1", "A", [1, 2])
    page.wait_for_selector(f".sm-seat[data-unit='{a1.pk}']")
    # seats are at least 24 px wide once the section is open
    seat_box = seat(page, a1).bounding_box()
    assert seat_box["width"] >= 24 and seat_box["height"] >= 24
    seat(page, a1).tap()
    seat(page, a2).tap()

    # then the bar shows the count and the total and the button is enabled
    assert page.locator("#sm-count").inner_text() == zh("%(n)s seats selected", n=2)
    assert page.locator("#sm-total").inner_text() == "¥760.00"
    assert page.locator("#sm-hold").is_enabled()
    assert page.locator("#sm-hold-reason").is_hidden()
    # and it stays on screen wherever the page is scrolled
    for where in ("0", "document.body.scrollHeight / 2", "document.body.scrollHeight"):
        page.evaluate(f"window.scrollTo(0, {where})")
        assert in_viewport(page, "#sm-bar"), where
        assert in_viewport(page, "#sm-hold"), where
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=artifacts_dir / "seatmap-phone.png")

    # when they hold from the bar, the checkout is for those seats
    page.tap("#sm-hold")
    page.wait_for_url(CHECKOUT)
    assert held_unit_ids(CHECKOUT.search(page.url).group(1)) == sorted([a1.pk, a2.pk])


def test_the_hold_button_looks_disabled_and_says_why(live_server, page, sale):
    # given a session that is not on sale any more
    sale.session.on_sale_until = timezone.now() - timezone.timedelta(minutes=1)
    sale.session.save(update_fields=["on_sale_until"])
    sign_in_and_open_map(page, live_server, sale)

    # when the fan picks a seat anyway
    page.click(".sm-section[data-section='S1'] polygon")
    seat(page, sale.seat_unit("S1", "A", 1)).click()

    # then the button stays disabled, grey, and names the reason next to it
    button = page.locator("#sm-hold")
    assert button.is_disabled()
    assert button.get_attribute("aria-describedby") == "sm-hold-reason"
    assert page.locator("#sm-hold-reason").inner_text() == zh(
        "This session is not on sale right now."
    )
    style = button.evaluate(
        "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).cursor]"
    )
    assert style == ["rgb(229, 231, 235)", "not-allowed"]


def test_the_legend_shows_exactly_what_the_map_draws(live_server, page, sale):
    # given S1 with one seat held by another buyer and one taken off sale
    now = timezone.now()
    held = sale.seat_unit("S1", "B", 1)
    inventory.hold_units(session=sale.session, user=make_buyer(), unit_ids=[held.pk], now=now)
    sold = sale.seat_unit("S1", "B", 2)
    InventoryUnit.objects.filter(pk=sold.pk).update(status=UnitStatus.BLOCKED)
    seatmap.bump_version(sale.session.pk)
    sign_in_and_open_map(page, live_server, sale)

    # then the overview's legend names the zones whose colours the sections wear
    visible = page.eval_on_selector_all(
        "#sm-legend li", "els => els.filter(e => e.offsetParent).map(e => e.dataset.legend)"
    )
    assert visible == ["zone"] * 3 + ["few", "sold-out"]
    zone_colours = page.eval_on_selector_all(
        "#sm-legend [data-legend='zone'] .swatch",
        "els => els.map(e => getComputedStyle(e).backgroundColor)",
    )
    section_fills = page.eval_on_selector_all(
        ".sm-section[data-zone]:not([data-zone='']) .sm-section-shape",
        "els => els.map(e => getComputedStyle(e).fill)",
    )
    assert set(section_fills) <= set(zone_colours)

    # when they open S1 and pick a seat
    page.click(".sm-section[data-section='S1'] polygon")
    mine = sale.seat_unit("S1", "A", 1)
    seat(page, mine).click()

    # then the legend lists the seat states, each in the colour the seats are drawn with
    visible = page.eval_on_selector_all(
        "#sm-legend li", "els => els.filter(e => e.offsetParent).map(e => e.dataset.legend)"
    )
    assert visible == ["free", "selected", "held", "sold", "accessible", "restricted"]

    def legend(name):
        return page.locator(f"#sm-legend [data-legend='{name}'] .sm-dot").evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )

    def drawn(unit):
        return seat(page, unit).evaluate("e => getComputedStyle(e).fill")

    free = sale.seat_unit("S1", "C", 3)
    assert drawn(free) == legend("free")
    assert drawn(mine) == legend("selected")
    assert drawn(held) == legend("held")
    assert drawn(sold) == legend("sold")
    assert set(seat(page, held).get_attribute("class").split()) >= {"is-held"}
    assert set(seat(page, sold).get_attribute("class").split()) >= {"is-closed"}


def test_sections_tell_price_and_places_left_and_the_seat_view_rows_and_stage(
    live_server, page, sale
):
    sign_in_and_open_map(page, live_server, sale)

    # when the fan points at section S1
    page.hover(".sm-section[data-section='S1'] polygon")

    # then a tooltip names it with its zone, price and places left
    tip = page.locator("#sm-tip")
    assert tip.is_visible()
    assert tip.locator("strong, span").all_inner_texts() == [
        "1区",
        zh("%(zone)s · %(price)s", zone="A区", price="¥380.00"),
        zh("%(n)s left", n=24),
    ]

    # when they open it, the rows are numbered at both ends and the stage's side is shown
    page.click(".sm-section[data-section='S1'] polygon")
    page.wait_for_selector(".sm-row-label")
    assert tip.is_hidden()
    labels = page.locator(".sm-row-label").all_text_contents()
    assert labels == ["A", "A", "B", "B", "C", "C"]
    direction = page.locator("#sm-direction")
    assert direction.is_visible()
    assert page.locator("#sm-direction-text").inner_text() == zh("%(place)s this way", place="舞台")
    # the stage is at the top middle of the plan, S1 left of it: the arrow points up and to
    # the right (0° is up, 90° right)
    assert 0 < int(direction.get_attribute("data-degrees")) < 90


def test_the_price_zone_form_is_there_only_without_javascript(live_server, browser, page, sale):
    # with JavaScript: the map, and no second way to choose
    sign_in_and_open_map(page, live_server, sale)
    assert page.locator("#hold-button").count() == 0
    assert page.locator("input[name=zone]").count() == 0

    # without JavaScript: the form, and none of the map's controls
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    context.set_default_timeout(15_000)
    try:
        plain = context.new_page()
        buy = f"/sessions/{sale.session.pk}/buy/"
        plain.goto(f"{live_server.url}/accounts/login/?next={buy}")
        plain.fill("input[name=username]", "fan")
        plain.fill("input[name=password]", "pass-word-42")
        plain.click("main form button[type=submit]")
        plain.wait_for_url(f"{live_server.url}{buy}")
        assert plain.locator("#hold-button").is_visible()
        assert plain.locator("#sm-hold").is_hidden()
        assert plain.locator("#sm-best").is_hidden()
        plain.check(f"input[name=zone][value='{sale.zones['A'].pk}']")
        plain.check("input[name=mode][value=best]")
        plain.fill("input[name=quantity]", "2")
        plain.click("#hold-button")
        plain.wait_for_url(CHECKOUT)
        assert len(held_unit_ids(CHECKOUT.search(plain.url).group(1))) == 2
    finally:
        context.close()


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
