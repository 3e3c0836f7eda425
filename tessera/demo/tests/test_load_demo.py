from datetime import UTC, datetime

import pytest
from django.core.files.storage import default_storage
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
from tessera.demo.posters import draw_poster, poster_path
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


def _inside(shape: dict, x: float, y: float) -> bool:
    xs = [p[0] for p in shape["points"]]
    ys = [p[1] for p in shape["points"]]
    return min(xs) <= x <= max(xs) and min(ys) <= y <= max(ys)


@pytest.mark.django_db
def test_the_concert_floor_zones_are_on_the_floor_and_the_stands_have_the_stand_zones():
    # given the demo
    load_demo(now=NOW)
    arena = Layout.objects.get(venue__slug="starlight-arena")
    floor = next(s for s in arena.shapes if s["kind"] == "floor")
    stage = next(s for s in arena.shapes if s["kind"] == "stage")

    # then the concert's focal point is the stage's front, on the floor
    assert _inside(stage, arena.focal_x, arena.focal_y)
    assert arena.focal_label == "舞台"
    concert = Session.objects.filter(event__slug="lin-xia-galaxy-tour-beijing").first()
    rows = ZoneAssignment.objects.filter(session=concert).select_related("zone", "section")
    on_floor: dict[str, set[str]] = {}
    for row in rows:
        section = row.section
        where = "floor" if _inside(floor, section.label_x, section.label_y) else "stands"
        on_floor.setdefault(row.zone.name_en, set()).add(where)
        # every corner of a floor zone's section lies on the floor
        if where == "floor":
            assert all(_inside(floor, x, y) for x, y in section.outline), section.code
    # "Floor VIP" and "Floor standing" are sold on the floor only, the stands' zones on
    # the stands only
    assert on_floor == {
        "Floor VIP": {"floor"},
        "Floor standing": {"floor"},
        "Stand A": {"stands"},
        "Stand B": {"stands"},
        "Stand C": {"stands"},
    }
    vip = rows.filter(zone__code="VIP")
    assert sorted(vip.values_list("section__code", flat=True)) == ["F1", "F2", "F3"]
    assert set(vip.values_list("section__kind", flat=True)) == {SectionKind.SEATED}
    ga = rows.get(zone__code="GA").section
    assert (ga.code, ga.kind, ga.capacity) == ("T1", SectionKind.STANDING, 2400)
    # the floor's seats exist: 3 blocks of 15 rows of 9, row 1 nearest the stage
    f1 = Seat.objects.filter(section__layout=arena, section__code="F1")
    assert f1.count() == 15 * 9
    (front,) = set(f1.filter(row__label="1").values_list("x", flat=True))
    (back,) = set(f1.filter(row__label="15").values_list("x", flat=True))
    assert abs(front - arena.focal_x) < abs(back - arena.focal_x)


@pytest.mark.django_db
def test_every_demo_event_has_its_committed_poster_as_image():
    # given the demo loaded (the tests' media storage is in memory)
    load_demo(now=NOW)

    # then every event shows a poster image, a copy of the committed file
    events = Event.objects.select_related("home_team", "away_team").prefetch_related("tags")
    assert events.count() == 63
    for event in events:
        assert event.picture_url == f"/media/events/demo/{event.slug}.svg"
        committed = poster_path(event.slug).read_text(encoding="utf-8")
        with default_storage.open(f"events/demo/{event.slug}.svg") as stored:
            assert stored.read().decode() == committed
        # and the committed file is what the code draws now
        assert committed == draw_poster(event)
        assert committed.startswith("<svg") and event.name in committed
