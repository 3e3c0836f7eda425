"""The box office in a real Chromium: a manager signs in, sells two places for cash and
opens the printable tickets; the order page shows the sale in its timeline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.inventory.tests.factories import make_sale
from tessera.orders.models import Order, OrderStatus
from tessera.payments.models import Payment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


def test_a_manager_sells_at_the_box_office_and_prints_the_tickets(live_server, page, artifacts_dir):
    # given a session on sale and a manager of its organizer
    sale = make_sale(
        sections=1, rows=1, seats_per_row=6, starts_at=timezone.now() + timedelta(days=5)
    )
    manager = make_member(
        organization=sale.session.event.organization,
        role=Role.MANAGER,
        is_staff=True,
        password=PASSWORD,
    )
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", manager.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")

    # when they sell two places of zone A for cash at the box office
    page.goto(f"{live_server.url}/admin/orders/order/")
    page.click("a[href$='/admin/orders/order/box-office/']")
    page.select_option("select[name=session]", str(sale.session.pk))
    page.select_option("select[name=zone]", str(sale.zones["A"].pk))
    page.fill("input[name=quantity]", "2")
    page.fill("input[name=buyer_name]", "王小明")
    page.fill("input[name=phone]", "13900000000")
    page.check("input[name=method][value=cash]")
    page.click("input[type=submit]")

    # then the order page says it was sold, lists the sale in the timeline, and prints
    order = Order.objects.get()
    assert order.status == OrderStatus.FULFILLED
    assert Payment.objects.get(order=order).options["method"] == "cash"
    page.wait_for_selector(".messagelist")
    assert order.number in page.inner_text(".messagelist")
    assert "order.box_office_sale" in page.inner_text(".backoffice-order")
    page.screenshot(path=str(artifacts_dir / "backoffice-box-office-order.png"), full_page=True)
    href = page.get_attribute("a[href$='/tickets.pdf']", "href")
    pdf = page.request.get(f"{live_server.url}{href}")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
