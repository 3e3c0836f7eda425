"""Reads of the catalog used by the pages, the API and later apps."""

import calendar as pycalendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Max, Min, Prefetch, Q, QuerySet

from tessera.catalog.models import (
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


def public_sessions() -> QuerySet[Session]:
    """Sessions of published events that are not cancelled, with what a listing shows."""
    return (
        Session.objects.filter(event__status=EventStatus.PUBLISHED)
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("event", "layout__venue__city", "event__home_team", "event__away_team")
        .annotate(price_from=Min("price_zones__price"), price_to=Max("price_zones__price"))
    )


def search_sessions(filters: SessionFilters, *, now: datetime,
                    zone: ZoneInfo | None = None) -> QuerySet[Session]:
    """Public sessions matching ``filters``, soonest first.

    Dates are local calendar days in ``zone`` (the platform's display zone by default):
    a fan who asks for "25 December" means that day where the show takes place.
    Upcoming sessions only, unless ``include_past``.
    """
    zone = zone or ZoneInfo("Asia/Shanghai")
    qs = public_sessions()
    if not filters.include_past and filters.date_from is None:
        qs = qs.filter(starts_at__gte=now)
    if filters.q:
        term = filters.q.strip()
        qs = qs.filter(
            Q(event__name__icontains=term) | Q(event__name_en__icontains=term)
            | Q(event__description__icontains=term)
            | Q(event__artists__name__icontains=term) | Q(event__artists__name_en__icontains=term)
            | Q(event__home_team__name__icontains=term)
            | Q(event__home_team__name_en__icontains=term)
            | Q(event__away_team__name__icontains=term)
            | Q(event__away_team__name_en__icontains=term)
            | Q(layout__venue__name__icontains=term) | Q(layout__venue__name_en__icontains=term)
        )
    if filters.kind:
        qs = qs.filter(event__kind=filters.kind)
    if filters.city:
        qs = qs.filter(layout__venue__city__slug=filters.city)
    if filters.date_from:
        qs = qs.filter(starts_at__gte=_day_start(filters.date_from, zone))
    if filters.date_to:
        qs = qs.filter(starts_at__lt=_day_start(filters.date_to + timedelta(days=1), zone))
    if filters.team:
        qs = qs.filter(Q(event__home_team__slug=filters.team)
                       | Q(event__away_team__slug=filters.team))
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
    return qs.distinct().order_by("starts_at", "id")


def parse_filters(params) -> SessionFilters:
    """Build filters from query parameters; bad values are collected in ``errors``
    (keyed by parameter) and left out of the search rather than raising."""
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        return (params.get(name) or "").strip()[:100]

    def day(name: str) -> date | None:
        raw = text(name)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors[name] = "date"
            return None

    def money(name: str) -> Decimal | None:
        raw = text(name)
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except ArithmeticError:
            errors[name] = "number"
            return None
        if not value.is_finite() or value < 0:
            errors[name] = "number"
            return None
        return value

    kind = text("kind")
    if kind and kind not in EventKind.values:
        errors["kind"] = "choice"
        kind = ""
    return SessionFilters(
        q=text("q"), kind=kind, city=text("city"), date_from=day("date_from"),
        date_to=day("date_to"), team=text("team"), artist=text("artist"), tag=text("tag"),
        price_min=money("price_min"), price_max=money("price_max"), errors=errors,
    )


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    sessions: list


def month_calendar(*, year: int, month: int, now: datetime, zone: ZoneInfo,
                   filters: SessionFilters | None = None) -> list[list[CalendarDay]]:
    """Weeks (Monday first) of the month, each day with the public sessions starting on it
    in ``zone``'s local time. Past days of the month are included."""
    cal = pycalendar.Calendar(firstweekday=0)
    weeks = cal.monthdatescalendar(year, month)
    first, last = weeks[0][0], weeks[-1][-1]
    base = filters or SessionFilters()
    criteria = SessionFilters(**{**base.__dict__, "date_from": first, "date_to": last})
    by_day: dict[date, list] = {}
    for session in search_sessions(criteria, now=now, zone=zone):
        by_day.setdefault(session.starts_at.astimezone(zone).date(), []).append(session)
    return [[CalendarDay(d, d.month == month, by_day.get(d, [])) for d in week]
            for week in weeks]


def featured_events(*, now: datetime, limit: int = 6) -> QuerySet[Event]:
    """Published featured events that still have an upcoming session."""
    return (
        Event.objects.filter(status=EventStatus.PUBLISHED, is_featured=True,
                             sessions__starts_at__gte=now)
        .exclude(sessions__status=SessionStatus.CANCELLED)
        .annotate(next_at=Min("sessions__starts_at"), price_from=Min("sessions__price_zones__price"))
        .order_by("next_at")[:limit]
    )


def get_public_event(slug: str) -> Event:
    """A published event with its sessions (upcoming first) and their zones.

    Raises Event.DoesNotExist for unknown or unpublished slugs.
    """
    return (
        Event.objects.filter(status=EventStatus.PUBLISHED)
        .select_related("home_team", "away_team", "season__competition", "tour", "organization")
        .prefetch_related(
            "tags", "artists",
            Prefetch("sessions", queryset=Session.objects.exclude(
                status=SessionStatus.CANCELLED).select_related("layout__venue__city")
                .prefetch_related("price_zones").order_by("starts_at")),
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
        "id", "row_id", "section_id")
    for seat_id, row_id, section_id in seats.iterator(chunk_size=5000):
        zone = by_seat.get(seat_id) or by_row.get(row_id) or by_section.get(section_id)
        if zone:
            result[seat_id] = zone
    return result
