"""Reads of the catalog used by the pages, the API and later apps."""

import calendar as pycalendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery

from tessera.catalog.models import (
    AfterSalesPolicy,
    Event,
    EventKind,
    EventStatus,
    PriceZone,
    Session,
    SessionStatus,
)


@dataclass(frozen=True)
class SessionFilters:
    """Search criteria a fan can combine; every field is optional."""

    q: str = ""
    kind: str = ""
    city: str = ""  # city slug
    date_from: date | None = None  # local calendar day, inclusive
    date_to: date | None = None  # local calendar day, inclusive
    team: str = ""  # team slug, home or away
    artist: str = ""  # artist slug
    tag: str = ""  # tag slug
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    include_past: bool = False
    errors: dict = field(default_factory=dict, compare=False)


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def public_sessions(*, include_sandbox: bool = False) -> QuerySet[Session]:
    """Sessions of published events that are not cancelled, with what a listing shows.

    Sessions of a sandbox world (``Organization.is_sandbox``: partners' test sales through
    sandbox API keys, tessera.apikeys) are left out unless ``include_sandbox``; the filter
    is one more join in the same query, never another query."""
    qs = Session.objects.filter(event__status=EventStatus.PUBLISHED)
    if not include_sandbox:
        qs = qs.filter(event__organization__is_sandbox=False)
    return (
        qs.exclude(status=SessionStatus.CANCELLED)
        .select_related("event", "layout__venue__city", "event__home_team", "event__away_team")
        .annotate(price_from=Min("price_zones__price"), price_to=Max("price_zones__price"))
    )


def _local_day_window(*, date_from: date | None, date_to: date | None, zone: ZoneInfo | None) -> Q:
    """Sessions starting between two local calendar days (inclusive).

    With ``zone`` the days are read in that zone; without, each session's days are those
    of its venue's zone (one window per distinct venue zone, so it stays one SQL query).
    """

    def window(z: ZoneInfo) -> Q:
        q = Q()
        if date_from is not None:
            q &= Q(starts_at__gte=_day_start(date_from, z))
        if date_to is not None:
            q &= Q(starts_at__lt=_day_start(date_to + timedelta(days=1), z))
        return q

    if zone is not None:
        return window(zone)
    from tessera.venues.models import Venue  # venues sits below catalog

    combined = Q(pk__in=[])  # no venue, no session
    for name in Venue.objects.order_by().values_list("time_zone", flat=True).distinct():
        try:
            venue_zone = ZoneInfo(name)
        except (ValueError, KeyError):  # an invalid zone saved around validation
            continue
        combined |= Q(layout__venue__time_zone=name) & window(venue_zone)
    return combined


def filter_sessions(
    qs: QuerySet[Session], filters: SessionFilters, *, now: datetime, zone: ZoneInfo | None = None
) -> QuerySet[Session]:
    """Apply ``filters`` to a Session queryset (rows may repeat; callers add distinct).

    Dates are local calendar days: in ``zone`` when given, otherwise in each venue's own
    zone (a fan who asks for "25 December" means that day where the show takes place).
    Upcoming sessions only, unless ``include_past`` or a ``date_from`` is given.
    """
    if not filters.include_past and filters.date_from is None:
        qs = qs.filter(starts_at__gte=now)
    if filters.q:
        term = filters.q.strip()
        qs = qs.filter(
            Q(event__name__icontains=term)
            | Q(event__name_en__icontains=term)
            | Q(event__description__icontains=term)
            | Q(event__artists__name__icontains=term)
            | Q(event__artists__name_en__icontains=term)
            | Q(event__home_team__name__icontains=term)
            | Q(event__home_team__name_en__icontains=term)
            | Q(event__away_team__name__icontains=term)
            | Q(event__away_team__name_en__icontains=term)
            | Q(layout__venue__name__icontains=term)
            | Q(layout__venue__name_en__icontains=term)
        )
    if filters.kind:
        qs = qs.filter(event__kind=filters.kind)
    if filters.city:
        qs = qs.filter(layout__venue__city__slug=filters.city)
    if filters.date_from or filters.date_to:
        qs = qs.filter(
            _local_day_window(date_from=filters.date_from, date_to=filters.date_to, zone=zone)
        )
    if filters.team:
        qs = qs.filter(
            Q(event__home_team__slug=filters.team) | Q(event__away_team__slug=filters.team)
        )
    if filters.artist:
        qs = qs.filter(event__artists__slug=filters.artist)
    if filters.tag:
        qs = qs.filter(event__tags__slug=filters.tag)
    # A price range matches a session that has at least one zone within the range.
    if filters.price_min is not None or filters.price_max is not None:
        zones = PriceZone.objects.all()
        if filters.price_min is not None:
            zones = zones.filter(price__gte=filters.price_min)
        if filters.price_max is not None:
            zones = zones.filter(price__lte=filters.price_max)
        qs = qs.filter(id__in=zones.values("session_id"))
    return qs


def _public_session_rows() -> QuerySet[Session]:
    return Session.objects.filter(
        event__status=EventStatus.PUBLISHED, event__organization__is_sandbox=False
    ).exclude(status=SessionStatus.CANCELLED)


def search_sessions(
    filters: SessionFilters, *, now: datetime, zone: ZoneInfo | None = None
) -> QuerySet[Session]:
    """Public sessions matching ``filters``, soonest first (see ``filter_sessions``)."""
    qs = filter_sessions(public_sessions(), filters, now=now, zone=zone)
    return qs.distinct().order_by("starts_at", "id")


def search_events(
    filters: SessionFilters, *, now: datetime, zone: ZoneInfo | None = None
) -> QuerySet[Event]:
    """Published events that have at least one public session matching ``filters``.

    Each event carries ``first_starts_at`` (its earliest matching session),
    ``first_time_zone`` (that session's venue zone) and ``price_from`` / ``price_to`` over
    the zones of its matching sessions; events come in the order of ``first_starts_at``.
    """
    matching = filter_sessions(_public_session_rows(), filters, now=now, zone=zone)
    first = matching.filter(event_id=OuterRef("pk")).order_by("starts_at", "id")
    zones = PriceZone.objects.filter(
        session__event_id=OuterRef("pk"), session_id__in=matching.values("id")
    )
    return (
        Event.objects.filter(status=EventStatus.PUBLISHED, id__in=matching.values("event_id"))
        .prefetch_related("tags")
        .annotate(
            first_starts_at=Subquery(first.values("starts_at")[:1]),
            first_time_zone=Subquery(first.values("layout__venue__time_zone")[:1]),
            price_from=Subquery(zones.order_by("price").values("price")[:1]),
            price_to=Subquery(zones.order_by("-price").values("price")[:1]),
        )
        .order_by("first_starts_at", "id")
    )


# Bounds that keep every parsed value storable and comparable on both databases.
_FIRST_YEAR, _LAST_YEAR = 1900, 2999
_PRICE_LIMIT = Decimal("10000000000")  # DecimalField(max_digits=12, decimal_places=2)


def parse_filters(params) -> SessionFilters:
    """Build filters from query parameters; bad values are collected in ``errors``
    (keyed by parameter: "date", "number", "choice", "date_order" or "price_order") and
    left out of the search rather than raising."""
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        # NUL cannot be stored or compared by PostgreSQL; nobody types it.
        return (params.get(name) or "").replace("\x00", "").strip()[:100]

    def day(name: str) -> date | None:
        raw = text(name)
        if not raw:
            return None
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            errors[name] = "date"
            return None
        if not _FIRST_YEAR <= value.year <= _LAST_YEAR:
            errors[name] = "date"
            return None
        return value

    def money(name: str) -> Decimal | None:
        raw = text(name)
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except ArithmeticError:
            errors[name] = "number"
            return None
        if not value.is_finite() or value < 0 or value >= _PRICE_LIMIT:
            errors[name] = "number"
            return None
        return value

    kind = text("kind")
    if kind and kind not in EventKind.values:
        errors["kind"] = "choice"
        kind = ""
    date_from, date_to = day("date_from"), day("date_to")
    if date_from and date_to and date_to < date_from:
        errors["date_to"] = "date_order"
        date_to = None
    price_min, price_max = money("price_min"), money("price_max")
    if price_min is not None and price_max is not None and price_max < price_min:
        errors["price_max"] = "price_order"
        price_max = None
    return SessionFilters(
        q=text("q"),
        kind=kind,
        city=text("city"),
        date_from=date_from,
        date_to=date_to,
        team=text("team"),
        artist=text("artist"),
        tag=text("tag"),
        price_min=price_min,
        price_max=price_max,
        errors=errors,
    )


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    sessions: list


def month_calendar(
    *,
    year: int,
    month: int,
    now: datetime,
    zone: ZoneInfo | None = None,
    filters: SessionFilters | None = None,
) -> list[list[CalendarDay]]:
    """Weeks (Monday first) of the month, each day with the public sessions starting on it
    in local time: ``zone``'s when given, else each session's venue zone (a 23:30 show in
    Shanghai belongs to that Shanghai day). Past days of the month are included."""
    cal = pycalendar.Calendar(firstweekday=0)
    weeks = cal.monthdatescalendar(year, month)
    first, last = weeks[0][0], weeks[-1][-1]
    base = filters or SessionFilters()
    criteria = SessionFilters(**{**base.__dict__, "date_from": first, "date_to": last})
    by_day: dict[date, list] = {}
    for session in search_sessions(criteria, now=now, zone=zone):
        local_zone = zone or session.layout.venue.zone_info
        by_day.setdefault(session.starts_at.astimezone(local_zone).date(), []).append(session)
    return [[CalendarDay(d, d.month == month, by_day.get(d, [])) for d in week] for week in weeks]


def featured_events(*, now: datetime, limit: int = 6) -> QuerySet[Event]:
    """Published featured events that still have an upcoming, not cancelled session.

    ``next_at`` and ``price_from`` are taken over those upcoming sessions only; a cancelled
    date does not hide the event's other dates.
    """
    return (
        Event.objects.filter(
            status=EventStatus.PUBLISHED,
            organization__is_sandbox=False,
            is_featured=True,
            sessions__starts_at__gte=now,
            sessions__status__in=[SessionStatus.SCHEDULED, SessionStatus.POSTPONED],
        )
        .annotate(
            next_at=Min("sessions__starts_at"), price_from=Min("sessions__price_zones__price")
        )
        .order_by("next_at", "id")[:limit]
    )


def get_public_event(slug: str) -> Event:
    """A published event with its sessions (upcoming first) and their zones.

    Raises Event.DoesNotExist for unknown or unpublished slugs.
    """
    return (
        Event.objects.filter(status=EventStatus.PUBLISHED, organization__is_sandbox=False)
        .select_related(
            "home_team__city",
            "away_team__city",
            "season__competition",
            "tour__artist",
            "organization",
        )
        .prefetch_related(
            "tags",
            "artists",
            Prefetch(
                "sessions",
                queryset=Session.objects.exclude(status=SessionStatus.CANCELLED)
                .select_related("layout__venue__city")
                .prefetch_related("price_zones")
                .order_by("starts_at"),
            ),
        )
        .get(slug=slug)
    )


def zone_of_seats(session: Session) -> dict[int, int]:
    """Map seat id → price zone id for every seat of the session's layout that has a zone.

    The most specific assignment wins: seat over row over section. Seats without a zone
    are not sold.
    """
    from tessera.venues.models import Seat  # venues sits below catalog

    by_section: dict[int, int] = {}
    by_row: dict[int, int] = {}
    by_seat: dict[int, int] = {}
    for a in session.zone_assignments.all().values("zone_id", "section_id", "row_id", "seat_id"):
        if a["seat_id"]:
            by_seat[a["seat_id"]] = a["zone_id"]
        elif a["row_id"]:
            by_row[a["row_id"]] = a["zone_id"]
        else:
            by_section[a["section_id"]] = a["zone_id"]
    result: dict[int, int] = {}
    seats = Seat.objects.filter(section__layout_id=session.layout_id).values_list(
        "id", "row_id", "section_id"
    )
    for seat_id, row_id, section_id in seats.iterator(chunk_size=5000):
        zone = by_seat.get(seat_id) or by_row.get(row_id) or by_section.get(section_id)
        if zone:
            result[seat_id] = zone
    return result


def get_public_session(session_id: int) -> Session:
    """A public session with its event, venue and price zones.

    Raises Session.DoesNotExist for unknown, cancelled or unpublished sessions.
    """
    return (
        public_sessions()
        .select_related("layout__venue__city")
        .prefetch_related("price_zones")
        .get(pk=session_id)
    )


@dataclass(frozen=True)
class ZoneSummary:
    """One price zone with the places it covers: seats (after seat > row > section
    precedence) and the capacity of standing sections assigned to it as a whole."""

    zone: PriceZone
    seats: int
    standing: int

    @property
    def places(self) -> int:
        return self.seats + self.standing


def zone_summary(session: Session) -> list[ZoneSummary]:
    """Every price zone of the session, in display order, with its place counts."""
    from tessera.catalog.models import ZoneAssignment
    from tessera.venues.models import SectionKind

    seats = Counter(zone_of_seats(session).values())
    standing: Counter = Counter()
    whole_sections = ZoneAssignment.objects.filter(
        session=session,
        row__isnull=True,
        seat__isnull=True,
        section__kind=SectionKind.STANDING,
    ).values_list("zone_id", "section__capacity")
    for zone_id, capacity in whole_sections:
        standing[zone_id] += capacity
    return [
        ZoneSummary(zone=z, seats=seats[z.pk], standing=standing[z.pk])
        for z in session.price_zones.all()
    ]


def policy_for(session: Session) -> AfterSalesPolicy:
    """The after-sales policy that applies to ``session``: its own, else its event's, else
    the default (nothing refundable, exchangeable or transferable; not saved). Fee steps are
    prefetched."""
    found = (
        AfterSalesPolicy.objects.filter(event_id=session.event_id)
        .filter(Q(session_id=session.pk) | Q(session__isnull=True))
        .prefetch_related("tiers")
    )
    found = sorted(found, key=lambda policy: policy.session_id is None)
    if found:
        return found[0]
    return AfterSalesPolicy(event_id=session.event_id)
