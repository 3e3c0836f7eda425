"""A small catalog the API and selector tests share, at a fixed moment.

``NOW`` is 1 June 2025, 12:00 in Shanghai. The scene holds a concert in Shanghai and
Beijing, a football match in Shanghai just before and just after midnight, a draft event,
a cancelled date and a past date; every datetime is written in the venue's local time.
"""

from types import SimpleNamespace

import pytest

from tessera.accounts.tests.factories import make_organization
from tessera.catalog.models import EventKind, EventStatus, SessionStatus, ZoneAssignment
from tessera.catalog.tests.factories import (
    make_artist,
    make_competition,
    make_event,
    make_season,
    make_session,
    make_tag,
    make_team,
    make_tour,
    make_zone,
)
from tessera.catalog.tests.helpers import NOW, local
from tessera.venues.models import Section
from tessera.venues.tests.factories import make_city, make_layout, make_venue


@pytest.fixture
def frozen_now(monkeypatch):
    """The API reads the clock once per request; here it always reads ``NOW``."""
    monkeypatch.setattr("tessera.catalog.api.clock_now", lambda: NOW)
    return NOW


@pytest.fixture
def scene(db, frozen_now):
    org = make_organization(name="星光演艺", name_en="Starlight Live", slug="starlight")
    shanghai = make_city(name="上海", name_en="Shanghai", slug="shanghai")
    beijing = make_city(name="北京", name_en="Beijing", slug="beijing")
    stadium = make_venue(
        city=shanghai,
        name="上海体育场",
        name_en="Shanghai Stadium",
        slug="shanghai-stadium",
        address="天钥桥路666号",
        address_en="666 Tianyaoqiao Road",
    )
    workers = make_venue(
        city=beijing, name="工人体育场", name_en="Workers Stadium", slug="workers-stadium"
    )
    # S1, S2: 2 rows x 5 seats each; GA: 100 standing places
    stadium_layout = make_layout(
        venue=stadium, sections=2, rows=2, seats_per_row=5, standing_capacity=100
    )
    workers_layout = make_layout(venue=workers, sections=1, rows=1, seats_per_row=4)

    pop = make_tag(slug="pop", name="流行", name_en="Pop")
    jay = make_artist(name="周杰伦", name_en="Jay Chou", slug="jay-chou", genre="Mandopop")
    tour = make_tour(
        organization=org,
        artist=jay,
        name="嘉年华世界巡回演唱会",
        name_en="Carnival World Tour",
        slug="carnival",
    )
    concert = make_event(
        organization=org,
        kind=EventKind.CONCERT,
        name="周杰伦嘉年华演唱会",
        name_en="Jay Chou Carnival",
        slug="jay-chou-carnival",
        description="夏夜之约",
        description_en="A summer night",
        tour=tour,
    )
    concert.tags.set([pop])
    concert.artists.set([jay])
    concert_sh = make_session(
        event=concert,
        layout=stadium_layout,
        starts_at=local(2025, 7, 5, 19, 30),
        ends_at=local(2025, 7, 5, 22, 0),
        doors_open_at=local(2025, 7, 5, 18, 0),
        on_sale_from=local(2025, 5, 20, 12, 0),
        on_sale_until=local(2025, 7, 5, 19, 0),
        max_tickets_per_order=4,
        max_tickets_per_account=6,
        hold_minutes=15,
    )
    vip = make_zone(
        session=concert_sh,
        code="VIP",
        price="1280.00",
        name="内场VIP",
        name_en="Floor VIP",
        color="#d4af37",
        sort_order=0,
    )
    zone_a = make_zone(
        session=concert_sh,
        code="A",
        price="380.00",
        name="看台A",
        name_en="Stand A",
        color="#3b82f6",
        sort_order=1,
    )
    sections = {s.code: s for s in Section.objects.filter(layout=stadium_layout)}
    ZoneAssignment.objects.create(session=concert_sh, zone=vip, section=sections["S1"])
    ZoneAssignment.objects.create(session=concert_sh, zone=zone_a, section=sections["S2"])
    ZoneAssignment.objects.create(session=concert_sh, zone=vip, section=sections["GA"])
    concert_bj = make_session(
        event=concert,
        layout=workers_layout,
        starts_at=local(2025, 7, 12, 19, 30),
        ends_at=local(2025, 7, 12, 22, 0),
    )
    make_zone(session=concert_bj, code="A", price="580.00", name="看台A", name_en="Stand A")
    cancelled = make_session(
        event=concert,
        layout=workers_layout,
        starts_at=local(2025, 7, 13, 19, 30),
        status=SessionStatus.CANCELLED,
    )
    past = make_session(event=concert, layout=stadium_layout, starts_at=local(2025, 5, 1, 19, 30))

    csl = make_competition(
        organization=org, name="中超联赛", name_en="Chinese Super League", slug="csl"
    )
    season = make_season(competition=csl)
    shenhua = make_team(
        organization=org,
        name="上海申花",
        name_en="Shanghai Shenhua",
        slug="shenhua",
        short_name="申花",
        city=shanghai,
        color="#0047ab",
    )
    guoan = make_team(
        organization=org,
        name="北京国安",
        name_en="Beijing Guoan",
        slug="guoan",
        short_name="国安",
        city=beijing,
        color="#00a651",
    )
    shenhua.competitions.set([csl])
    guoan.competitions.set([csl])
    match = make_event(
        organization=org,
        kind=EventKind.MATCH,
        name="上海申花 vs 北京国安",
        name_en="Shenhua vs Guoan",
        slug="shenhua-guoan",
        season=season,
        home_team=shenhua,
        away_team=guoan,
        round="第18轮",
    )
    # 23:30 on 5 July in Shanghai is 15:30 UTC on 5 July; 00:30 on 6 July in Shanghai is
    # 16:30 UTC on *5* July, and still 5 July in the test zone (São Paulo).
    late = make_session(event=match, layout=stadium_layout, starts_at=local(2025, 7, 5, 23, 30))
    after_midnight = make_session(
        event=match, layout=stadium_layout, starts_at=local(2025, 7, 6, 0, 30)
    )
    make_zone(session=late, code="B", price="180.00", name="看台B", name_en="Stand B")
    make_zone(session=after_midnight, code="B", price="120.00", name="看台B", name_en="Stand B")

    draft = make_event(
        organization=org,
        status=EventStatus.DRAFT,
        slug="secret-draft",
        name="未公布",
        name_en="Unannounced",
    )
    draft_session = make_session(
        event=draft, layout=stadium_layout, starts_at=local(2025, 7, 5, 20, 0)
    )
    make_zone(session=draft_session, code="A", price="100.00")
    return SimpleNamespace(**locals())
