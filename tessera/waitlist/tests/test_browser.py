"""The waiting list in a real Chromium: a fan joins the list of a sold-out session from the
event page, another fan's refund is approved, the first fan finds the offer in the inbox and
buys the place through the normal checkout and the sandbox cashier. Then the join, position
and offer pages at 1366 and 390 px in both languages (screenshots, no sideways scrolling)."""

import re
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from conftest import watch_csp
from tessera.accounts.tests.factories import make_member, make_user
from tessera.aftersales import services as aftersales
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import Order, OrderStatus
from tessera.tickets.models import Ticket, TicketStatus
from tessera.waitlist import services
from tessera.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


def sign_in(page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


def sold_out_session(now):
    """Two seats of zone A (¥380), both bought by 李雷; refunds need the organizer's review."""
    sale = make_sale(sections=1, rows=1, seats_per_row=2, starts_at=now + timedelta(days=20))
    catalog.set_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        refunds_need_review=True,
    )
    buyer = make_buyer(display_name="李雷")
    with TestCase.captureOnCommitCallbacks(execute=True):
        order = bought(sale, buyer, [1, 2], now)
    return sale, buyer, order


def test_a_fan_joins_another_refunds_the_first_gets_the_offer_and_buys(
    live_server, settings, page, artifacts_dir
):
    settings.TESSERA_PUBLIC_URL = live_server.url
    base = live_server.url
    now = timezone.now()
    sale, buyer, order = sold_out_session(now)
    fan = make_user(username="wangfang", password=PASSWORD, display_name="王芳")
    organizer = make_member(organization=sale.session.event.organization)

    # when 王芳 opens the event page: the session is sold out, with the waiting list's link
    sign_in(page, base, "wangfang", f"/events/{sale.session.event.slug}/")
    page.screenshot(path=artifacts_dir / "waitlist-flow-event.png", full_page=True)
    page.click(f"#waitlist-{sale.session.pk}")
    page.wait_for_url(f"{base}/waitlist/sessions/{sale.session.pk}/")

    # and joins for one place of zone A
    page.select_option("#id_zone", str(sale.zones["A"].pk))
    page.fill("#id_quantity", "1")
    page.click("#join-waitlist")

    # then she is first on the list
    page.wait_for_selector("#waitlist-entry")
    assert page.inner_text("#waitlist-position") == "1"
    entry = WaitlistEntry.objects.get(user=fan)
    assert (entry.status, entry.quantity, entry.zone_id) == ("waiting", 1, sale.zones["A"].pk)

    # when 李雷 asks to refund one ticket and the organizer approves it
    line = order.lines.order_by("pk").first()
    request = aftersales.request_refund(order=order, user=buyer, line_ids=[line.pk], now=now)
    with TestCase.captureOnCommitCallbacks(execute=True):
        aftersales.approve_refund(request=request, actor=organizer, now=timezone.now())

    # then the place is held for 王芳, not put on sale, and her inbox tells her
    assert not InventoryUnit.objects.filter(
        session=sale.session, status=UnitStatus.AVAILABLE
    ).exists()
    offer = WaitlistOffer.objects.get(user=fan)
    page.goto(f"{base}/messages/")
    page.click(f"a[href='{base}/waitlist/offers/{offer.pk}/']")
    page.wait_for_url(f"{base}/waitlist/offers/{offer.pk}/")
    assert page.get_attribute("#offer", "data-status") == "open"
    assert "¥380" in page.inner_text("#offer")
    page.screenshot(path=artifacts_dir / "waitlist-flow-offer.png", full_page=True)

    # when she takes it: the normal checkout with the offer's hold, paid at the cashier
    page.click("#claim-offer")
    page.wait_for_url(f"{base}/checkout/{offer.hold_id}/")
    page.fill("#attendee_0", "王芳")
    page.click("#next-button")
    page.wait_for_url(f"{base}/checkout/{offer.hold_id}/payment/")
    page.click("#pay-button")
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    page.locator("button[value=pay]").click()

    # then she has her ticket, and the offer counts as bought
    new_order = Order.objects.get(user=fan)
    page.wait_for_url(f"{base}/orders/{new_order.number}/")
    page.wait_for_selector("#pdf-link")
    assert new_order.status == OrderStatus.FULFILLED
    assert (
        Ticket.objects.filter(order_line__order=new_order, status=TicketStatus.VALID).count() == 1
    )
    services.settle_offers(now=timezone.now())
    assert WaitlistOffer.objects.get(pk=offer.pk).status == OfferStatus.CONVERTED
    assert WaitlistEntry.objects.get(pk=entry.pk).status == EntryStatus.CONVERTED
    page.goto(f"{base}/waitlist/offers/{offer.pk}/")
    assert page.get_attribute("#offer", "data-status") == "bought"


@pytest.mark.parametrize(("language", "locale"), [("zh", "zh-CN"), ("en", "en-US")])
@pytest.mark.parametrize(("size", "width", "height"), [("desktop", 1366, 900), ("phone", 390, 844)])
def test_join_position_and_offer_pages_fit_the_screen(
    live_server, browser, artifacts_dir, language, locale, size, width, height
):
    base = live_server.url
    now = timezone.now()
    sale, _buyer, order = sold_out_session(now)
    make_user(username="wangfang", password=PASSWORD, display_name="王芳")
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations = watch_csp(context, page)
    path = f"/waitlist/sessions/{sale.session.pk}/"

    def snap(name: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(
            path=artifacts_dir / f"waitlist-{name}-{size}-{language}.png", full_page=True
        )

    sign_in(page, base, "wangfang", path)
    assert page.locator("#waitlist-join").is_visible()
    snap("join")
    page.fill("#id_quantity", "1")
    page.click("#join-waitlist")
    page.wait_for_selector("#waitlist-entry")
    snap("position")

    # another fan joined after her; a full refund then makes both of them an offer
    services.join_waitlist(
        session=sale.session,
        user=make_user(username="later", password=None),
        quantity=1,
        now=timezone.now(),
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        aftersales.refund_order_in_full(
            order=order, actor=None, reason="organizer", now=timezone.now()
        )
    assert WaitlistOffer.objects.filter(status=OfferStatus.OPEN).count() == 2
    page.goto(f"{base}{path}")
    page.click("#offer-link")
    page.wait_for_selector("#claim-offer")
    snap("offer")
    heading = page.inner_text("h1")
    assert heading == ("您的候补购票机会" if language == "zh" else "Your waiting-list offer")
    context.close()
    assert not violations
