"""The allocation pages in a real Chromium: an organizer allocates through the form and opens
the seat map coloured by channel; a distributor sells from its allocation and sees the
tickets. Screenshots of every page at 1366 and 390 pixels in Chinese and English
(``TESSERA_SHOTS_DIR``, else the test artifacts)."""

import os
import re
from pathlib import Path

import pytest
from django.utils import timezone

from tessera.accounts.models import OrganizationKind
from tessera.accounts.tests.factories import make_organization
from tessera.allocations import services
from tessera.allocations.models import Allocation, AllocationKind
from tessera.allocations.tests.factories import PASSWORD, make_distributor, member
from tessera.catalog.tests.factories import make_event
from tessera.inventory import services as inventory
from tessera.inventory.models import InventoryUnit
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.sale import channels
from tessera.sale.choices import PlaceChoice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = (1366, 390)
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.table-wrap'))
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ':' +
  Math.round(e.getBoundingClientRect().right))"""


@pytest.fixture
def shots(artifacts_dir) -> Path:
    folder = Path(os.environ.get("TESSERA_SHOTS_DIR") or artifacts_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page, base: str, next_path: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(next_path.split("?")[0])))


def speak(page, lang: str) -> None:
    """The site's language cookie, as its language switch sets it."""
    url = re.match(r"https?://[^/]+", page.url).group(0)
    value = "en" if lang == "en" else "zh-hans"
    page.context.add_cookies([{"name": "django_language", "value": value, "url": url}])


def shoot(page, folder: Path, name: str, url: str) -> None:
    for lang in ("zh", "en"):
        speak(page, lang)
        for width in SIZES:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(url)
            wide = page.evaluate(WIDEST)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, wide)
            page.screenshot(path=folder / f"{name}-{lang}-{width}.png", full_page=True)
    speak(page, "zh")
    page.set_viewport_size({"width": 1366, "height": 900})


def test_an_organizer_allocates_and_sees_the_map_and_a_distributor_sells(
    live_server, browser, page, shots
):
    now = timezone.now()
    organizer = make_organization(kind=OrganizationKind.ORGANIZER, name="星光演艺")
    event = make_event(organization=organizer, name="星光演唱会", name_en="Starlight Live")
    sale = make_sale(
        sections=3, rows=8, seats_per_row=12, standing_capacity=60, now=now, event=event
    )
    distributor, channel = make_distributor()
    _other_org, other = make_distributor("票务通", name_en="Piaowutong", code="piaowutong")
    member(organizer, "boss")
    member(distributor, "seller")
    base = live_server.url
    console = f"/partners/allocations/?org={organizer.pk}&session={sale.session.pk}"

    # the organizer gives the first channel 20 places of zone A through the form
    sign_in(page, base, console, "boss")
    page.select_option("#alloc-channel", str(channel.pk))
    page.check("input[name=kind][value=area]")
    page.check(f"input[name=zones][value='{sale.zones['A'].pk}']")
    page.fill("#alloc-quantity", "20")
    page.click("#alloc-submit")
    page.wait_for_selector("#alloc-table tr[data-allocation]")
    first = Allocation.objects.get(channel=channel)
    assert first.allocated == 20
    assert page.locator(f"tr[data-allocation='{first.pk}'] .alloc-free").inner_text() == "20"

    # asking for more than is free changes nothing and says why
    page.select_option("#alloc-channel", str(other.pk))
    page.check("input[name=kind][value=pool]")
    page.fill("#alloc-quantity", "100000")
    page.click("#alloc-submit")
    assert "未分配任何座位" in page.locator("#alloc-error").inner_text()
    assert Allocation.objects.count() == 1

    # and the second channel chosen seats of block 2 and part of the standing area
    services.allocate(
        session=sale.session,
        channel=other,
        kind=AllocationKind.SEATS,
        seats="S2-C-1~12, S2-D-1~12",
        actor=None,
        now=now,
    )
    services.allocate(
        session=sale.session,
        channel=other,
        kind=AllocationKind.AREA,
        section_ids=[sale.sections["GA"].pk],
        quantity=25,
        actor=None,
        now=now,
    )
    # sales meanwhile: the first channel sells 6, fans hold and buy in block 3
    channels.channel_order(
        principal=channels.principal_for_channel(channel),
        session_id=sale.session.pk,
        choice=PlaceChoice(zone_id=sale.zones["A"].pk, quantity=6),
        idempotency_key="shot-1",
        digest="d",
        now=now,
    )
    for _ in range(3):
        inventory.hold_quantity(
            session=sale.session, user=make_buyer(), zone=sale.zones["C"], quantity=4, now=now
        )
    shoot(page, shots, "organizer", base + console)

    # the seat map: every seat in the colour of who has it
    page.click("#alloc-map-link")
    page.wait_for_selector("#alloc-map svg")
    mine = page.locator(f"g.alloc-seats[data-key='ch{channel.pk}'] circle")
    assert mine.count() == 14
    assert page.locator("g.alloc-seats[data-key='held'] circle").count() == 12
    assert page.locator(f"g.alloc-seats[data-key='ch{other.pk}'] circle").count() == 24
    fill = page.locator(f"g.alloc-seats[data-key='ch{channel.pk}']").get_attribute("fill")
    assert fill != page.locator("g.alloc-seats[data-key='pool']").get_attribute("fill")
    assert page.locator(f"rect.alloc-bar[data-key='ch{other.pk}']").count() == 1
    legend = page.locator("#alloc-legend li").all_inner_texts()
    assert any("开放库存" in t for t in legend) and any("票务通" in t for t in legend)
    shoot(page, shots, "map", page.url)

    # the distributor's console: its allocation only, and a sale from it
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    seller = context.new_page()
    try:
        sign_in(seller, base, f"/partners/allocations/?org={distributor.pk}", "seller")
        rows = seller.locator("#alloc-table tr[data-allocation]")
        assert rows.count() == 1
        assert rows.first.locator(".alloc-free").inner_text() == "14"
        shoot(seller, shots, "distributor", seller.url)
        seller.click("#alloc-sell-link")
        seller.wait_for_selector("#sell-form")
        shoot(seller, shots, "sell", seller.url)
        for lang, name in (("zh", "李雷"), ("en", "Han Meimei")):
            speak(seller, lang)
            seller.goto(f"{base}/partners/allocations/sell/?org={distributor.pk}")
            seller.fill("#sell-quantity", "2")
            seller.fill("#sell-name", name)
            seller.fill("#sell-email", "buyer@example.com")
            seller.click("#sell-submit")
            seller.wait_for_selector("#sold-tickets")
            assert seller.locator("#sold-tickets li").count() == 2
            for width in SIZES:
                seller.set_viewport_size({"width": width, "height": 900})
                seller.screenshot(path=shots / f"sold-{lang}-{width}.png", full_page=True)
            seller.set_viewport_size({"width": 1366, "height": 900})
    finally:
        context.close()
    sold_of_mine = InventoryUnit.objects.filter(allocation_id=first.pk, status="sold").count()
    assert sold_of_mine == 10
