"""A small public catalogue the storefront tests read: two cities, two venues, a featured
concert, a football match and a draft, all in December 2040 (local time Asia/Shanghai)."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tessera.accounts.tests.factories import make_organization
from tessera.catalog.models import Artist, EventKind, EventStatus, Tag, Team, ZoneAssignment
from tessera.catalog.tests.factories import make_event, make_session, make_zone
from tessera.venues.models import Section
from tessera.venues.tests.factories import make_city, make_layout, make_venue

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@dataclass
class World:
    shanghai_city: object
    beijing_city: object
    arena: object
    stadium: object
    concert: object
    concert_session: object
    match: object
    match_session: object
    draft: object
    artist: object
    home_team: object
    away_team: object


def assign_sections(session, zones_by_code: dict) -> None:
    """Put whole sections (by code) into zones of ``session``."""
    sections = {s.code: s for s in Section.objects.filter(layout=session.layout)}
    ZoneAssignment.objects.bulk_create(
        ZoneAssignment(session=session, section=sections[code], zone=zone)
        for code, zone in zones_by_code.items()
    )


@pytest.fixture
def world(db) -> World:
    organizer = make_organization(name="星光娱乐", name_en="Starlight Entertainment")
    shanghai_city = make_city(name="上海", name_en="Shanghai", slug="shanghai")
    beijing_city = make_city(name="北京", name_en="Beijing", slug="beijing")
    arena = make_venue(
        city=shanghai_city,
        name="梅赛德斯奔驰文化中心",
        name_en="Mercedes-Benz Arena",
        slug="mb-arena",
        address="浦东新区世博大道1200号",
        address_en="1200 Expo Avenue, Pudong",
        latitude="31.189700",
        longitude="121.493300",
    )
    stadium = make_venue(
        city=beijing_city, name="工人体育场", name_en="Workers' Stadium", slug="workers-stadium"
    )
    arena_layout = make_layout(
        venue=arena, sections=2, rows=1, seats_per_row=2, standing_capacity=100
    )
    stadium_layout = make_layout(venue=stadium, sections=2, rows=1, seats_per_row=2)

    artist = Artist.objects.create(name="周杰伦", name_en="Jay Chou", slug="jay-chou")
    concert = make_event(
        organization=organizer,
        kind=EventKind.CONCERT,
        name="周杰伦嘉年华演唱会",
        name_en="Jay Chou Carnival Tour",
        slug="jay-carnival",
        is_featured=True,
        description="两小时的经典曲目。",
        description_en="Two hours of classics.",
    )
    concert.artists.add(artist)
    concert.tags.add(Tag.objects.create(slug="pop", name="流行", name_en="Pop"))
    concert_session = make_session(
        event=concert, layout=arena_layout, starts_at=shanghai(2040, 12, 25, 19, 30)
    )
    vip = make_zone(
        session=concert_session,
        code="VIP",
        price="1280.00",
        name="内场VIP",
        name_en="Floor VIP",
        color="#c0392b",
        sort_order=0,
    )
    cheap = make_zone(
        session=concert_session,
        code="B",
        price="280.00",
        name="看台B",
        name_en="Stand B",
        color="#2e86de",
        sort_order=1,
    )
    assign_sections(concert_session, {"S1": vip, "S2": cheap})

    home_team = Team.objects.create(
        organization=organizer,
        name="北京国安",
        name_en="Beijing Guoan",
        slug="guoan",
        city=beijing_city,
        color="#0a7a3b",
    )
    away_team = Team.objects.create(
        organization=organizer,
        name="上海申花",
        name_en="Shanghai Shenhua",
        slug="shenhua",
        city=shanghai_city,
        color="#1f3fbf",
    )
    match = make_event(
        organization=organizer,
        kind=EventKind.MATCH,
        name="北京国安 vs 上海申花",
        name_en="Beijing Guoan vs Shanghai Shenhua",
        slug="guoan-shenhua",
        home_team=home_team,
        away_team=away_team,
    )
    match_session = make_session(
        event=match, layout=stadium_layout, starts_at=shanghai(2040, 12, 26, 0, 30)
    )
    make_zone(
        session=match_session,
        code="A",
        price="180.00",
        name="A区",
        name_en="Zone A",
        color="#16a34a",
    )

    draft = make_event(
        organization=organizer,
        status=EventStatus.DRAFT,
        name="未公布的演出",
        name_en="Secret Show",
        slug="secret-show",
        is_featured=True,
    )
    make_session(event=draft, layout=arena_layout, starts_at=shanghai(2040, 12, 20, 20, 0))
    return World(
        shanghai_city=shanghai_city,
        beijing_city=beijing_city,
        arena=arena,
        stadium=stadium,
        concert=concert,
        concert_session=concert_session,
        match=match,
        match_session=match_session,
        draft=draft,
        artist=artist,
        home_team=home_team,
        away_team=away_team,
    )


def make_stadium_layout(*, venue, sections: int = 80):
    """A bowl of ``sections`` sections (two tiers) around a pitch, outlines only (no seats),
    like an 80-section, 60,000-seat football stadium."""
    import math

    from tessera.venues.models import Layout

    layout = Layout.objects.create(
        venue=venue,
        name="足球",
        name_en="Football",
        width=1200,
        height=800,
        focal_x=600,
        focal_y=400,
        focal_label="球场",
        shapes=[
            {
                "kind": "pitch",
                "x": 420,
                "y": 280,
                "width": 360,
                "height": 240,
                "label": "球场",
                "label_en": "Pitch",
            }
        ],
    )
    per_tier = sections // 2
    tiers = [(1, 0, (250, 170), (370, 250)), (2, per_tier, (385, 262), (540, 365))]
    rows = []
    for tier, offset, (in_a, in_b), (out_a, out_b) in tiers:
        count = per_tier if tier == 1 else sections - per_tier
        for i in range(count):
            a0 = 2 * math.pi * i / count
            a1 = 2 * math.pi * (i + 1) / count
            gap = 0.004
            arc = [a0 + gap + (a1 - a0 - 2 * gap) * k / 3 for k in range(4)]
            inner = [[600 + in_a * math.cos(a), 400 + in_b * math.sin(a)] for a in arc]
            outer = [[600 + out_a * math.cos(a), 400 + out_b * math.sin(a)] for a in arc]
            mid = (a0 + a1) / 2
            rows.append(
                Section(
                    layout=layout,
                    code=f"{tier}{i + 1:02d}",
                    name=f"{tier}层{i + 1}区",
                    name_en=f"Tier {tier} block {i + 1}",
                    tier=tier,
                    sort_order=offset + i,
                    outline=[[round(x, 1), round(y, 1)] for x, y in inner + outer[::-1]],
                    label_x=round(600 + (in_a + out_a) / 2 * math.cos(mid), 1),
                    label_y=round(400 + (in_b + out_b) / 2 * math.sin(mid), 1),
                )
            )
    Section.objects.bulk_create(rows)
    return layout


def price_stadium(session) -> dict:
    """Four zones over the bowl: VIP on the lower sidelines, A on the rest of the lower tier,
    B and C upstairs; the first upper block stays unsold (grey)."""
    zones = {
        "VIP": make_zone(
            session=session,
            code="VIP",
            price="1280.00",
            name="贵宾席",
            name_en="VIP",
            color="#b91c1c",
            sort_order=0,
        ),
        "A": make_zone(
            session=session,
            code="A",
            price="680.00",
            name="A区",
            name_en="Zone A",
            color="#ea580c",
            sort_order=1,
        ),
        "B": make_zone(
            session=session,
            code="B",
            price="380.00",
            name="B区",
            name_en="Zone B",
            color="#2563eb",
            sort_order=2,
        ),
        "C": make_zone(
            session=session,
            code="C",
            price="180.00",
            name="C区",
            name_en="Zone C",
            color="#0d9488",
            sort_order=3,
        ),
    }
    sections = list(Section.objects.filter(layout=session.layout).order_by("sort_order"))
    lower = [s for s in sections if s.tier == 1]
    upper = [s for s in sections if s.tier == 2]
    assignments = []
    n = len(lower)
    for i, section in enumerate(lower):
        # Angles near 0 and pi are the ends (behind the goals); the sidelines are VIP.
        position = (i + 0.5) / n
        sideline = 0.15 < position % 0.5 < 0.35
        assignments.append(
            ZoneAssignment(session=session, section=section, zone=zones["VIP" if sideline else "A"])
        )
    for i, section in enumerate(upper[1:], start=1):
        assignments.append(
            ZoneAssignment(session=session, section=section, zone=zones["B" if i % 2 else "C"])
        )
    ZoneAssignment.objects.bulk_create(assignments)
    return zones


@pytest.fixture
def showcase(world):
    """The world plus a featured 80-section stadium match and a few more featured events,
    so that pages look like a real catalogue in screenshots."""
    from tessera.catalog.models import EventKind

    organizer = world.concert.organization
    layout = make_stadium_layout(venue=world.stadium, sections=80)
    derby = make_event(
        organization=organizer,
        kind=EventKind.MATCH,
        name="京沪德比：国安 vs 申花",
        name_en="Capital Derby: Guoan vs Shenhua",
        slug="capital-derby",
        home_team=world.home_team,
        away_team=world.away_team,
        is_featured=True,
        round="第30轮",
        description="赛季收官之战。",
        description_en="The last match of the season.",
    )
    derby_session = make_session(
        event=derby, layout=layout, starts_at=shanghai(2040, 12, 22, 19, 35)
    )
    price_stadium(derby_session)
    extra = [
        (
            "show",
            "《猫》音乐剧中文版",
            "CATS the Musical (Chinese)",
            "cats",
            world.arena,
            (2040, 12, 18, 19, 30),
            "380.00",
        ),
        (
            "concert",
            "新年交响音乐会",
            "New Year Symphony Gala",
            "new-year-gala",
            world.arena,
            (2040, 12, 31, 20, 0),
            "180.00",
        ),
        (
            "other",
            "城市电竞总决赛",
            "City Esports Finals",
            "esports-finals",
            world.stadium,
            (2041, 1, 9, 14, 0),
            "120.00",
        ),
    ]
    for kind, name, name_en, slug, venue, when, price in extra:
        event = make_event(
            organization=organizer,
            kind=kind,
            name=name,
            name_en=name_en,
            slug=slug,
            is_featured=True,
        )
        layout_ = make_layout(venue=venue, sections=3, rows=1, seats_per_row=2)
        session = make_session(event=event, layout=layout_, starts_at=shanghai(*when))
        make_zone(session=session, code="A", price=price, color="#7c3aed")
    return world


@pytest.fixture
def sale():
    """A small session on sale: two seated sections of 2 rows x 6 seats and 10 standing."""
    from tessera.inventory.tests.factories import make_sale

    return make_sale(sections=2, rows=2, seats_per_row=6, standing_capacity=10)


@pytest.fixture
def fan(client):
    """A signed-in buyer."""
    from tessera.accounts.tests.factories import make_user

    user = make_user(email="fan@example.com")
    client.force_login(user)
    return user
