from datetime import UTC, datetime

import pytest
from django.db.models import Count, Sum

from tessera.accounts.models import Organization, User
from tessera.catalog.models import (
    Competition,
    Event,
    EventKind,
    PriceZone,
    Session,
    Team,
    Tour,
    ZoneAssignment,
)
from tessera.demo.loader import load_demo
from tessera.venues.models import Layout, Seat, Section, SectionKind, Venue

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


def _snapshot() -> dict:
    return {
        "orgs": Organization.objects.count(),
        "users": User.objects.count(),
        "venues": Venue.objects.count(),
        "sections": Section.objects.count(),
        "seats": Seat.objects.count(),
        "events": Event.objects.count(),
        "sessions": Session.objects.count(),
        "zones": PriceZone.objects.count(),
        "assignments": ZoneAssignment.objects.count(),
    }


@pytest.mark.django_db
def test_demo_loads_the_promised_venues_and_catalog_once():
    # given an empty database, when the demo is loaded twice
    first = load_demo(now=NOW)
    after_first = _snapshot()
    second = load_demo(now=NOW)

    # then the second load changed nothing
    assert first.created is True
    assert second.created is False
    assert _snapshot() == after_first

    # a 60,000-place stadium: a bowl of at least 80 seated sections and a standing terrace
    stadium = Layout.objects.get(venue__slug="pujiang-stadium")
    seated = stadium.sections.filter(kind=SectionKind.SEATED)
    standing = stadium.sections.filter(kind=SectionKind.STANDING)
    assert seated.count() >= 80
    assert standing.count() >= 1
    places = Seat.objects.filter(section__layout=stadium).count()
    places += standing.aggregate(c=Sum("capacity"))["c"]
    assert places == 60_000
    # a 15,000-seat arena and a 2,000-seat concert hall
    arena_seats = Seat.objects.filter(section__layout__venue__slug="starlight-arena").count()
    hall_seats = Seat.objects.filter(section__layout__venue__slug="riverside-hall").count()
    assert 15_000 <= arena_seats < 15_500
    assert 2_000 <= hall_seats < 2_100
    # in several cities
    assert Venue.objects.values("city").distinct().count() == 8

    # a league of at least 8 teams with a double round robin season
    league = Competition.objects.get(slug="huaxia-super-league")
    assert league.teams.count() == 8
    fixtures = Event.objects.filter(season__competition=league)
    assert fixtures.count() == 8 * 7
    per_team = Team.objects.annotate(home=Count("home_fixtures")).values_list("home", flat=True)
    # 7 league home games each, plus the cup final at Shanghai's ground
    assert sorted(per_team) == [7] * 7 + [8]
    # a concert tour with sessions
    tour = Tour.objects.get(slug="lin-xia-galaxy-tour")
    assert Session.objects.filter(event__tour=tour).count() == 2
    assert Event.objects.filter(kind=EventKind.SHOW).count() >= 2
    # names in both languages, and every session priced with every seated section zoned
    assert not Event.objects.filter(name_en="").exists()
    for session in Session.objects.select_related("layout"):
        zoned = ZoneAssignment.objects.filter(session=session).count()
        assert zoned == session.layout.sections.count()
        assert session.price_zones.count() >= 3
