"""Group sales and boxes in a real Chromium: a company's contact asks for group tickets from
the event page, the organizer quotes in the partner console, the contact pays at the sandbox
cashier and names the tickets; a fan buys a box from the seat map. Then every page of the
app at 1366 and 390 px in both languages (screenshots, no sideways scrolling)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import watch_csp
from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member, make_user
from tessera.groupsales import services
from tessera.groupsales.models import GroupRequest, GroupStatus, GroupTicketName
from tessera.groupsales.tests.factories import USCC, boxed, group_world, request_data
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.orders.models import Order, OrderStatus
from tessera.tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


def sign_in(page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


def pay_at_cashier(page, base: str) -> None:
    page.click("#pay-button")
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    page.locator("button[value=pay]").click()


def world(now):
    sale, _organizer, _contact = group_world(now)
    organizer = make_member(
        organization=sale.session.event.organization,
        role=Role.OWNER,
        username="organizer",
        password=PASSWORD,
        display_name="赵主办",
    )
    contact = make_user(username="zhang", password=PASSWORD, display_name="张经理")
    contact.email = "zhang@xinghai.example"
    contact.save()
    return sale, organizer, contact


def test_a_group_is_quoted_pays_and_names_its_tickets_and_a_fan_buys_a_box(
    live_server, settings, browser, page, artifacts_dir
):
    settings.TESSERA_PUBLIC_URL = live_server.url
    base = live_server.url
    now = timezone.now()
    sale, organizer, contact = world(now)
    _box, offer, box_units = boxed(sale, organizer, now)
    session = sale.session

    # the contact opens the event page and asks for 3 places of zone B
    sign_in(page, base, "zhang", f"/events/{session.event.slug}/")
    page.click(f"#group-{session.pk}")
    page.wait_for_url(f"{base}/groups/sessions/{session.pk}/request/")
    page.select_option("#id_zone", str(sale.zones["B"].pk))
    page.fill("#id_quantity", "3")
    page.fill("#id_budget", "700")
    page.fill("#id_company_name", "星海科技有限公司")
    page.fill("#id_invoice_title", "星海科技有限公司")
    page.fill("#id_tax_number", "91350100M000100Y44")  # a wrong check character
    page.click("#send-request")
    page.wait_for_selector("#tax-number-error")
    assert not GroupRequest.objects.exists()
    page.fill("#id_tax_number", USCC)
    page.click("#send-request")
    page.wait_for_url(re.compile(r"/groups/requests/\d+/$"))
    req = GroupRequest.objects.get()
    assert page.get_attribute("#group-request", "data-status") == "requested"

    # the organizer quotes ¥220 a place in the partner console
    organizer_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    organizer_page = organizer_context.new_page()
    violations = watch_csp(organizer_context, organizer_page)
    sign_in(organizer_page, base, "organizer", "/groups/manage/")
    local = (now + timedelta(days=2)).astimezone(session.layout.venue.zone_info)
    organizer_page.fill(f"#unit_price_{req.pk}", "220.00")
    organizer_page.fill(f"#pay_by_{req.pk}", local.strftime("%Y-%m-%dT%H:%M"))
    organizer_page.fill(
        f"#names_by_{req.pk}", (local + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    )
    organizer_page.click(f"#quote-{req.pk}")
    organizer_page.wait_for_selector(f"#request-{req.pk}[data-status=quoted]")
    organizer_context.close()
    assert not violations
    req.refresh_from_db()
    assert req.status == GroupStatus.QUOTED
    assert InventoryUnit.objects.filter(hold_id=req.hold_id, status=UnitStatus.HELD).count() == 3

    # the contact accepts and pays at the sandbox cashier
    page.goto(f"{base}/groups/requests/{req.pk}/")
    assert "¥660" in page.inner_text("#quote-total")
    page.click("#accept-quote")
    page.wait_for_url(f"{base}/checkout/{req.hold_id}/payment/")
    pay_at_cashier(page, base)
    order = Order.objects.get(user=contact)
    page.wait_for_url(f"{base}/orders/{order.number}/")
    page.wait_for_selector("#pdf-link")
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED and order.total == 660

    # and names the tickets before the cut-off
    page.goto(f"{base}/groups/requests/{req.pk}/")
    assert page.get_attribute("#group-request", "data-status") == "paid"
    tickets = list(Ticket.objects.filter(order_line__order=order).order_by("order_line_id"))
    for ticket, name in zip(tickets, ["李雷", "韩梅梅", "王芳"], strict=True):
        page.fill(f"#name_{ticket.pk}", name)
    page.click("#save-names")
    page.wait_for_url(f"{base}/groups/requests/{req.pk}/")
    assert sorted(GroupTicketName.objects.values_list("name", flat=True)) == [
        "李雷",
        "王芳",
        "韩梅梅",
    ]
    assert [t.holder_name for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets])] == [
        "李雷",
        "韩梅梅",
        "王芳",
    ]
    assert set(
        Ticket.objects.filter(order_line__order=order).values_list("version", flat=True)
    ) == {2}

    # a fan buys the box from the seat map: the outline on the map picks its card
    fan = make_user(username="fan", password=PASSWORD, display_name="李雷")
    fan_context = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})
    fan_page = fan_context.new_page()
    violations = watch_csp(fan_context, fan_page)
    sign_in(fan_page, base, "fan", f"/sessions/{session.pk}/buy/")
    fan_page.wait_for_selector(f"#sm-box-{offer.pk}")
    fan_page.dispatch_event(f"#sm-box-{offer.pk}", "click")
    fan_page.wait_for_selector(f"#box-{offer.pk}.is-chosen")
    fan_page.click(f"#buy-box-{offer.pk}")
    box_order = Order.objects.get(user=fan)
    fan_page.wait_for_url(f"{base}/checkout/{box_order.hold_id}/payment/")
    pay_at_cashier(fan_page, base)
    fan_page.wait_for_url(f"{base}/orders/{box_order.number}/")
    fan_page.wait_for_selector("#pdf-link")
    fan_context.close()
    assert not violations
    box_order.refresh_from_db()
    assert box_order.status == OrderStatus.FULFILLED and box_order.total == 2000
    assert Ticket.objects.filter(order_line__order=box_order).count() == 4
    assert set(InventoryUnit.objects.filter(pk__in=box_units).values_list("status", flat=True)) == {
        UnitStatus.SOLD
    }


@pytest.mark.parametrize(("language", "locale"), [("zh", "zh-CN"), ("en", "en-US")])
@pytest.mark.parametrize(("size", "width", "height"), [("desktop", 1366, 900), ("phone", 390, 844)])
def test_the_pages_fit_the_screen(
    live_server, browser, artifacts_dir, language, locale, size, width, height
):
    base = live_server.url
    now = timezone.now()
    sale, organizer, contact = world(now)
    boxed(sale, organizer, now)
    session = sale.session
    quoted_request = services.submit_group_request(
        session=session, contact=contact, data=request_data(sale.zones["A"], quantity=4), now=now
    )
    services.quote_group_request(
        request=quoted_request,
        actor=organizer,
        unit_price="320.00",
        pay_by_at=now + timedelta(days=2),
        names_by_at=now + timedelta(days=4),
        now=now,
    )
    services.submit_group_request(
        session=session,
        contact=contact,
        data=request_data(sale.zones["B"], quantity=20, company_name="北辰体育俱乐部"),
        now=now,
    )
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations = watch_csp(context, page)

    def snap(name: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        page.screenshot(
            path=artifacts_dir / f"groupsales-{name}-{size}-{language}.png", full_page=True
        )

    sign_in(page, base, "zhang", f"/groups/sessions/{session.pk}/request/")
    snap("request")
    page.goto(f"{base}/groups/")
    snap("list")
    page.goto(f"{base}/groups/requests/{quoted_request.pk}/")
    snap("quote")
    page.goto(f"{base}/sessions/{session.pk}/buy/")
    page.wait_for_selector(".sm-box")
    snap("buy-boxes")
    context.clear_cookies()
    sign_in(page, base, "organizer", "/groups/manage/")
    snap("manage")
    context.close()
    assert not violations
