"""The fan-facing discovery pages: home, calendar, search, event and venue.

Views parse input, call selectors and render; they never write. Every page reads the clock
once and shows times in the venue's zone. A session belongs to the calendar day of its
venue's zone (a 23:30 show in London is on that London day), and date filters mean those
local days; ``DISPLAY_ZONE`` only decides which month and day are "now".
"""

import dataclasses
from datetime import date
from zoneinfo import ZoneInfo

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tessera.aftersales.policies import session_policy_lines
from tessera.catalog.models import Event, EventKind
from tessera.catalog.selectors import (
    SessionFilters,
    featured_events,
    get_public_event,
    month_calendar,
    parse_filters,
    search_events,
    search_sessions,
)
from tessera.core import clock
from tessera.inventory import selectors as inventory_selectors
from tessera.storefront.overview import build_overview
from tessera.storefront.selectors import (
    get_public_venue,
    list_filter_choices,
    list_session_overviews,
    list_upcoming_sessions,
    list_venue_sessions,
    next_sessions_of,
)
from tessera.venues.models import Venue

# The zone of "today" and "this month" (the platform's fans are in China).
DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")
SEARCH_PAGE_SIZE = 12
MIN_YEAR, MAX_YEAR = 1900, 2999  # as parse_filters accepts

_WEEKDAYS = {
    "zh": ["一", "二", "三", "四", "五", "六", "日"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}


def _weekday_names() -> list[str]:
    return _WEEKDAYS["en" if (get_language() or "").lower().startswith("en") else "zh"]


def _error_message(field: str, code: str) -> str:
    """The sentence shown next to a search field that could not be used."""
    if code == "date":
        return _("Enter a valid date, for example 2026-12-25.")
    if code == "number":
        return _("Enter an amount of zero or more, for example 280.")
    if code == "date_order":
        return _("The end date is before the start date.")
    if code == "price_order":
        return _("The maximum price is below the minimum price.")
    if field == "kind":
        return _("Choose one of the listed kinds.")
    if field == "city":
        return _("Choose one of the listed cities.")
    if field == "team":
        return _("Choose one of the listed teams.")
    if field == "artist":
        return _("Choose one of the listed artists.")
    return _("This value could not be used.")


def home(request):
    now = clock.now()
    featured = list(featured_events(now=now))
    next_by_event = next_sessions_of(featured, now=now)
    cards = [(event, next_by_event.get(event.id)) for event in featured]
    today = now.astimezone(DISPLAY_ZONE).date()
    weeks = month_calendar(year=today.year, month=today.month, now=now)
    return render(
        request,
        "storefront/home.html",
        {
            "nav": "home",
            "now": now,
            "cities": list_filter_choices().cities,
            "featured": cards,
            "upcoming": list_upcoming_sessions(now=now, limit=8),
            "month": date(today.year, today.month, 1),
            "today": today,
            "weeks": weeks,
            "weekdays": _weekday_names(),
        },
    )


def _requested_month(params, today: date) -> tuple[int, int, bool]:
    """(year, month, understood) from ?year=&month=; the current month when not understood."""
    raw_year, raw_month = params.get("year", "").strip(), params.get("month", "").strip()
    if not raw_year and not raw_month:
        return today.year, today.month, True
    try:
        year = int(raw_year) if raw_year else today.year
        month = int(raw_month) if raw_month else today.month
    except ValueError:
        return today.year, today.month, False
    if not (MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12):
        return today.year, today.month, False
    return year, month, True


def calendar(request):
    now = clock.now()
    today = now.astimezone(DISPLAY_ZONE).date()
    year, month, understood = _requested_month(request.GET, today)
    parsed = parse_filters(request.GET)
    choices = list_filter_choices()
    errors = {}
    if "kind" in parsed.errors:
        errors["kind"] = _error_message("kind", parsed.errors["kind"])
    city = parsed.city
    if city and not choices.has_city(city):
        errors["city"] = _error_message("city", "choice")
        city = ""
    filters = SessionFilters(kind=parsed.kind, city=city)
    weeks = month_calendar(year=year, month=month, now=now, filters=filters)
    previous = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return render(
        request,
        "storefront/calendar.html",
        {
            "nav": "calendar",
            "now": now,
            "weeks": weeks,
            "weekdays": _weekday_names(),
            "month": date(year, month, 1),
            "today": today,
            "previous": previous if previous.year >= MIN_YEAR else None,
            "following": following if following.year <= MAX_YEAR else None,
            "month_not_understood": not understood,
            "session_count": sum(
                len(day.sessions) for week in weeks for day in week if day.in_month
            ),
            "filters": filters,
            "errors": errors,
            "kinds": EventKind.choices,
            "choices": choices,
        },
    )


def _validated_filters(params, choices) -> tuple[SessionFilters, dict[str, str]]:
    """The filters from the query string with every unusable value left out, and a message
    per unusable field."""
    filters = parse_filters(params)
    codes = dict(filters.errors)
    changes = {}
    for field, known in (
        ("city", choices.has_city),
        ("team", choices.has_team),
        ("artist", choices.has_artist),
    ):
        value = getattr(filters, field)
        if value and not known(value):
            codes[field] = "choice"
            changes[field] = ""
    if changes:
        filters = dataclasses.replace(filters, **changes)
    return filters, {name: _error_message(name, code) for name, code in codes.items()}


@dataclasses.dataclass(frozen=True)
class EventGroup:
    """One event of the search results with what its matching sessions have in common."""

    event: Event
    session_count: int
    next_session: object  # the soonest matching Session
    venue_count: int


def _event_groups(events: list[Event], filters: SessionFilters, *, now) -> list[EventGroup]:
    """The search page's cards: per event of the page, how many of its sessions match,
    the soonest of them and over how many venues they spread (one query for the page)."""
    sessions: dict[int, list] = {event.id: [] for event in events}
    for session in search_sessions(filters, now=now).filter(event_id__in=list(sessions)):
        sessions[session.event_id].append(session)
    return [
        EventGroup(
            event=event,
            session_count=len(sessions[event.id]),
            next_session=sessions[event.id][0],
            venue_count=len({s.layout.venue_id for s in sessions[event.id]}),
        )
        for event in events
        if sessions[event.id]
    ]


def search(request):
    now = clock.now()
    choices = list_filter_choices()
    filters, errors = _validated_filters(request.GET, choices)
    page = Paginator(search_events(filters, now=now), SEARCH_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    groups = _event_groups(list(page.object_list), filters, now=now)
    values = {
        name: request.GET.get(name, "").strip()[:100]
        for name in (
            "q",
            "kind",
            "city",
            "date_from",
            "date_to",
            "team",
            "artist",
            "price_min",
            "price_max",
        )
    }
    return render(
        request,
        "storefront/search.html",
        {
            "nav": "search",
            "now": now,
            "page": page,
            "groups": groups,
            "values": values,
            "errors": errors,
            "kinds": EventKind.choices,
            "choices": choices,
            "is_filtered": any(values.values()),
            "active_filter_count": sum(
                1 for name, value in values.items() if value and name != "q"
            ),
        },
    )


def event_detail(request, slug: str):
    now = clock.now()
    try:
        event = get_public_event(slug)
    except Event.DoesNotExist:
        raise Http404(_("No such event.")) from None
    sessions = list(event.sessions.all())
    overviews = list_session_overviews(sessions)
    rows = []
    for session in sessions:
        zones = list(session.price_zones.all())
        rows.append(
            {
                "session": session,
                "zones": zones,
                "price_from": min((z.price for z in zones), default=None),
                "overview": build_overview(overviews[session.id]),
                "is_past": session.starts_at <= now,
            }
        )
    upcoming = [row for row in rows if not row["is_past"]]
    sold_out = inventory_selectors.sold_out_session_ids(
        session_ids=[row["session"].pk for row in upcoming if row["session"].is_on_sale(now)],
        now=now,
    )
    for row in rows:
        row["is_sold_out"] = row["session"].pk in sold_out
    prices = [zone.price for row in upcoming for zone in row["zones"]]
    return render(
        request,
        "storefront/event.html",
        {
            "now": now,
            "event": event,
            "rows": rows,
            "next_row": upcoming[0] if upcoming else None,
            "upcoming_count": len(upcoming),
            "price_low": min(prices, default=None),
            "price_high": max(prices, default=None),
            "policy": session_policy_lines(
                session=upcoming[0]["session"],
                now=now,
                currency=next((z.currency for z in upcoming[0]["zones"]), ""),
            )
            if upcoming
            else [],
            "artists": list(event.artists.all()),
            "tags": list(event.tags.all()),
        },
    )


def venue_detail(request, slug: str):
    now = clock.now()
    try:
        venue = get_public_venue(slug)
    except Venue.DoesNotExist:
        raise Http404(_("No such venue.")) from None
    return render(
        request,
        "storefront/venue.html",
        {
            "now": now,
            "venue": venue,
            "sessions": list_venue_sessions(venue, now=now),
        },
    )
