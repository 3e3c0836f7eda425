"""Demo data: a league with a season of fixtures, a cup final, a concert tour and shows,
in a 60,000-place stadium, a 15,000-seat arena, a 2,000-seat concert hall and seven club
grounds across eight cities.

Loading is idempotent: a second run finds the demo marker and changes nothing. Dates are
placed around the day of loading, so the demo always has past and upcoming sessions.
"""

import math
import time as monotonic_time
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from tessera.accounts.models import Organization, OrganizationKind, Role, User
from tessera.accounts.services import add_member
from tessera.catalog.models import (
    Artist,
    Competition,
    CompetitionKind,
    Event,
    EventKind,
    EventStatus,
    PriceZone,
    Season,
    Session,
    Tag,
    Team,
    Tour,
    ZoneAssignment,
)
from tessera.checkin.demo import add_demo_checkin
from tessera.demo.posters import poster_path
from tessera.inventory.services import generate_units
from tessera.venues.bulk import PlannedRow, PlannedSeat, PlannedSection, write_sections
from tessera.venues.generator import LayoutSpec, generate_layout
from tessera.venues.models import City, Layout, Section, SectionKind, Venue
from tessera.waitingroom.demo import add_demo_waiting_room

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARKER_SLUG = "tessera-platform"
DEMO_PASSWORD = "tessera-demo"  # noqa: S105 - documented demo accounts, local use only

CITIES = [
    ("shanghai", "上海", "Shanghai"),
    ("beijing", "北京", "Beijing"),
    ("guangzhou", "广州", "Guangzhou"),
    ("chengdu", "成都", "Chengdu"),
    ("wuhan", "武汉", "Wuhan"),
    ("shenzhen", "深圳", "Shenzhen"),
    ("hangzhou", "杭州", "Hangzhou"),
    ("nanjing", "南京", "Nanjing"),
]

# slug, name, English name, short name, city, colour, ground, English ground name, lat, lng
TEAMS = [
    (
        "shanghai-shenlong",
        "上海申龙",
        "Shanghai Shenlong",
        "申龙",
        "shanghai",
        "#c8102e",
        "上海浦江体育场",
        "Shanghai Pujiang Stadium",
        "31.183300",
        "121.437800",
    ),
    (
        "beijing-lions",
        "北京雄狮",
        "Beijing Lions",
        "雄狮",
        "beijing",
        "#006a4e",
        "北京朝阳足球场",
        "Beijing Chaoyang Football Ground",
        "39.929700",
        "116.447000",
    ),
    (
        "guangzhou-kapok",
        "广州红棉",
        "Guangzhou Kapok",
        "红棉",
        "guangzhou",
        "#d7263d",
        "广州天河足球场",
        "Guangzhou Tianhe Football Ground",
        "23.138600",
        "113.325400",
    ),
    (
        "chengdu-pandas",
        "成都熊猫",
        "Chengdu Pandas",
        "熊猫",
        "chengdu",
        "#222222",
        "成都凤凰山足球场",
        "Chengdu Fenghuangshan Ground",
        "30.732100",
        "104.078500",
    ),
    (
        "wuhan-yangtze",
        "武汉长江",
        "Wuhan Yangtze",
        "长江",
        "wuhan",
        "#1d4ed8",
        "武汉江滩足球场",
        "Wuhan Riverside Ground",
        "30.592800",
        "114.305500",
    ),
    (
        "shenzhen-pengcheng",
        "深圳鹏城",
        "Shenzhen Pengcheng",
        "鹏城",
        "shenzhen",
        "#f59e0b",
        "深圳湾足球场",
        "Shenzhen Bay Ground",
        "22.515600",
        "113.945400",
    ),
    (
        "hangzhou-qiantang",
        "杭州钱塘",
        "Hangzhou Qiantang",
        "钱塘",
        "hangzhou",
        "#0ea5e9",
        "杭州钱江足球场",
        "Hangzhou Qianjiang Ground",
        "30.247700",
        "120.210800",
    ),
    (
        "nanjing-zijin",
        "南京紫金",
        "Nanjing Zijin",
        "紫金",
        "nanjing",
        "#7c3aed",
        "南京紫金山足球场",
        "Nanjing Zijinshan Ground",
        "32.058800",
        "118.796500",
    ),
]

TAGS = [
    ("football", "足球", "Football"),
    ("league", "联赛", "League"),
    ("cup", "杯赛", "Cup"),
    ("pop", "流行", "Pop"),
    ("rock", "摇滚", "Rock"),
    ("classical", "古典", "Classical"),
    ("musical", "音乐剧", "Musical"),
    ("comedy", "脱口秀", "Comedy"),
    ("family", "亲子", "Family"),
    ("derby", "德比", "Derby"),
]

# Price levels per kind of venue: (code, name, English name, colour, price).
STADIUM_ZONES = [
    ("VIP", "贵宾席", "VIP", "#b91c1c", "880.00"),
    ("A", "A 区", "Category A", "#ea580c", "480.00"),
    ("B", "B 区", "Category B", "#ca8a04", "280.00"),
    ("C", "C 区", "Category C", "#16a34a", "180.00"),
    ("T", "站票看台", "Standing terrace", "#0891b2", "100.00"),
]
ARENA_ZONES = [
    ("VIP", "内场贵宾", "Floor VIP", "#7e22ce", "1680.00"),
    ("A", "看台 A", "Stand A", "#db2777", "1080.00"),
    ("B", "看台 B", "Stand B", "#ea580c", "680.00"),
    ("C", "看台 C", "Stand C", "#0284c7", "380.00"),
    ("GA", "内场站票", "Floor standing", "#059669", "580.00"),
]
HALL_ZONES = [
    ("P", "池座前区", "Premium stalls", "#9f1239", "680.00"),
    ("A", "池座", "Stalls", "#c2410c", "480.00"),
    ("B", "楼座", "Circle", "#a16207", "280.00"),
    ("C", "楼座后区", "Balcony", "#15803d", "120.00"),
]


@dataclass
class DemoSummary:
    created: bool
    seconds: float
    counts: dict


def _local(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def _round_robin(team_count: int) -> list[list[tuple[int, int]]]:
    """Circle-method double round robin: each round is a list of (home, away) indexes."""
    teams = list(range(team_count))
    rounds = []
    for r in range(team_count - 1):
        pairs = []
        for i in range(team_count // 2):
            a, b = teams[i], teams[team_count - 1 - i]
            pairs.append((a, b) if (r + i) % 2 == 0 else (b, a))
        rounds.append(pairs)
        teams = [teams[0], teams[-1], *teams[1:-1]]
    return rounds + [[(b, a) for a, b in rnd] for rnd in rounds]


def _assign_zones_by_distance(
    session: Session,
    layout: Layout,
    zones: list[PriceZone],
    sections: list[Section],
    floor_codes: frozenset[str] = frozenset(),
) -> list[ZoneAssignment]:
    """Seated sections nearer the focal point get the dearer zones (quantiles of distance);
    standing sections go to the last zone. On a layout with a seated floor (``floor_codes``)
    the first zone is the floor's seats and the stands share the zones between the first and
    the last. Returns unsaved assignments."""
    floor = [s for s in sections if s.code in floor_codes and s.kind == SectionKind.SEATED]
    seated = [s for s in sections if s.kind == SectionKind.SEATED and s.code not in floor_codes]
    standing = [s for s in sections if s.kind == SectionKind.STANDING]
    seat_zones = zones[:-1] if standing else zones
    if floor:
        seat_zones = seat_zones[1:]
    seated.sort(key=lambda s: math.hypot(s.label_x - layout.focal_x, s.label_y - layout.focal_y))
    result = [ZoneAssignment(session=session, zone=zones[0], section=s) for s in floor]
    for index, section in enumerate(seated):
        band = min(len(seat_zones) - 1, index * len(seat_zones) // max(1, len(seated)))
        result.append(ZoneAssignment(session=session, zone=seat_zones[band], section=section))
    result += [ZoneAssignment(session=session, zone=zones[-1], section=s) for s in standing]
    return result


# The concert floor of the arena: an end stage, three seated floor blocks in front of it and
# standing behind them, in plan units of the arena layout.
FLOOR_BLOCKS = 3
FLOOR_ROWS = 15
FLOOR_SEATS_PER_ROW = 9
FLOOR_PITCH = 11.0  # between seats and between rows
FLOOR_STANDING_CAPACITY = 2400
STAGE_DEPTH = 60.0


def add_concert_floor(layout: Layout) -> frozenset[str]:
    """Put an end stage and sellable places on ``layout``'s floor: seated blocks F1-F3
    facing the stage (row 1 nearest it) and a standing area T1 behind them. The stage front
    becomes the focal point, so best available and the stands' zones look at the stage.
    Returns the codes of the seated floor blocks."""
    floor = next(shape for shape in layout.shapes if shape.get("kind") == "floor")
    xs = [p[0] for p in floor["points"]]
    ys = [p[1] for p in floor["points"]]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    cy = (y0 + y1) / 2
    stage_front = x0 + STAGE_DEPTH
    stage_half = (y1 - y0) * 0.3
    layout.shapes = [
        *layout.shapes,
        {
            "kind": "stage",
            "label": "舞台",
            "label_en": "Stage",
            "points": [
                [x0, round(cy - stage_half, 1)],
                [stage_front, round(cy - stage_half, 1)],
                [stage_front, round(cy + stage_half, 1)],
                [x0, round(cy + stage_half, 1)],
            ],
        },
    ]
    layout.focal_x, layout.focal_y, layout.focal_label = stage_front, cy, "舞台"
    layout.save(update_fields=["shapes", "focal_x", "focal_y", "focal_label"])

    p = FLOOR_PITCH
    block_height = FLOOR_SEATS_PER_ROW * p
    aisle = ((y1 - y0) - 20 - FLOOR_BLOCKS * block_height) / (FLOOR_BLOCKS - 1)
    first_row_x = stage_front + 2.5 * p
    last_row_x = first_row_x + (FLOOR_ROWS - 1) * p
    sections = []
    for b in range(FLOOR_BLOCKS):
        top = y0 + 10 + b * (block_height + aisle)
        code = f"F{b + 1}"
        section = PlannedSection(
            code=code,
            name=f"内场 {code} 区",
            name_en=f"Floor block {code}",
            kind=SectionKind.SEATED,
            tier=1,
            outline=[
                [round(first_row_x - p / 2, 1), round(top, 1)],
                [round(last_row_x + p / 2, 1), round(top, 1)],
                [round(last_row_x + p / 2, 1), round(top + block_height, 1)],
                [round(first_row_x - p / 2, 1), round(top + block_height, 1)],
            ],
            label_x=round((first_row_x + last_row_x) / 2, 1),
            label_y=round(top + block_height / 2, 1),
        )
        for r in range(FLOOR_ROWS):
            x = round(first_row_x + r * p, 1)
            seats = [
                PlannedSeat(
                    str(i),
                    i,
                    x,
                    round(top + (i - 0.5) * p, 1),
                    is_aisle=i in (1, FLOOR_SEATS_PER_ROW),
                )
                for i in range(1, FLOOR_SEATS_PER_ROW + 1)
            ]
            section.rows.append(PlannedRow(label=str(r + 1), seats=seats))
        sections.append(section)
    standing_x0 = last_row_x + 2.5 * p
    sections.append(
        PlannedSection(
            code="T1",
            name="内场站票",
            name_en="Floor standing",
            kind=SectionKind.STANDING,
            tier=1,
            outline=[
                [round(standing_x0, 1), y0 + 10],
                [x1 - 10, y0 + 10],
                [x1 - 10, y1 - 10],
                [round(standing_x0, 1), y1 - 10],
            ],
            label_x=round((standing_x0 + x1 - 10) / 2, 1),
            label_y=round(cy, 1),
            capacity=FLOOR_STANDING_CAPACITY,
        )
    )
    write_sections(layout=layout, sections=sections)
    return frozenset(s.code for s in sections if s.kind == SectionKind.SEATED)


class _Loader:
    def __init__(self, *, now: datetime, stdout=None):
        self.now = now
        self.today = now.astimezone(SHANGHAI).date()
        self.stdout = stdout
        self.sections_by_layout: dict[int, list[Section]] = {}
        self.zone_rows: list[tuple[Session, list[tuple]]] = []
        self.floor_codes: dict[int, frozenset[str]] = {}

    def say(self, text: str) -> None:
        if self.stdout is not None:
            self.stdout.write(text)

    # -- people and organizations -----------------------------------------------------
    def organizations(self) -> None:
        def org(slug, kind, name, name_en):
            return Organization.objects.create(
                slug=slug,
                kind=kind,
                name=name,
                name_en=name_en,
                contact_email=f"hello@{slug}.example",
            )

        self.platform = org(
            MARKER_SLUG, OrganizationKind.PLATFORM, "票仓平台运营", "Tessera Platform Operations"
        )
        self.league_org = org(
            "huaxia-league",
            OrganizationKind.ORGANIZER,
            "华夏足球联赛有限公司",
            "Huaxia Football League Co.",
        )
        self.live_org = org(
            "starlight-live",
            OrganizationKind.ORGANIZER,
            "星光现场娱乐",
            "Starlight Live Entertainment",
        )
        self.venue_org = org(
            "city-venues", OrganizationKind.VENUE_OPERATOR, "城市场馆管理集团", "City Venues Group"
        )
        self.distributor = org(
            "fast-tickets", OrganizationKind.DISTRIBUTOR, "快票分销", "FastTickets Distribution"
        )

        def user(username, display, email, superuser=False):
            u = User(
                username=username,
                display_name=display,
                email=email,
                is_staff=superuser,
                is_superuser=superuser,
            )
            u.set_password(DEMO_PASSWORD)
            u.save()
            return u

        admin = user("admin", "平台管理员", "admin@tessera.example", superuser=True)
        add_member(organization=self.platform, user=admin, role=Role.OWNER)
        add_member(
            organization=self.league_org,
            user=user("league", "联赛票务经理", "tickets@huaxia-league.example"),
            role=Role.MANAGER,
        )
        add_member(
            organization=self.live_org,
            user=user("organizer", "星光票务经理", "tickets@starlight-live.example"),
            role=Role.MANAGER,
        )
        add_member(
            organization=self.venue_org,
            user=user("venue", "场馆运营", "ops@city-venues.example"),
            role=Role.MANAGER,
        )
        add_member(
            organization=self.distributor,
            user=user("distributor", "快票渠道", "api@fast-tickets.example"),
            role=Role.STAFF,
        )
        user("fan", "球迷小王", "fan@example.com")

    # -- places ---------------------------------------------------------------------------
    def places(self) -> None:
        self.cities = {
            slug: City.objects.create(slug=slug, name=name, name_en=name_en)
            for slug, name, name_en in CITIES
        }
        self.grounds: dict[str, Layout] = {}
        for slug, _n, _e, _s, city, _c, ground, ground_en, lat, lng in TEAMS:
            venue = Venue.objects.create(
                organization=self.venue_org,
                city=self.cities[city],
                name=ground,
                name_en=ground_en,
                slug=f"{city}-ground" if city != "shanghai" else "pujiang-stadium",
                address=f"{self.cities[city].name}市体育路 1 号",
                address_en=f"1 Sports Road, {self.cities[city].name_en}",
                latitude=Decimal(lat),
                longitude=Decimal(lng),
            )
            spec = LayoutSpec.stadium_60k() if city == "shanghai" else LayoutSpec.compact_stadium()
            self.grounds[slug] = generate_layout(
                venue=venue, spec=spec, name="足球", name_en="Football"
            )
        arena = Venue.objects.create(
            organization=self.venue_org,
            city=self.cities["beijing"],
            name="北京星光体育馆",
            name_en="Beijing Starlight Arena",
            slug="starlight-arena",
            address="北京市朝阳区星光大道 8 号",
            address_en="8 Starlight Avenue, Chaoyang, Beijing",
            latitude=Decimal("39.906900"),
            longitude=Decimal("116.397400"),
        )
        self.arena = generate_layout(
            venue=arena, spec=LayoutSpec.arena_15k(), name="演唱会", name_en="Concert"
        )
        self.floor_codes[self.arena.pk] = add_concert_floor(self.arena)
        hall = Venue.objects.create(
            organization=self.venue_org,
            city=self.cities["shanghai"],
            name="上海江畔音乐厅",
            name_en="Shanghai Riverside Concert Hall",
            slug="riverside-hall",
            address="上海市黄浦区滨江大道 100 号",
            address_en="100 Riverside Avenue, Huangpu, Shanghai",
            latitude=Decimal("31.240200"),
            longitude=Decimal("121.490700"),
        )
        self.hall = generate_layout(
            venue=hall, spec=LayoutSpec.theatre_2k(), name="音乐厅", name_en="Concert hall"
        )
        for layout in [*self.grounds.values(), self.arena, self.hall]:
            self.sections_by_layout[layout.pk] = list(layout.sections.all())

    # -- catalog --------------------------------------------------------------------------
    def session(
        self,
        event: Event,
        layout: Layout,
        starts_at: datetime,
        zones: list,
        *,
        hours: float = 2.0,
        on_sale_days: int = 30,
        max_per_order: int = 6,
    ) -> Session:
        session = Session.objects.create(
            event=event,
            layout=layout,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=hours),
            doors_open_at=starts_at - timedelta(minutes=90),
            on_sale_from=starts_at - timedelta(days=on_sale_days),
            on_sale_until=starts_at - timedelta(minutes=30),
            max_tickets_per_order=max_per_order,
            max_tickets_per_account=max_per_order,
        )
        self.zone_rows.append((session, zones))
        return session

    def sports(self) -> None:
        self.tags = {
            slug: Tag.objects.create(slug=slug, name=name, name_en=name_en)
            for slug, name, name_en in TAGS
        }
        league = Competition.objects.create(
            organization=self.league_org,
            kind=CompetitionKind.LEAGUE,
            name="华夏足球超级联赛",
            name_en="Huaxia Super League",
            slug="huaxia-super-league",
        )
        cup = Competition.objects.create(
            organization=self.league_org,
            kind=CompetitionKind.CUP,
            name="华夏足协杯",
            name_en="Huaxia FA Cup",
            slug="huaxia-fa-cup",
        )
        first_round = self.today - timedelta(days=self.today.weekday() + 2 + 7 * 6)  # a Saturday
        season = Season.objects.create(
            competition=league,
            name=f"{first_round.year}赛季",
            name_en=f"{first_round.year} season",
            starts_on=first_round,
            ends_on=first_round + timedelta(weeks=14),
        )
        teams = []
        for slug, name, name_en, short, city, colour, *_rest in TEAMS:
            team = Team.objects.create(
                organization=self.league_org,
                slug=slug,
                name=name,
                name_en=name_en,
                short_name=short,
                city=self.cities[city],
                color=colour,
                home_venue=self.grounds[slug].venue,
            )
            team.competitions.add(league, cup)
            teams.append(team)
        football, league_tag, derby = self.tags["football"], self.tags["league"], self.tags["derby"]
        for round_index, pairs in enumerate(_round_robin(len(teams))):
            for match_index, (h, a) in enumerate(pairs):
                home, away = teams[h], teams[a]
                day = first_round + timedelta(weeks=round_index, days=match_index // 2)
                starts = _local(day, 19, 35) if match_index % 2 else _local(day, 15, 30)
                event = Event.objects.create(
                    organization=self.league_org,
                    kind=EventKind.MATCH,
                    status=EventStatus.PUBLISHED,
                    slug=f"hsl-r{round_index + 1}-{home.slug}-vs-{away.slug}",
                    name=f"{home.name} vs {away.name}",
                    name_en=f"{home.name_en} vs {away.name_en}",
                    description=(
                        f"华夏足球超级联赛第{round_index + 1}轮，{home.name}主场迎战{away.name}。"
                    ),
                    description_en=(
                        f"Huaxia Super League round {round_index + 1}: "
                        f"{home.name_en} host {away.name_en}."
                    ),
                    season=season,
                    home_team=home,
                    away_team=away,
                    round=str(round_index + 1),
                    is_featured=(home.slug, away.slug) == ("shanghai-shenlong", "beijing-lions"),
                )
                event.tags.add(football, league_tag)
                if {home.slug, away.slug} == {"shanghai-shenlong", "hangzhou-qiantang"}:
                    event.tags.add(derby)
                zones = STADIUM_ZONES if home.slug == "shanghai-shenlong" else STADIUM_ZONES[1:]
                self.session(event, self.grounds[home.slug], starts, zones)
        final_day = first_round + timedelta(weeks=15)
        final = Event.objects.create(
            organization=self.league_org,
            kind=EventKind.MATCH,
            status=EventStatus.PUBLISHED,
            slug="huaxia-fa-cup-final",
            name="华夏足协杯决赛：上海申龙 vs 广州红棉",
            name_en="Huaxia FA Cup Final: Shanghai Shenlong vs Guangzhou Kapok",
            description="一场定胜负。浦江体育场六万人见证冠军诞生。",
            description_en="One match, one trophy, sixty thousand fans at Pujiang Stadium.",
            home_team=teams[0],
            away_team=teams[2],
            round="决赛",
            is_featured=True,
        )
        final.tags.add(football, self.tags["cup"])
        self.session(
            final,
            self.grounds["shanghai-shenlong"],
            _local(final_day, 19, 35),
            STADIUM_ZONES,
            max_per_order=4,
            on_sale_days=120,
        )

    def live(self) -> None:
        artist = Artist.objects.create(
            slug="lin-xia",
            name="林夏",
            name_en="Lin Xia",
            genre="流行 / Pop",
            bio="创作型歌手，以城市民谣与电子流行著称。",
            bio_en="Singer-songwriter known for city folk and electronic pop.",
        )
        band = Artist.objects.create(
            slug="north-wind",
            name="北风乐队",
            name_en="North Wind",
            genre="摇滚 / Rock",
            bio="来自北京的五人摇滚乐队。",
            bio_en="A five-piece rock band from Beijing.",
        )
        orchestra = Artist.objects.create(
            slug="riverside-symphony",
            name="江畔交响乐团",
            name_en="Riverside Symphony Orchestra",
            genre="古典 / Classical",
        )
        tour = Tour.objects.create(
            organization=self.live_org,
            artist=artist,
            slug="lin-xia-galaxy-tour",
            name="林夏「星河」巡回演唱会",
            name_en="Lin Xia Galaxy Tour",
        )
        galaxy = Event.objects.create(
            organization=self.live_org,
            kind=EventKind.CONCERT,
            status=EventStatus.PUBLISHED,
            slug="lin-xia-galaxy-tour-beijing",
            name="林夏「星河」巡回演唱会 北京站",
            name_en="Lin Xia Galaxy Tour: Beijing",
            tour=tour,
            is_featured=True,
            description="星河巡演北京两场，全新舞台与乐队编制。",
            description_en="Two nights in Beijing with a new stage and full band.",
        )
        galaxy.artists.add(artist)
        galaxy.tags.add(self.tags["pop"])
        for offset in (24, 25):
            self.session(
                galaxy,
                self.arena,
                _local(self.today + timedelta(days=offset), 19, 30),
                ARENA_ZONES,
                hours=3,
                on_sale_days=40,
                max_per_order=4,
            )
        rock = Event.objects.create(
            organization=self.live_org,
            kind=EventKind.CONCERT,
            status=EventStatus.PUBLISHED,
            slug="north-wind-live",
            name="北风乐队 十周年现场",
            name_en="North Wind: 10 Years Live",
            description="十年之约，一夜重燃。",
            description_en="Ten years on, one night only.",
        )
        rock.artists.add(band)
        rock.tags.add(self.tags["rock"])
        self.session(
            rock, self.arena, _local(self.today + timedelta(days=47), 20, 0), ARENA_ZONES, hours=2.5
        )
        gala = Event.objects.create(
            organization=self.live_org,
            kind=EventKind.CONCERT,
            status=EventStatus.PUBLISHED,
            slug="new-year-symphony-gala",
            name="新年交响音乐会",
            name_en="New Year Symphony Gala",
            description="施特劳斯圆舞曲与中国经典作品。",
            description_en="Strauss waltzes and Chinese classics to open the year.",
            is_featured=True,
        )
        gala.artists.add(orchestra)
        gala.tags.add(self.tags["classical"], self.tags["family"])
        new_year = date(self.today.year + 1, 1, 1)
        for day in (new_year - timedelta(days=1), new_year):
            self.session(gala, self.hall, _local(day, 19, 30), HALL_ZONES, hours=2)
        musical = Event.objects.create(
            organization=self.live_org,
            kind=EventKind.SHOW,
            status=EventStatus.PUBLISHED,
            slug="moonlight-postman",
            name="原创音乐剧《月光邮差》",
            name_en="The Moonlight Postman (musical)",
            description="一位邮差在月光下送出的最后一封信。",
            description_en="A postman's last letter, delivered by moonlight.",
        )
        musical.tags.add(self.tags["musical"], self.tags["family"])
        for offset in (3, 4, 10, 11, 17, 18):
            self.session(
                musical,
                self.hall,
                _local(self.today + timedelta(days=offset), 19, 30),
                HALL_ZONES,
                hours=2.5,
            )
        comedy = Event.objects.create(
            organization=self.live_org,
            kind=EventKind.SHOW,
            status=EventStatus.PUBLISHED,
            slug="stand-up-night",
            name="周五脱口秀之夜",
            name_en="Friday Stand-up Night",
            description="五位喜剧演员，一个不设防的夜晚。",
            description_en="Five comedians, one unguarded evening.",
        )
        comedy.tags.add(self.tags["comedy"])
        friday = self.today + timedelta(days=(4 - self.today.weekday()) % 7 or 7)
        for week in range(4):
            self.session(
                comedy,
                self.hall,
                _local(friday + timedelta(weeks=week), 20, 0),
                HALL_ZONES[1:],
                hours=1.5,
            )
        Event.objects.create(
            organization=self.live_org,
            kind=EventKind.CONCERT,
            status=EventStatus.DRAFT,
            slug="summer-festival-draft",
            name="夏日音乐节（筹备中）",
            name_en="Summer Festival (in preparation)",
        )

    def policies(self) -> None:
        """After-sales policies: league matches refund until a day before kick-off with a
        fee that grows toward the match and with demand, and transfer once; the cup final
        does not refund but exchanges for other seats; concerts and shows refund (a fee of
        0 / 10 / 20 %, between ¥5 and ¥100) or exchange to another date until two days
        before the curtain, and transfer once."""
        from tessera.catalog.services import set_policy

        for event in Event.objects.filter(kind=EventKind.MATCH).order_by("pk"):
            if event.slug == "huaxia-fa-cup-final":
                set_policy(
                    event=event,
                    actor=None,
                    now=self.now,
                    is_exchangeable=True,
                    exchange_cutoff_hours=72,
                    exchange_fee=Decimal("20.00"),
                    exchange_to_other_sessions=False,
                    is_transferable=True,
                    max_transfers=2,
                    note="决赛门票不退；开赛72小时前可换成其他座位，每张手续费20元。",
                    note_en="Final tickets are not refundable; they can be exchanged for other "
                    "seats until 72 hours before kick-off, for ¥20 a ticket.",
                )
                continue
            set_policy(
                event=event,
                actor=None,
                now=self.now,
                tiers=[(168, Decimal(0)), (72, Decimal(5)), (0, Decimal(10))],
                is_refundable=True,
                refund_cutoff_hours=24,
                has_demand_fee=True,
                demand_fee_floor=Decimal(0),
                demand_fee_cap=Decimal(20),
                demand_from_sold=Decimal(80),
                is_transferable=True,
                max_transfers=1,
                note="退款按原支付方式退回。",
                note_en="Refunds go back to the original payment method.",
            )
        for event in Event.objects.exclude(kind=EventKind.MATCH).order_by("pk"):
            set_policy(
                event=event,
                actor=None,
                now=self.now,
                tiers=[(720, Decimal(0)), (168, Decimal(10)), (0, Decimal(20))],
                is_refundable=True,
                refund_cutoff_hours=48,
                fee_min=Decimal(5),
                fee_max=Decimal(100),
                is_exchangeable=True,
                exchange_cutoff_hours=48,
                is_transferable=True,
                max_transfers=1,
                note="演出开始前48小时内不再受理退换。",
                note_en="No refunds or exchanges within 48 hours of the show.",
            )

    def price_zones(self) -> None:
        zones = PriceZone.objects.bulk_create(
            [
                PriceZone(
                    session=session,
                    code=code,
                    name=name,
                    name_en=name_en,
                    color=colour,
                    price=Decimal(price),
                    currency="CNY",
                    sort_order=order,
                )
                for session, spec in self.zone_rows
                for order, (code, name, name_en, colour, price) in enumerate(spec)
            ]
        )
        by_session: dict[int, list[PriceZone]] = {}
        for zone in zones:
            by_session.setdefault(zone.session_id, []).append(zone)
        assignments = []
        for session, _spec in self.zone_rows:
            layout = session.layout
            assignments += _assign_zones_by_distance(
                session,
                layout,
                by_session[session.pk],
                self.sections_by_layout[layout.pk],
                self.floor_codes.get(layout.pk, frozenset()),
            )
        ZoneAssignment.objects.bulk_create(assignments, batch_size=2000)

    def posters(self) -> None:
        """Attach each event's poster (``posters/<slug>.svg``, drawn by ``demo.posters``) as
        its image; the file is copied into the media storage once."""
        for event in Event.objects.order_by("pk"):
            source = poster_path(event.slug)
            if not source.exists():
                continue
            name = f"events/demo/{source.name}"
            if not default_storage.exists(name):
                name = default_storage.save(name, ContentFile(source.read_bytes()))
            event.image.name = name
            event.save(update_fields=["image"])

    def units(self) -> None:
        """Sellable places for the sessions on sale now: the next round of league matches,
        the featured events and the shows (``manage.py generate_units`` opens the others)."""
        league_left = 4
        for session, _spec in sorted(self.zone_rows, key=lambda row: row[0].starts_at):
            if not session.is_on_sale(self.now):
                continue
            event = session.event
            if event.season_id and not event.is_featured:
                if league_left == 0:
                    continue
                league_left -= 1
            generate_units(session=session, now=self.now)


def demo_present() -> bool:
    return Organization.objects.filter(slug=MARKER_SLUG).exists()


def load_demo(*, now: datetime, stdout=None) -> DemoSummary:
    """Load the demo once. Returns what exists afterwards and whether this call created it."""
    started = monotonic_time.perf_counter()
    created = False
    with transaction.atomic():
        if not demo_present():
            loader = _Loader(now=now, stdout=stdout)
            loader.organizations()
            loader.places()
            loader.sports()
            loader.live()
            loader.policies()
            loader.price_zones()
            loader.posters()
            loader.units()
            add_demo_waiting_room(now=now)
            add_demo_checkin(now=now)
            created = True
    from tessera.venues.models import Seat

    counts = {
        "cities": City.objects.count(),
        "venues": Venue.objects.count(),
        "layouts": Layout.objects.count(),
        "sections": Section.objects.count(),
        "seats": Seat.objects.count(),
        "events": Event.objects.count(),
        "sessions": Session.objects.count(),
        "price_zones": PriceZone.objects.count(),
        "teams": Team.objects.count(),
    }
    return DemoSummary(
        created=created, seconds=monotonic_time.perf_counter() - started, counts=counts
    )
