"""Catalog reads: price-zone precedence, local-day search, filter parsing, featured events."""

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict

from tessera.catalog.models import EventStatus, SessionStatus, ZoneAssignment
from tessera.catalog.selectors import (
    SessionFilters,
    featured_events,
    month_calendar,
    parse_filters,
    search_events,
    search_sessions,
    zone_of_seats,
)
from tessera.catalog.tests.factories import make_event, make_session, make_zone
from tessera.catalog.tests.helpers import NOW, local
from tessera.venues.models import Row, Seat, Section
from tessera.venues.tests.factories import make_layout, make_venue

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def test_zone_of_seats_seat_beats_row_beats_section():
    # given a 2x3 block in zone "section", its row B in zone "row", seat B2 in zone "seat"
    layout = make_layout(sections=2, rows=2, seats_per_row=3)
    session = make_session(layout=layout)
    section_zone, row_zone, seat_zone = (
        make_zone(session=session, code=c) for c in ("SEC", "ROW", "SEAT")
    )
    s1 = Section.objects.get(layout=layout, code="S1")
    row_b = Row.objects.get(section=s1, label="B")
    seat_b2 = Seat.objects.get(row=row_b, label="2")
    ZoneAssignment.objects.create(session=session, zone=section_zone, section=s1)
    ZoneAssignment.objects.create(session=session, zone=row_zone, section=s1, row=row_b)
    ZoneAssignment.objects.create(
        session=session, zone=seat_zone, section=s1, row=row_b, seat=seat_b2
    )
    # when
    zones = zone_of_seats(session)
    # then S2 has no zone (not sold) and S1 follows the precedence
    assert {str(Seat.objects.get(pk=pk)): zone for pk, zone in zones.items()} == {
        "S1-A-1": section_zone.pk,
        "S1-A-2": section_zone.pk,
        "S1-A-3": section_zone.pk,
        "S1-B-1": row_zone.pk,
        "S1-B-2": seat_zone.pk,
        "S1-B-3": row_zone.pk,
    }


def test_zone_of_seats_ignores_other_sessions_on_the_same_layout():
    layout = make_layout(sections=1, rows=1, seats_per_row=2)
    mine, other = make_session(layout=layout), make_session(layout=layout)
    section = Section.objects.get(layout=layout)
    ZoneAssignment.objects.create(session=other, zone=make_zone(session=other), section=section)
    assert zone_of_seats(mine) == {}


@pytest.fixture
def london_and_shanghai():
    """A show at 00:30 on 6 July in London and one at 07:30 on 6 July in Shanghai.

    Both start at 23:30 UTC on 5 July; each belongs to 6 July in its own venue's zone.
    """
    london_layout = make_layout(
        venue=make_venue(time_zone="Europe/London"), sections=1, rows=1, seats_per_row=1
    )
    shanghai_layout = make_layout(sections=1, rows=1, seats_per_row=1)
    london = make_session(
        layout=london_layout, starts_at=local(2025, 7, 6, 0, 30).replace(tzinfo=LONDON)
    )
    shanghai = make_session(layout=shanghai_layout, starts_at=local(2025, 7, 6, 7, 30))
    return london, shanghai


def test_search_reads_dates_in_each_venues_zone(london_and_shanghai):
    london, shanghai = london_and_shanghai
    sixth = SessionFilters(date_from=date(2025, 7, 6), date_to=date(2025, 7, 6))
    fifth = SessionFilters(date_from=date(2025, 7, 5), date_to=date(2025, 7, 5))

    assert list(search_sessions(sixth, now=NOW)) == [london, shanghai]
    assert list(search_sessions(fifth, now=NOW)) == []


def test_search_with_an_explicit_zone_reads_dates_there(london_and_shanghai):
    london, shanghai = london_and_shanghai
    # in Shanghai's zone the London show starts at 07:30 on 6 July too
    sixth = SessionFilters(date_from=date(2025, 7, 6), date_to=date(2025, 7, 6))
    assert list(search_sessions(sixth, now=NOW, zone=ZoneInfo("Asia/Shanghai"))) == [
        london,
        shanghai,
    ]
    # in UTC both start on 5 July
    assert list(search_sessions(sixth, now=NOW, zone=ZoneInfo("UTC"))) == []


def test_month_calendar_uses_each_venues_day_unless_told(london_and_shanghai):
    london, shanghai = london_and_shanghai

    def days(**kwargs):
        weeks = month_calendar(year=2025, month=7, now=NOW, **kwargs)
        return {d.day: d.sessions for week in weeks for d in week if d.sessions}

    assert days() == {date(2025, 7, 6): [london, shanghai]}
    assert days(zone=ZoneInfo("UTC")) == {date(2025, 7, 5): [london, shanghai]}


def test_search_with_dates_on_an_empty_catalog():
    filters = SessionFilters(date_from=date(2025, 7, 6))
    assert list(search_sessions(filters, now=NOW)) == []
    assert list(search_events(filters, now=NOW)) == []


def test_search_events_lists_each_event_once():
    event = make_event()
    layout = make_layout(sections=1, rows=1, seats_per_row=1)
    for day in (5, 6, 7):
        session = make_session(event=event, layout=layout, starts_at=local(2025, 7, day, 20))
        make_zone(session=session, code="A", price=f"{day}00")
        make_zone(session=session, code="B", price=f"{day}50")
    events = list(search_events(SessionFilters(price_max=Decimal("600")), now=NOW))
    assert [(e.pk, e.first_starts_at, e.price_from, e.price_to) for e in events] == [
        (event.pk, local(2025, 7, 5, 20), Decimal("500.00"), Decimal("650.00"))
    ]


def test_parse_filters_reads_every_field():
    params = QueryDict(
        "q=+Jay+&kind=concert&city=shanghai&date_from=2025-07-01&date_to=2025-07-31"
        "&team=shenhua&artist=jay&tag=pop&price_min=100&price_max=380.50"
    )
    assert parse_filters(params) == SessionFilters(
        q="Jay",
        kind="concert",
        city="shanghai",
        date_from=date(2025, 7, 1),
        date_to=date(2025, 7, 31),
        team="shenhua",
        artist="jay",
        tag="pop",
        price_min=Decimal("100"),
        price_max=Decimal("380.50"),
    )


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("kind=opera", {"kind": "choice"}),
        ("date_from=2025-02-30", {"date_from": "date"}),
        ("date_to=9999-12-31", {"date_to": "date"}),
        ("price_min=-5", {"price_min": "number"}),
        ("price_max=Infinity", {"price_max": "number"}),
        ("price_max=10000000000", {"price_max": "number"}),
        ("date_from=2025-07-02&date_to=2025-07-01", {"date_to": "date_order"}),
        ("price_min=10&price_max=9.99", {"price_max": "price_order"}),
    ],
)
def test_parse_filters_collects_errors_and_drops_the_value(query, errors):
    parsed = parse_filters(QueryDict(query))
    assert parsed.errors == errors
    field = next(iter(errors))
    assert getattr(parsed, field) in ("", None)


def test_parse_filters_strips_nul_and_limits_length():
    parsed = parse_filters(QueryDict(f"q=a%00b&city={'x' * 150}"))
    assert (parsed.q, len(parsed.city), parsed.errors) == ("ab", 100, {})


def test_featured_event_with_one_cancelled_date_is_still_featured():
    # given a featured event with a cancelled date and an upcoming one, and one only past
    layout = make_layout(sections=1, rows=1, seats_per_row=1)
    featured = make_event(is_featured=True)
    make_session(
        event=featured,
        layout=layout,
        starts_at=NOW + timedelta(days=3),
        status=SessionStatus.CANCELLED,
    )
    upcoming = make_session(event=featured, layout=layout, starts_at=NOW + timedelta(days=9))
    make_zone(session=upcoming, price="280.00")
    past = make_event(is_featured=True)
    make_session(event=past, layout=layout, starts_at=NOW - timedelta(days=1))
    make_event(is_featured=True, status=EventStatus.DRAFT)
    # when
    events = list(featured_events(now=NOW))
    # then
    assert [(e.pk, e.next_at, e.price_from) for e in events] == [
        (featured.pk, NOW + timedelta(days=9), Decimal("280.00"))
    ]
