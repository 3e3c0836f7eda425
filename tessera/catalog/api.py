"""The public catalog API: events, sessions, price zones, the calendar and the directories.

Only published events and their sessions that are not cancelled are public; anything else
answers 404 like an unknown id. Money is a decimal string ("380.00") with its currency;
datetimes are ISO 8601 in the venue's local time with its offset. Filters take the same
values as the storefront's search; a value that cannot be understood answers 422
``invalid_input`` naming the parameter, in the request's language.
"""

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import paginate

from tessera.catalog.models import (
    Artist,
    Competition,
    Event,
    EventKind,
    PriceZone,
    Session,
    Team,
    Tour,
)
from tessera.catalog.selectors import (
    get_public_event,
    get_public_session,
    month_calendar,
    parse_filters,
    search_events,
    search_sessions,
    zone_summary,
)
from tessera.core.clock import now as clock_now
from tessera.core.errors import InvalidInput, NotFound
from tessera.core.money import default_currency, round_money
from tessera.core.pagination import BoundedPagination
from tessera.core.schemas import ErrorOut

router = Router(tags=["catalog"])

_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,120}$")
_MAX_ID = 2**63 - 1


def _money(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else str(round_money(amount, currency))


def _local(value: datetime | None, session: Session) -> datetime | None:
    return None if value is None else value.astimezone(session.layout.venue.zone_info)


# -- schemas -----------------------------------------------------------------------------


class TagOut(Schema):
    slug: str
    name: str
    name_en: str
    display_name: str


class SessionCityOut(Schema):
    slug: str
    name: str
    name_en: str
    display_name: str
    time_zone: str


class SessionVenueOut(Schema):
    slug: str
    name: str
    name_en: str
    display_name: str
    address: str
    address_en: str
    time_zone: str
    city: SessionCityOut


class OrganizerOut(Schema):
    slug: str
    name: str
    name_en: str
    display_name: str


class CompetitionOut(Schema):
    slug: str
    kind: str
    sport: str
    name: str
    name_en: str
    display_name: str


class SeasonOut(Schema):
    name: str
    name_en: str
    display_name: str
    starts_on: date
    ends_on: date
    competition: CompetitionOut


class TeamOut(Schema):
    slug: str
    name: str
    name_en: str
    display_name: str
    short_name: str
    color: str
    city: str | None = Field(None, description="City slug")

    @staticmethod
    def resolve_city(obj: Team) -> str | None:
        return obj.city.slug if obj.city_id else None


class ArtistOut(Schema):
    slug: str
    name: str
    name_en: str
    display_name: str
    genre: str


class TourOut(Schema):
    slug: str
    name: str
    name_en: str
    display_name: str
    artist: ArtistOut


class PriceZoneOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    display_name: str
    color: str
    price: str = Field(..., description="Decimal string, e.g. 380.00")
    currency: str

    @staticmethod
    def resolve_price(obj: PriceZone) -> str:
        return _money(obj.price, obj.currency)


class PriceZoneCountsOut(PriceZoneOut):
    seats: int = Field(..., description="Seats in this zone (seat over row over section)")
    standing: int = Field(..., description="Capacity of standing sections wholly in the zone")
    places: int = Field(..., description="seats + standing")


class EventRefOut(Schema):
    slug: str
    kind: str
    name: str
    name_en: str
    display_name: str


class SessionRulesOut(Schema):
    max_tickets_per_order: int
    max_tickets_per_account: int
    hold_minutes: int


def _zones(session: Session) -> list[PriceZone]:
    return list(session.price_zones.all())


class SessionOut(Schema):
    id: int
    status: str
    starts_at: datetime
    ends_at: datetime | None
    doors_open_at: datetime | None
    on_sale_from: datetime | None
    on_sale_until: datetime | None
    venue: SessionVenueOut
    layout_id: int
    price_from: str | None = Field(None, description="Lowest zone price, decimal string")
    price_to: str | None = Field(None, description="Highest zone price, decimal string")
    currency: str

    @staticmethod
    def resolve_starts_at(obj: Session) -> datetime:
        return _local(obj.starts_at, obj)

    @staticmethod
    def resolve_ends_at(obj: Session) -> datetime | None:
        return _local(obj.ends_at, obj)

    @staticmethod
    def resolve_doors_open_at(obj: Session) -> datetime | None:
        return _local(obj.doors_open_at, obj)

    @staticmethod
    def resolve_on_sale_from(obj: Session) -> datetime | None:
        return _local(obj.on_sale_from, obj)

    @staticmethod
    def resolve_on_sale_until(obj: Session) -> datetime | None:
        return _local(obj.on_sale_until, obj)

    @staticmethod
    def resolve_venue(obj: Session):
        return obj.layout.venue

    @staticmethod
    def resolve_currency(obj: Session) -> str:
        zones = _zones(obj)
        return zones[0].currency if zones else default_currency()

    @staticmethod
    def resolve_price_from(obj: Session) -> str | None:
        zones = _zones(obj)
        return _money(min(z.price for z in zones), zones[0].currency) if zones else None

    @staticmethod
    def resolve_price_to(obj: Session) -> str | None:
        zones = _zones(obj)
        return _money(max(z.price for z in zones), zones[0].currency) if zones else None


class SessionListOut(SessionOut):
    event: EventRefOut


class SessionDetailOut(SessionListOut):
    rules: SessionRulesOut
    is_on_sale: bool
    price_zones: list[PriceZoneOut]

    @staticmethod
    def resolve_rules(obj: Session) -> Session:
        return obj

    @staticmethod
    def resolve_is_on_sale(obj: Session, context) -> bool:
        return obj.is_on_sale(context["request"].tessera_now)

    @staticmethod
    def resolve_price_zones(obj: Session) -> list[PriceZone]:
        return _zones(obj)


class EventListOut(Schema):
    slug: str
    kind: str
    name: str
    name_en: str
    display_name: str
    image_url: str
    is_featured: bool
    tags: list[TagOut]
    first_starts_at: datetime = Field(..., description="Start of the first matching session")
    price_from: str | None
    price_to: str | None
    currency: str

    @staticmethod
    def resolve_image_url(obj: Event) -> str:
        return obj.picture_url

    @staticmethod
    def resolve_tags(obj: Event) -> list:
        return list(obj.tags.all())

    @staticmethod
    def resolve_first_starts_at(obj: Event) -> datetime:
        return obj.first_starts_at.astimezone(ZoneInfo(obj.first_time_zone))

    @staticmethod
    def resolve_currency(obj: Event) -> str:
        return default_currency()

    @staticmethod
    def resolve_price_from(obj: Event) -> str | None:
        return _money(obj.price_from, default_currency())

    @staticmethod
    def resolve_price_to(obj: Event) -> str | None:
        return _money(obj.price_to, default_currency())


class EventDetailOut(Schema):
    slug: str
    kind: str
    name: str
    name_en: str
    display_name: str
    description: str
    description_en: str
    display_description: str
    image_url: str
    is_featured: bool
    tags: list[TagOut]
    organizer: OrganizerOut
    season: SeasonOut | None
    round: str
    home_team: TeamOut | None
    away_team: TeamOut | None
    tour: TourOut | None
    artists: list[ArtistOut]
    sessions: list[SessionOut]

    @staticmethod
    def resolve_image_url(obj: Event) -> str:
        return obj.picture_url

    @staticmethod
    def resolve_organizer(obj: Event):
        return obj.organization

    @staticmethod
    def resolve_tags(obj: Event) -> list:
        return list(obj.tags.all())

    @staticmethod
    def resolve_artists(obj: Event) -> list:
        return list(obj.artists.all())

    @staticmethod
    def resolve_sessions(obj: Event) -> list:
        return list(obj.sessions.all())


class CalendarSessionOut(Schema):
    id: int
    starts_at: datetime = Field(..., description="Local time of the venue, with offset")
    local_time: str = Field(..., description="HH:MM in the venue's zone")
    event: EventRefOut
    venue: str = Field(..., description="Venue display name")

    @staticmethod
    def resolve_starts_at(obj: Session) -> datetime:
        return _local(obj.starts_at, obj)

    @staticmethod
    def resolve_local_time(obj: Session) -> str:
        return f"{_local(obj.starts_at, obj):%H:%M}"

    @staticmethod
    def resolve_venue(obj: Session) -> str:
        return obj.layout.venue.display_name


class CalendarDayOut(Schema):
    date: date
    sessions: list[CalendarSessionOut]


class CalendarOut(Schema):
    year: int
    month: int
    days: list[CalendarDayOut] = Field(
        ..., description="Days of the month that have sessions, by the venue's local day"
    )


# -- query parameters ----------------------------------------------------------------------

_KINDS = ", ".join(EventKind.values)


class CommonFilters(Schema):
    q: str | None = Field(None, description="Words in the event, artist, team or venue name")
    kind: str | None = Field(None, description=f"One of: {_KINDS}")
    city: str | None = Field(None, description="City slug")
    team: str | None = Field(None, description="Team slug, home or away")
    artist: str | None = Field(None, description="Artist slug")
    tag: str | None = Field(None, description="Tag slug")
    price_min: str | None = Field(
        None, description="Sessions with a zone at this price or more (decimal)"
    )
    price_max: str | None = Field(
        None, description="Sessions with a zone at this price or less (decimal)"
    )


class SearchFilters(CommonFilters):
    date_from: str | None = Field(
        None, description="First local day (YYYY-MM-DD), in the venue's zone"
    )
    date_to: str | None = Field(None, description="Last local day (YYYY-MM-DD), inclusive")


class CalendarQuery(CommonFilters):
    year: int | None = Field(None, ge=1900, le=2999, description="Default: this year")
    month: int | None = Field(None, ge=1, le=12, description="Default: this month")


def _filter_messages(code: str) -> str:
    return {
        "date": _("Enter a valid date, for example 2026-12-25."),
        "number": _("Enter an amount of zero or more, for example 280."),
        "choice": _("Choose one of: %(choices)s.") % {"choices": _KINDS},
        "date_order": _("The end date is before the start date."),
        "price_order": _("The maximum price is below the minimum price."),
    }.get(code, _("The input is not valid."))


def _parse(filters: CommonFilters):
    """Filters as the selectors take them; any value they cannot use is a 422."""
    params = {k: v for k, v in filters.model_dump().items() if isinstance(v, str)}
    parsed = parse_filters(params)
    if parsed.errors:
        raise InvalidInput(
            details={
                "errors": [
                    {"field": f"query.{name}", "message": _filter_messages(code)}
                    for name, code in sorted(parsed.errors.items())
                ]
            }
        )
    return parsed


def _now(request) -> datetime:
    """The request's one reading of the clock."""
    if not hasattr(request, "tessera_now"):
        request.tessera_now = clock_now()
    return request.tessera_now


def _with_zones(qs):
    return qs.select_related("layout__venue__city").prefetch_related("price_zones")


# -- endpoints ---------------------------------------------------------------------------

_ERRORS = {404: ErrorOut, 422: ErrorOut}


@router.get("/events", response={200: list[EventListOut], 422: ErrorOut})
@paginate(BoundedPagination)
def list_events(request, filters: Query[SearchFilters]):
    """Published events with at least one upcoming session matching the filters, in the
    order of their first matching session."""
    return search_events(_parse(filters), now=_now(request))


@router.get("/events/{slug}", response={200: EventDetailOut, **_ERRORS})
def get_event(request, slug: str):
    """A published event with its sessions that are not cancelled, soonest first."""
    if not _SLUG.match(slug):
        raise NotFound()
    try:
        return get_public_event(slug)
    except Event.DoesNotExist as exc:
        raise NotFound() from exc


@router.get("/sessions", response={200: list[SessionListOut], 422: ErrorOut})
@paginate(BoundedPagination)
def list_sessions(request, filters: Query[SearchFilters]):
    """Public sessions matching the filters, soonest first (upcoming only unless
    ``date_from`` is given)."""
    return _with_zones(search_sessions(_parse(filters), now=_now(request)))


@router.get("/sessions/{session_id}", response={200: SessionDetailOut, **_ERRORS})
def get_session(request, session_id: int = Path(..., ge=1, le=_MAX_ID)):
    """One public session with its sale rules, on-sale window, venue, layout and zones."""
    _now(request)
    try:
        return get_public_session(session_id)
    except Session.DoesNotExist as exc:
        raise NotFound() from exc


@router.get(
    "/sessions/{session_id}/price-zones",
    response={200: list[PriceZoneCountsOut], **_ERRORS},
)
def list_price_zones(request, session_id: int = Path(..., ge=1, le=_MAX_ID)):
    """The session's price zones with how many places each covers."""
    try:
        session = get_public_session(session_id)
    except Session.DoesNotExist as exc:
        raise NotFound() from exc
    zones = []
    for summary in zone_summary(session):
        zone = summary.zone
        zone.seats, zone.standing, zone.places = summary.seats, summary.standing, summary.places
        zones.append(zone)
    return zones


@router.get("/calendar", response={200: CalendarOut, 422: ErrorOut})
def get_calendar(request, query: Query[CalendarQuery]):
    """The days of a month that have public sessions; a session belongs to the local day
    of its venue (a 23:30 show in Shanghai is on that Shanghai day)."""
    today = timezone.localdate(_now(request))
    year, month = query.year or today.year, query.month or today.month
    weeks = month_calendar(year=year, month=month, now=_now(request), filters=_parse(query))
    days = [
        {"date": d.day, "sessions": d.sessions}
        for week in weeks
        for d in week
        if d.in_month and d.sessions
    ]
    return {"year": year, "month": month, "days": days}


class DirectoryQuery(Schema):
    q: str | None = Field(None, max_length=100, description="Words in the name")


def _named(qs, q: str | None):
    term = (q or "").replace("\x00", "").strip()
    if term:
        qs = qs.filter(Q(name__icontains=term) | Q(name_en__icontains=term))
    return qs


@router.get("/competitions", response={200: list[CompetitionOut], 422: ErrorOut})
@paginate(BoundedPagination)
def list_competitions(request, query: Query[DirectoryQuery]):
    """Leagues and cups."""
    return _named(Competition.objects.order_by("name", "id"), query.q)


class TeamQuery(DirectoryQuery):
    competition: str | None = Field(None, max_length=100, description="Competition slug")


@router.get("/teams", response={200: list[TeamOut], 422: ErrorOut})
@paginate(BoundedPagination)
def list_teams(request, query: Query[TeamQuery]):
    """Teams, optionally of one competition."""
    qs = Team.objects.select_related("city").order_by("name", "id")
    if query.competition:
        qs = qs.filter(competitions__slug=query.competition.replace("\x00", ""))
    return _named(qs, query.q)


@router.get("/artists", response={200: list[ArtistOut], 422: ErrorOut})
@paginate(BoundedPagination)
def list_artists(request, query: Query[DirectoryQuery]):
    """Artists and bands."""
    return _named(Artist.objects.order_by("name", "id"), query.q)


class TourQuery(DirectoryQuery):
    artist: str | None = Field(None, max_length=100, description="Artist slug")


@router.get("/tours", response={200: list[TourOut], 422: ErrorOut})
@paginate(BoundedPagination)
def list_tours(request, query: Query[TourQuery]):
    """Concert tours, optionally of one artist."""
    qs = Tour.objects.select_related("artist").order_by("name", "id")
    if query.artist:
        qs = qs.filter(artist__slug=query.artist.replace("\x00", ""))
    return _named(qs, query.q)
