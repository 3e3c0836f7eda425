"""My account in a real Chromium: upcoming and past orders, tickets, the refund policy and
the calendar download; on a desktop and on a phone."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from tessera.accounts.tests.factories import make_user
from tessera.catalog.services import set_policy
from tessera.inventory import services as inventory
from tessera.inventory.tests.factories import make_sale
from tessera.orders import services as orders
from tessera.payments import services as payments
from tessera.payments.testing import pay_locally
from tessera.tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(text)


def fulfilled_order(sale, user, seats):
    now = timezone.now()
    hold = inventory.hold_units(
        session=sale.session,
        user=user,
        unit_ids=[u.id for u in sale.seat_units("S1", "A", seats)],
        now=now,
    )
    order = orders.place_order(hold=hold, user=user, attendees=["王芳"] * len(seats), now=now)
    payment = payments.start_payment(order=order, provider="sandbox", user=user, now=now)
    pay_locally(payment_id=payment.pk, now=now)
    order.refresh_from_db()
    return order


def test_account_lists_upcoming_and_past_orders_with_policy_and_calendar_file(
    live_server, page, phone_page, artifacts_dir
):
    # given a fan with tickets for a concert in ten days and for one that took place
    now = timezone.now()
    fan = make_user(username="fan", password=PASSWORD)
    soon = make_sale(sections=1, rows=1, seats_per_row=4, starts_at=now + timedelta(days=10))
    event = soon.session.event
    set_policy(
        event=event,
        actor=None,
        now=now,
        is_refundable=True,
        refund_cutoff_hours=36,
        note="退款按原路退回。",
    )
    done = make_sale(sections=1, rows=1, seats_per_row=4, starts_at=now + timedelta(days=1))
    upcoming_order = fulfilled_order(soon, fan, [1, 2])
    past_order = fulfilled_order(done, fan, [3])
    done.session.starts_at = now - timedelta(days=30)
    done.session.ends_at = now - timedelta(days=30) + timedelta(hours=2)
    done.session.save()

    # when the fan signs in and opens My account
    page.goto(f"{live_server.url}/accounts/login/?next=/orders/")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/orders/")

    # then the orders are grouped by the session's start
    upcoming = page.locator("#upcoming .account-order")
    past = page.locator("#past .account-order")
    assert upcoming.count() == 1 and past.count() == 1
    assert upcoming.first.get_attribute("data-order") == upcoming_order.number
    assert past.first.get_attribute("data-order") == past_order.number
    with translation.override("zh-hans"):
        assert upcoming.first.locator(".status").inner_text() == (
            upcoming_order.get_status_display()
        )
    assert upcoming.first.locator(".account-tickets li").count() == 2
    # the after-sales entry opens with the keyboard and shows the policy
    summary = upcoming.first.locator(".aftersales summary")
    summary.focus()
    page.keyboard.press("Enter")
    lines = upcoming.first.locator(".policy-lines li").all_inner_texts()
    assert lines[-1] == "退款按原路退回。"
    assert "36" in lines[0]
    page.screenshot(path=artifacts_dir / "account.png", full_page=True)

    # when they download the calendar file of the upcoming session
    with page.expect_download() as info:
        upcoming.first.locator(".ics-link").click()
    download = info.value
    with open(download.path(), encoding="utf-8", newline="") as file:
        body = file.read()
    assert download.suggested_filename == f"{event.slug}-{soon.session.pk}.ics"
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert f"UID:session-{soon.session.pk}@tessera\r\n" in body
    assert soon.session.starts_at.strftime("DTSTART:%Y%m%dT%H%M%SZ\r\n") in body

    # and a ticket page shows its QR code
    ticket = Ticket.objects.filter(order_line__order=upcoming_order).order_by("id").first()
    upcoming.first.locator(f"a[href='/tickets/{ticket.public_id}/']").click()
    page.wait_for_selector("svg")
    page.screenshot(path=artifacts_dir / "account-ticket.png", full_page=True)

    # on a phone the account fits 390 px
    phone_page.context.add_cookies(page.context.cookies())
    phone_page.goto(f"{live_server.url}/orders/")
    phone_page.wait_for_selector("#upcoming .account-order")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_page.screenshot(path=artifacts_dir / "account-phone.png", full_page=True)
