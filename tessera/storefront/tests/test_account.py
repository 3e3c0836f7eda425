"""My account: the calendar file, upcoming and past orders, the refund policy's text."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from tessera.accounts.tests.factories import make_user
from tessera.catalog.services import set_policy
from tessera.catalog.tests.factories import make_event, make_session
from tessera.inventory import services as inventory
from tessera.inventory.tests.factories import make_sale
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderStatus
from tessera.payments import services as payments
from tessera.payments.testing import pay_locally
from tessera.storefront.account import group_orders, is_upcoming
from tessera.storefront.ics import escape_text, fold, session_calendar
from tessera.tickets.models import Ticket
from tessera.venues.tests.factories import make_layout, make_venue

pytestmark = pytest.mark.django_db

NOW = datetime(2040, 11, 30, 17, 0, tzinfo=UTC)  # 2040-12-01 01:00 in Shanghai


# -- .ics --------------------------------------------------------------------------------------


def test_ics_escapes_text_and_folds_long_lines_at_75_octets():
    # given a session whose name and address need escaping, the address long enough to fold
    venue = make_venue(
        name="梅赛德斯奔驰文化中心",
        name_en="Mercedes-Benz Arena",
        address="浦东新区世博大道1200号; 近地铁8号线, 中华艺术宫站",
        address_en="1200 Expo Avenue, Pudong; near Metro Line 8, China Art Museum station",
    )
    event = make_event(name="周杰伦, 嘉年华\\巡演", name_en="Jay Chou; Carnival, Tour")
    session = make_session(
        event=event,
        layout=make_layout(venue=venue),
        starts_at=datetime(2040, 12, 24, 11, 30, tzinfo=UTC),
        ends_at=datetime(2040, 12, 24, 14, 0, tzinfo=UTC),
    )
    # when its calendar file is made in English and in Chinese
    with translation.override("en"):
        english = session_calendar(session=session, now=NOW, url="https://t.example/e/1")
    with translation.override("zh-hans"):
        chinese = session_calendar(session=session, now=NOW)

    # then every line ends with CRLF and the properties are exactly these
    assert english == (
        "BEGIN:VCALENDAR\r\n"
        "VERSION:2.0\r\n"
        "PRODID:-//Tessera//Tessera tickets//EN\r\n"
        "CALSCALE:GREGORIAN\r\n"
        "METHOD:PUBLISH\r\n"
        "BEGIN:VEVENT\r\n"
        f"UID:session-{session.pk}@tessera\r\n"
        "DTSTAMP:20401130T170000Z\r\n"
        "DTSTART:20401224T113000Z\r\n"
        "DTEND:20401224T140000Z\r\n"
        "SUMMARY:Jay Chou\\; Carnival\\, Tour\r\n"
        "LOCATION:Mercedes-Benz Arena\\, 1200 Expo Avenue\\, Pudong\\; near Metro Line \r\n"
        " 8\\, China Art Museum station\r\n"
        "URL:https://t.example/e/1\r\n"
        "END:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    lines = chinese.split("\r\n")
    assert "SUMMARY:周杰伦\\, 嘉年华\\\\巡演" in lines
    location = next(line for line in lines if line.startswith("LOCATION:"))
    continuation = lines[lines.index(location) + 1]
    assert continuation.startswith(" ")
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    # unfolding (CRLF + one space removed) gives back the whole escaped value
    unfolded = chinese.replace("\r\n ", "")
    assert (
        "LOCATION:梅赛德斯奔驰文化中心\\, 浦东新区世博大道1200号\\; 近地铁8号线\\, 中华艺术宫站"
        in unfolded.split("\r\n")
    )


def test_fold_never_splits_a_character_and_escape_handles_newlines():
    line = "DESCRIPTION:" + "票" * 40  # 12 + 120 octets
    folded = fold(line).split("\r\n")
    assert [len(part.encode()) for part in folded] == [75, 58]
    assert folded[0] == "DESCRIPTION:" + "票" * 21
    assert folded[1] == " " + "票" * 19
    assert escape_text("a\nb\r\nc;d,e\\f") == "a\\nb\\nc\\;d\\,e\\\\f"


def test_session_without_end_lasts_three_hours_and_download_is_an_attachment(client):
    session = make_session(starts_at=datetime(2040, 12, 24, 11, 30, tzinfo=UTC), ends_at=None)
    response = client.get(reverse("storefront:session_ics", args=[session.pk]))
    body = response.content.decode()
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{session.event.slug}-{session.pk}.ics"'
    )
    assert "DTEND:20401224T143000Z\r\n" in body
    assert f"URL:http://testserver/events/{session.event.slug}/#session-{session.pk}\r\n" in body


def test_draft_sessions_have_no_calendar_file(client):
    session = make_session(event=make_event(status="draft"))
    assert client.get(reverse("storefront:session_ics", args=[session.pk])).status_code == 404


# -- upcoming and past -------------------------------------------------------------------------


def test_upcoming_means_today_or_later_in_the_venues_time_zone():
    venue = make_venue(time_zone="Asia/Shanghai")
    layout = make_layout(venue=venue)
    # 00:30 on 1 December in Shanghai: the same local day as NOW (01:00), although it is
    # still 30 November in UTC
    tonight = make_session(layout=layout, starts_at=datetime(2040, 11, 30, 16, 30, tzinfo=UTC))
    # 23:30 on 30 November in Shanghai: yesterday there, though the same UTC day as NOW
    yesterday = make_session(layout=layout, starts_at=datetime(2040, 11, 30, 15, 30, tzinfo=UTC))
    assert is_upcoming(tonight, NOW) is True
    assert is_upcoming(yesterday, NOW) is False

    london = make_session(
        layout=make_layout(venue=make_venue(time_zone="Europe/London")),
        starts_at=datetime(2040, 11, 30, 15, 30, tzinfo=UTC),
    )
    assert is_upcoming(london, NOW) is True  # 15:30 on 30 November, the same day in London


def test_group_orders_soonest_upcoming_first_latest_past_first():
    layout = make_layout(venue=make_venue(time_zone="Asia/Shanghai"))
    starts = [NOW + timedelta(days=d) for d in (3, -2, 1, -9)]
    items = [
        Order(number=f"T{i}", session=make_session(layout=layout, starts_at=s))
        for i, s in enumerate(starts)
    ]
    upcoming, past = group_orders(items, NOW)
    assert [o.number for o in upcoming] == ["T2", "T0"]
    assert [o.number for o in past] == ["T1", "T3"]


# -- the policy --------------------------------------------------------------------------------


# -- the page ----------------------------------------------------------------------------------


def _fulfilled_order(sale, user, unit, now):
    hold = inventory.hold_units(session=sale.session, user=user, unit_ids=[unit.id], now=now)
    order = orders.place_order(hold=hold, user=user, attendees=["王芳"], now=now)
    payment = payments.start_payment(order=order, provider="sandbox", user=user, now=now)
    pay_locally(payment_id=payment.pk, now=now)
    order.refresh_from_db()
    return order


def test_account_page_groups_orders_with_tickets_policy_and_calendar(client):
    now = timezone.now()
    fan = make_user()
    client.force_login(fan)
    soon = make_sale(sections=1, rows=1, seats_per_row=4, starts_at=now + timedelta(days=5))
    set_policy(
        event=soon.session.event, actor=None, now=now, is_refundable=True, refund_cutoff_hours=24
    )
    later = make_sale(sections=1, rows=1, seats_per_row=4, starts_at=now + timedelta(days=20))
    gone = make_sale(sections=1, rows=1, seats_per_row=4, starts_at=now + timedelta(days=2))
    first = _fulfilled_order(soon, fan, soon.seat_unit("S1", "A", 1), now)
    second = _fulfilled_order(later, fan, later.seat_unit("S1", "A", 2), now)
    third = _fulfilled_order(gone, fan, gone.seat_unit("S1", "A", 3), now)
    # the third session took place (its start moved into the past after the sale)
    gone.session.starts_at = now - timedelta(days=3)
    gone.session.ends_at = now - timedelta(days=3) + timedelta(hours=2)
    gone.session.save()
    stranger = make_user()
    _fulfilled_order(soon, stranger, soon.seat_unit("S1", "A", 4), now)

    html = client.get(reverse("storefront:my_orders"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    upcoming = html[html.index('id="upcoming"') : html.index('id="past"')]
    past = html[html.index('id="past"') :]
    assert [n for n in (first.number, second.number, third.number) if n in upcoming] == [
        first.number,
        second.number,
    ]
    assert upcoming.index(first.number) < upcoming.index(second.number)
    assert third.number in past and first.number not in past
    assert Order.objects.filter(user=stranger).get().number not in html
    ticket = Ticket.objects.get(order_line__order=first)
    assert reverse("tickets:detail", args=[ticket.public_id]) in upcoming
    assert reverse("tickets:order_pdf", args=[first.number]) in upcoming
    assert reverse("storefront:session_ics", args=[soon.session.pk]) in upcoming
    assert "Refunds until " in upcoming
    assert "Tickets for this session cannot be refunded." in upcoming
    assert first.status == OrderStatus.FULFILLED
    assert "(2)" in upcoming and "(1)" in past


def test_account_page_is_empty_for_a_new_fan(client):
    client.force_login(make_user())
    html = client.get(reverse("storefront:my_orders"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No upcoming events." in html
    assert "No past events yet." in html


def test_order_total_is_decimal():
    assert isinstance(Order._meta.get_field("total").to_python("1.10"), Decimal)
