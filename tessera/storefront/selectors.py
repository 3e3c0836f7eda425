"""Reads the fan-facing pages need beyond ``tessera.catalog.selectors``.

Every function here is a fixed, small number of queries whatever the size of the data:
the event page of a 60,000-seat stadium with 80+ sections must stay fast.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q

from tessera.catalog.models import (
    Artist,
    Event,
    EventStatus,
    PriceZone,
    Session,
    Team,
    ZoneAssignment,
)
from tessera.catalog.selectors import public_sessions
from tessera.venues.models import City, Section, Venue


def list_upcoming_sessions(*, now: datetime, limit: int = 8) -> list[Session]:
    """The next public sessions, soonest first."""
    return list(public_sessions().filter(starts_at__gte=now).order_by("starts_at", "id")[:limit])


def next_sessions_of(events: list[Event], *, now: datetime) -> dict[int, Session]:
    """Map event id → its next upcoming public session (with venue and city), one query."""
    ids = [e.id for e in events]
    if not ids:
        return {}
    result: dict[int, Session] = {}
    sessions = (
        public_sessions()
        .filter(event_id__in=ids, starts_at__gte=now)
        .order_by("event_id", "starts_at", "id")
    )
    for session in sessions:
        result.setdefault(session.event_id, session)
    return result


@dataclass(frozen=True)
class FilterChoices:
    """What the search form offers: cities, teams and artists that have public events."""

    cities: list[City]
    teams: list[Team]
    artists: list[Artist]

    def has_city(self, slug: str) -> bool:
        return any(c.slug == slug for c in self.cities)

    def has_team(self, slug: str) -> bool:
        return any(t.slug == slug for t in self.teams)

    def has_artist(self, slug: str) -> bool:
        return any(a.slug == slug for a in self.artists)


def list_filter_choices() -> FilterChoices:
    """Cities with a venue, teams in a published fixture and artists of a published event
    (three queries)."""
    published = Event.objects.filter(status=EventStatus.PUBLISHED, organization__is_sandbox=False)
    cities = City.objects.filter(
        Exists(Venue.objects.filter(city=OuterRef("pk"), organization__is_sandbox=False))
    )
    teams = Team.objects.filter(
        Exists(published.filter(Q(home_team=OuterRef("pk")) | Q(away_team=OuterRef("pk"))))
    )
    artists = Artist.objects.filter(Exists(published.filter(artists=OuterRef("pk"))))
    return FilterChoices(cities=list(cities), teams=list(teams), artists=list(artists))


def get_public_venue(slug: str) -> Venue:
    """A venue with its city. Raises Venue.DoesNotExist for unknown slugs."""
    return (
        Venue.objects.filter(organization__is_sandbox=False).select_related("city").get(slug=slug)
    )


def list_venue_sessions(venue: Venue, *, now: datetime, limit: int = 50) -> list[Session]:
    """Upcoming public sessions at ``venue``, soonest first."""
    return list(
        public_sessions()
        .filter(layout__venue=venue, starts_at__gte=now)
        .order_by("starts_at", "id")[:limit]
    )


# --- the static venue overview -------------------------------------------------------


@dataclass
class SectionZones:
    """The price zones one section of a session is sold in.

    ``primary`` is the zone that colours the section: the zone of a whole-section assignment,
    else the first (by the zones' order) of the zones its rows or seats are in; ``None`` when
    nothing in the section is for sale.
    """

    primary: PriceZone | None = None
    zones: list[PriceZone] = field(default_factory=list)


@dataclass
class SessionOverview:
    session: Session
    sections: list[dict]  # id, code, name, name_en, kind, outline, label_x, label_y
    zones_by_section: dict[int, SectionZones]


def list_session_overviews(sessions: list[Session]) -> dict[int, SessionOverview]:
    """The data of each session's static venue overview, in two queries for all sessions:

    * the sections of every layout involved (outlines only, never rows or seats);
    * one aggregate over the zone assignments: (session, section, zone, whole section?).

    ``sessions`` must have ``price_zones`` prefetched (``get_public_event`` does).
    """
    if not sessions:
        return {}
    layout_ids = {s.layout_id for s in sessions}
    sections_by_layout: dict[int, list[dict]] = defaultdict(list)
    for row in Section.objects.filter(layout_id__in=layout_ids).values(
        "id", "layout_id", "code", "name", "name_en", "kind", "outline", "label_x", "label_y"
    ):
        sections_by_layout[row["layout_id"]].append(row)

    zones_by_id = {z.id: z for s in sessions for z in s.price_zones.all()}
    order = {
        z.id: i
        for i, z in enumerate(
            sorted(zones_by_id.values(), key=lambda z: (z.sort_order, -z.price, z.id))
        )
    }
    found: dict[tuple[int, int], dict[int, bool]] = defaultdict(dict)
    assignments = (
        ZoneAssignment.objects.filter(session_id__in=[s.id for s in sessions])
        .values("session_id", "section_id", "zone_id")
        .annotate(whole=Count("id", filter=Q(row__isnull=True, seat__isnull=True)))
        .order_by()
    )
    for a in assignments:
        found[(a["session_id"], a["section_id"])][a["zone_id"]] = a["whole"] > 0

    result: dict[int, SessionOverview] = {}
    for session in sessions:
        zones_by_section: dict[int, SectionZones] = {}
        for section in sections_by_layout.get(session.layout_id, []):
            present = found.get((session.id, section["id"]), {})
            zone_ids = sorted((z for z in present if z in zones_by_id), key=order.__getitem__)
            if not zone_ids:
                continue
            whole = [z for z in zone_ids if present[z]]
            primary = zones_by_id[whole[0] if whole else zone_ids[0]]
            zones_by_section[section["id"]] = SectionZones(
                primary=primary, zones=[zones_by_id[z] for z in zone_ids]
            )
        result[session.id] = SessionOverview(
            session=session,
            sections=sections_by_layout.get(session.layout_id, []),
            zones_by_section=zones_by_section,
        )
    return result
