"""Everything that writes the catalog: events, sessions, price zones and their places.

Every entry point is keyword-only, runs in one transaction and leaves one audit entry per
change. Rules a person can break raise a ``DomainError`` subclass with a stable ``code``;
nothing is written when one is raised. The ``check_*`` helpers hold the rules so the back
office forms apply exactly the same ones.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Organization, OrganizationKind, User
from tessera.catalog.models import (
    AfterSalesPolicy,
    Artist,
    Event,
    EventKind,
    EventStatus,
    FeeTier,
    PriceZone,
    Season,
    Session,
    SessionStatus,
    Tag,
    Team,
    Tour,
    ZoneAssignment,
)
from tessera.catalog.selectors import ZoneSummary, zone_summary  # noqa: F401 (re-exported)
from tessera.core import audit
from tessera.core.errors import DomainError, InvalidInput
from tessera.core.money import round_money
from tessera.venues.models import Layout, Row, Seat, Section

# zone_summary and ZoneSummary (reads, in selectors) are importable from here as well.

# PositiveSmallIntegerField holds up to 32767 on every database.
_SMALL_INT_MAX = 32767
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
_KNOWN_CURRENCIES = ("CNY", "HKD", "USD", "EUR", "JPY")
_BATCH = 2000


# -- errors ------------------------------------------------------------------------------


class SessionDatesInvalid(InvalidInput):
    code = "session_dates_invalid"
    default_message = _(
        "A session must end after it starts, and its doors must open no later than its start."
    )


class SaleWindowInvalid(InvalidInput):
    code = "sale_window_invalid"
    default_message = _(
        "The on-sale window must open before it closes and close no later than the session start."
    )


class SessionRulesInvalid(InvalidInput):
    code = "session_rules_invalid"
    default_message = _(
        "Ticket limits and the hold time must be whole numbers between 1 and 32767."
    )


class LayoutNotFound(InvalidInput):
    code = "layout_not_found"
    default_message = _("This venue layout does not exist.")


class SlugTaken(InvalidInput):
    code = "slug_taken"
    default_message = _("This web address is already used by another event.")


class NotAnOrganizer(InvalidInput):
    code = "not_an_organizer"
    default_message = _("Only an active organizer can hold events.")


class EventLinksInvalid(InvalidInput):
    code = "event_links_invalid"
    default_message = _(
        "The season, teams and tour must belong to the event's organizer, and a team "
        "cannot play itself."
    )


class EventCancelled(DomainError):
    code = "event_cancelled"
    status = 409
    default_message = _("This event is cancelled and can no longer be changed.")


class EventNotPublishable(DomainError):
    code = "event_not_publishable"
    status = 409
    default_message = _("Only a draft event with at least one scheduled session can be published.")


class SessionCancelled(DomainError):
    code = "session_cancelled"
    status = 409
    default_message = _("This session is cancelled and can no longer be changed.")


class PriceInvalid(InvalidInput):
    code = "price_invalid"
    default_message = _(
        "A price must be a non-negative amount with no more decimals than its currency has."
    )


class CurrencyInvalid(InvalidInput):
    code = "currency_invalid"
    default_message = _("This currency is not supported.")


class ZoneCodeTaken(InvalidInput):
    code = "zone_code_taken"
    default_message = _("This session already has a price zone with this code.")


class ZoneNotInSession(InvalidInput):
    code = "zone_not_in_session"
    default_message = _("This price zone belongs to another session.")


class PlaceNotInLayout(InvalidInput):
    code = "place_not_in_layout"
    default_message = _(
        "The section, row or seat is not part of the session's layout, or they do not belong "
        "together."
    )


class PlaceRequired(InvalidInput):
    code = "place_required"
    default_message = _("Choose a section, a row or a seat.")


class CategoryNotInLayout(InvalidInput):
    code = "category_not_in_layout"
    default_message = _("No seat of the session's layout has this category.")


# -- shared rules ------------------------------------------------------------------------


class PolicyInvalid(InvalidInput):
    code = "policy_invalid"
    default_message = _(
        "Check the policy's numbers: fees are not negative, the maximum fee is at least the "
        "minimum, percentages run from 0 to 100 and the demand fee's cap is at least its floor."
    )


def _full_clean(obj, *, exclude: Iterable[str] = ()) -> None:
    """Model validation (lengths, choices, URLs, constraints) as an InvalidInput."""
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False)
    except ValidationError as exc:
        details = {
            field: [str(m) for m in messages] for field, messages in exc.message_dict.items()
        }
        raise InvalidInput(details=details) from exc


def _require_aware(**values: datetime | None) -> None:
    for name, value in values.items():
        if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
            raise SessionDatesInvalid(details={name: "aware datetime required"})


def check_session_rules(
    *,
    starts_at: datetime,
    ends_at: datetime | None,
    doors_open_at: datetime | None,
    on_sale_from: datetime | None,
    on_sale_until: datetime | None,
    max_tickets_per_order: int,
    max_tickets_per_account: int,
    hold_minutes: int,
    real_name_required: bool = False,
    max_tickets_per_identity: int = 1,
) -> None:
    """The rules of a session's dates and sale limits.

    Raises SessionDatesInvalid (ends before it starts, doors after the start),
    SaleWindowInvalid (window not ordered or closing after the start) or
    SessionRulesInvalid (a limit or the hold time outside 1..32767).
    """
    if starts_at is None:
        raise SessionDatesInvalid(details={"starts_at": "required"})
    _require_aware(
        starts_at=starts_at,
        ends_at=ends_at,
        doors_open_at=doors_open_at,
        on_sale_from=on_sale_from,
        on_sale_until=on_sale_until,
    )
    if ends_at is not None and ends_at <= starts_at:
        raise SessionDatesInvalid(details={"ends_at": "not after starts_at"})
    if doors_open_at is not None and doors_open_at > starts_at:
        raise SessionDatesInvalid(details={"doors_open_at": "after starts_at"})
    if on_sale_from is not None and on_sale_until is not None and on_sale_until <= on_sale_from:
        raise SaleWindowInvalid(details={"on_sale_until": "not after on_sale_from"})
    if on_sale_until is not None and on_sale_until > starts_at:
        raise SaleWindowInvalid(details={"on_sale_until": "after starts_at"})
    if on_sale_from is not None and on_sale_from >= starts_at:
        raise SaleWindowInvalid(details={"on_sale_from": "not before starts_at"})
    for name, value in (
        ("max_tickets_per_order", max_tickets_per_order),
        ("max_tickets_per_account", max_tickets_per_account),
        ("hold_minutes", hold_minutes),
        ("max_tickets_per_identity", max_tickets_per_identity),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SessionRulesInvalid(details={name: "integer required"})
        if not 1 <= value <= _SMALL_INT_MAX:
            raise SessionRulesInvalid(details={name: "out of range"})
    if not isinstance(real_name_required, bool):
        raise SessionRulesInvalid(details={"real_name_required": "boolean required"})


def check_event_links(
    *,
    organization_id: int,
    season: Season | None,
    home_team: Team | None,
    away_team: Team | None,
    tour: Tour | None,
) -> None:
    """A fixture's season and teams and a concert's tour belong to the event's organizer.

    Raises EventLinksInvalid naming the offending field.
    """
    if season is not None and season.competition.organization_id != organization_id:
        raise EventLinksInvalid(details={"season": "other organizer"})
    for name, team in (("home_team", home_team), ("away_team", away_team)):
        if team is not None and team.organization_id != organization_id:
            raise EventLinksInvalid(details={name: "other organizer"})
    if home_team is not None and away_team is not None and home_team.pk == away_team.pk:
        raise EventLinksInvalid(details={"away_team": "same as home_team"})
    if tour is not None and tour.organization_id != organization_id:
        raise EventLinksInvalid(details={"tour": "other organizer"})


def check_price(price: Any, currency: str) -> Decimal:
    """The price as a Decimal; raises PriceInvalid / CurrencyInvalid.

    Floats are refused, like everywhere money is handled; so are amounts with more
    decimals than the currency's minor unit (they would be rounded silently).
    """
    if currency not in _KNOWN_CURRENCIES:
        raise CurrencyInvalid(details={"currency": currency})
    if isinstance(price, float | bool) or not isinstance(price, Decimal | int | str):
        raise PriceInvalid(details={"price": "decimal required"})
    try:
        value = Decimal(price)
    except ArithmeticError as exc:
        raise PriceInvalid(details={"price": "not a number"}) from exc
    if not value.is_finite() or value < 0 or value >= Decimal("10000000000"):
        raise PriceInvalid(details={"price": "out of range"})
    rounded = round_money(value, currency)
    if rounded != value:
        raise PriceInvalid(details={"price": "too many decimals"})
    return rounded


def resolve_place(
    *, session: Session, section: Section | None, row: Row | None, seat: Seat | None
) -> tuple[Section, Row | None, Seat | None]:
    """The (section, row, seat) an assignment targets, completed from the most specific one.

    A seat implies its row and section, a row its section; any part given must agree with
    them and lie in the session's layout. Raises PlaceRequired or PlaceNotInLayout.
    """
    if seat is None and row is None and section is None:
        raise PlaceRequired()
    if seat is not None:
        if row is not None and row.pk != seat.row_id:
            raise PlaceNotInLayout(details={"row": "not the seat's row"})
        row = seat.row
        if seat.section_id != row.section_id:
            raise PlaceNotInLayout(details={"seat": "inconsistent seat"})
    if row is not None:
        if section is not None and section.pk != row.section_id:
            raise PlaceNotInLayout(details={"section": "not the row's section"})
        section = row.section
    if section.layout_id != session.layout_id:
        raise PlaceNotInLayout(details={"section": "other layout"})
    return section, row, seat


def _unique_event_slug(base: str) -> str:
    base = (base or "event")[:100].strip("-") or "event"
    slug, n = base, 1
    while Event.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _check_slug(slug: str, *, exclude_pk: int | None = None) -> None:
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise InvalidInput(details={"slug": [str(m) for m in exc.messages]}) from exc
    taken = Event.objects.filter(slug=slug)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise SlugTaken(details={"slug": slug})


def _save_unique(obj, taken: DomainError) -> None:
    """Insert ``obj``; a concurrent insert of the same unique value raises ``taken``
    (the checks before are only the friendly path, the constraint is the backstop)."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise taken from exc


def _locked_event(event: Event) -> Event:
    return Event.objects.select_for_update().get(pk=event.pk)


def _locked_session(session: Session) -> Session:
    return Session.objects.select_for_update().select_related("event").get(pk=session.pk)


# -- events ------------------------------------------------------------------------------

_EVENT_FIELDS = frozenset(
    {
        "kind",
        "name",
        "name_en",
        "slug",
        "description",
        "description_en",
        "image_url",
        "is_featured",
        "season",
        "home_team",
        "away_team",
        "round",
        "tour",
    }
)


def create_event(
    *,
    organization: Organization,
    kind: str,
    name: str,
    actor: User | None,
    now: datetime,
    name_en: str = "",
    slug: str = "",
    description: str = "",
    description_en: str = "",
    image_url: str = "",
    is_featured: bool = False,
    season: Season | None = None,
    home_team: Team | None = None,
    away_team: Team | None = None,
    round: str = "",
    tour: Tour | None = None,
    tags: Iterable[Tag] = (),
    artists: Iterable[Artist] = (),
) -> Event:
    """Create a draft event of an organizer.

    Without ``slug`` one is made from the English (else "event") name and numbered until
    free. Raises NotAnOrganizer, SlugTaken, EventLinksInvalid or InvalidInput (bad kind,
    empty name, a field too long); nothing is written then.
    """
    if not organization.is_active or organization.kind not in (
        OrganizationKind.ORGANIZER,
        OrganizationKind.PLATFORM,
    ):
        raise NotAnOrganizer(details={"organization": organization.pk})
    if kind not in EventKind.values:
        raise InvalidInput(details={"kind": kind})
    check_event_links(
        organization_id=organization.pk,
        season=season,
        home_team=home_team,
        away_team=away_team,
        tour=tour,
    )
    with transaction.atomic():
        if slug:
            _check_slug(slug)
        else:
            slug = _unique_event_slug(slugify(name_en))
        event = Event(
            organization=organization,
            kind=kind,
            status=EventStatus.DRAFT,
            name=name,
            name_en=name_en,
            slug=slug,
            description=description,
            description_en=description_en,
            image_url=image_url,
            is_featured=is_featured,
            season=season,
            home_team=home_team,
            away_team=away_team,
            round=round,
            tour=tour,
        )
        _full_clean(event)
        _save_unique(event, SlugTaken(details={"slug": slug}))
        event.tags.set(list(tags))
        event.artists.set(list(artists))
        audit.record(
            action="event.created",
            obj=event,
            actor=actor,
            organization_id=organization.pk,
            now=now,
            data={"slug": event.slug, "kind": kind},
        )
    return event


def update_event(
    *,
    event: Event,
    actor: User | None,
    now: datetime,
    tags: Iterable[Tag] | None = None,
    artists: Iterable[Artist] | None = None,
    **changes: Any,
) -> Event:
    """Change an event's descriptive fields (``changes`` among kind, name, name_en, slug,
    description, description_en, image_url, is_featured, season, home_team, away_team,
    round, tour) and optionally replace its tags or artists.

    Status changes go through publish_event / cancel_event. Raises TypeError for an unknown
    field, EventCancelled, SlugTaken, EventLinksInvalid or InvalidInput; nothing is
    written then.
    """
    unknown = set(changes) - _EVENT_FIELDS
    if unknown:
        raise TypeError(f"update_event() cannot change {sorted(unknown)}")
    with transaction.atomic():
        locked = _locked_event(event)
        if locked.status == EventStatus.CANCELLED:
            raise EventCancelled()
        if "kind" in changes and changes["kind"] not in EventKind.values:
            raise InvalidInput(details={"kind": changes["kind"]})
        if "slug" in changes and changes["slug"] != locked.slug:
            _check_slug(changes["slug"], exclude_pk=locked.pk)
        for name, value in changes.items():
            setattr(locked, name, value)
        check_event_links(
            organization_id=locked.organization_id,
            season=locked.season,
            home_team=locked.home_team,
            away_team=locked.away_team,
            tour=locked.tour,
        )
        _full_clean(locked)
        _save_unique(locked, SlugTaken(details={"slug": locked.slug}))
        if tags is not None:
            locked.tags.set(list(tags))
        if artists is not None:
            locked.artists.set(list(artists))
        audit.record(
            action="event.updated",
            obj=locked,
            actor=actor,
            organization_id=locked.organization_id,
            now=now,
            data={
                "fields": sorted(changes)
                + (["tags"] if tags is not None else [])
                + (["artists"] if artists is not None else [])
            },
        )
    _refresh(event, locked)
    return event


def publish_event(*, event: Event, actor: User | None, now: datetime) -> Event:
    """Make a draft event public. Publishing a published event changes nothing.

    Raises EventNotPublishable for a cancelled event or one without a scheduled session.
    """
    with transaction.atomic():
        locked = _locked_event(event)
        if locked.status == EventStatus.PUBLISHED:
            _refresh(event, locked)
            return event
        has_session = locked.sessions.exclude(status=SessionStatus.CANCELLED).exists()
        if locked.status != EventStatus.DRAFT or not has_session:
            raise EventNotPublishable(details={"status": locked.status, "has_session": has_session})
        locked.status = EventStatus.PUBLISHED
        locked.save(update_fields=["status", "updated_at"])
        audit.record(
            action="event.published",
            obj=locked,
            actor=actor,
            organization_id=locked.organization_id,
            now=now,
        )
    _refresh(event, locked)
    return event


def _check_cancellable(session: Session) -> None:
    """Run ``settings.SESSION_CANCEL_GUARDS``: apps above the catalog refuse to let a session
    be cancelled while it holds what they own (after-sales: paid orders, which a silent
    cancellation would leave with valid tickets and no money back). A guard is
    ``guard(*, session) -> None`` raising a DomainError."""
    for path in getattr(settings, "SESSION_CANCEL_GUARDS", ()):
        import_string(path)(session=session)


def cancel_event(*, event: Event, actor: User | None, now: datetime, reason: str = "") -> Event:
    """Cancel an event and every session of it that is not cancelled yet.

    Cancelling a cancelled event changes nothing. A session guard that refuses (paid
    orders) refuses the whole event; nothing changes then.
    """
    with transaction.atomic():
        locked = _locked_event(event)
        if locked.status == EventStatus.CANCELLED:
            _refresh(event, locked)
            return event
        session_ids = list(
            locked.sessions.exclude(status=SessionStatus.CANCELLED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for session in Session.objects.filter(pk__in=session_ids).order_by("pk"):
            _check_cancellable(session)
        Session.objects.filter(pk__in=session_ids).update(
            status=SessionStatus.CANCELLED, updated_at=now
        )
        locked.status = EventStatus.CANCELLED
        locked.save(update_fields=["status", "updated_at"])
        audit.record(
            action="event.cancelled",
            obj=locked,
            actor=actor,
            organization_id=locked.organization_id,
            now=now,
            data={"reason": reason, "sessions": session_ids},
        )
    _refresh(event, locked)
    return event


def _refresh(target, source) -> None:
    """Copy the committed row's fields onto the caller's instance."""
    for f in source._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))


# -- sessions ----------------------------------------------------------------------------

SESSION_FIELDS = (
    "starts_at",
    "ends_at",
    "doors_open_at",
    "on_sale_from",
    "on_sale_until",
    "max_tickets_per_order",
    "max_tickets_per_account",
    "hold_minutes",
    "real_name_required",
    "max_tickets_per_identity",
)


def create_session(
    *,
    event: Event,
    layout: Layout | int,
    starts_at: datetime,
    actor: User | None,
    now: datetime,
    ends_at: datetime | None = None,
    doors_open_at: datetime | None = None,
    on_sale_from: datetime | None = None,
    on_sale_until: datetime | None = None,
    max_tickets_per_order: int = 6,
    max_tickets_per_account: int = 6,
    hold_minutes: int = 10,
    real_name_required: bool = False,
    max_tickets_per_identity: int = 1,
) -> Session:
    """Add a date of an event in a venue layout (a Layout or its id).

    Raises LayoutNotFound, EventCancelled, SessionDatesInvalid, SaleWindowInvalid or
    SessionRulesInvalid; nothing is written then.
    """
    check_session_rules(
        starts_at=starts_at,
        ends_at=ends_at,
        doors_open_at=doors_open_at,
        on_sale_from=on_sale_from,
        on_sale_until=on_sale_until,
        max_tickets_per_order=max_tickets_per_order,
        max_tickets_per_account=max_tickets_per_account,
        hold_minutes=hold_minutes,
        real_name_required=real_name_required,
        max_tickets_per_identity=max_tickets_per_identity,
    )
    layout_id = layout.pk if isinstance(layout, Layout) else layout
    with transaction.atomic():
        if (
            isinstance(layout_id, bool)
            or not isinstance(layout_id, int)
            or not Layout.objects.filter(pk=layout_id).exists()
        ):
            raise LayoutNotFound(details={"layout": layout_id})
        locked = _locked_event(event)
        if locked.status == EventStatus.CANCELLED:
            raise EventCancelled()
        session = Session.objects.create(
            event=locked,
            layout_id=layout_id,
            starts_at=starts_at,
            ends_at=ends_at,
            doors_open_at=doors_open_at,
            on_sale_from=on_sale_from,
            on_sale_until=on_sale_until,
            max_tickets_per_order=max_tickets_per_order,
            max_tickets_per_account=max_tickets_per_account,
            hold_minutes=hold_minutes,
            real_name_required=real_name_required,
            max_tickets_per_identity=max_tickets_per_identity,
        )
        audit.record(
            action="session.created",
            obj=session,
            actor=actor,
            organization_id=locked.organization_id,
            now=now,
            data={"event": locked.pk, "layout": layout_id, "starts_at": starts_at.isoformat()},
        )
    return session


def update_session(
    *, session: Session, actor: User | None, now: datetime, **changes: Any
) -> Session:
    """Change a session's dates, sale window or limits (``changes`` among starts_at,
    ends_at, doors_open_at, on_sale_from, on_sale_until, max_tickets_per_order,
    max_tickets_per_account, hold_minutes). The layout stays: its places carry the zones.

    Raises TypeError for an unknown field, SessionCancelled, EventCancelled or the rule
    errors of create_session; nothing is written then.
    """
    unknown = set(changes) - set(SESSION_FIELDS)
    if unknown:
        raise TypeError(f"update_session() cannot change {sorted(unknown)}")
    with transaction.atomic():
        locked = _locked_session(session)
        if locked.status == SessionStatus.CANCELLED:
            raise SessionCancelled()
        if locked.event.status == EventStatus.CANCELLED:
            raise EventCancelled()
        values = {name: changes.get(name, getattr(locked, name)) for name in SESSION_FIELDS}
        check_session_rules(**values)
        for name in changes:
            setattr(locked, name, values[name])
        locked.save()
        audit.record(
            action="session.updated",
            obj=locked,
            actor=actor,
            organization_id=locked.event.organization_id,
            now=now,
            data={"fields": sorted(changes)},
        )
    _refresh(session, locked)
    return session


def cancel_session(
    *, session: Session, actor: User | None, now: datetime, reason: str = ""
) -> Session:
    """Cancel one date of an event; cancelling a cancelled session changes nothing. Refused
    by a session guard (``_check_cancellable``: paid orders) with nothing changed."""
    with transaction.atomic():
        locked = _locked_session(session)
        if locked.status != SessionStatus.CANCELLED:
            _check_cancellable(locked)
            locked.status = SessionStatus.CANCELLED
            locked.save(update_fields=["status", "updated_at"])
            audit.record(
                action="session.cancelled",
                obj=locked,
                actor=actor,
                organization_id=locked.event.organization_id,
                now=now,
                data={"reason": reason},
            )
    _refresh(session, locked)
    return session


def postpone_session(
    *,
    session: Session,
    actor: User | None,
    now: datetime,
    starts_at: datetime | None,
    reason: str = "",
) -> Session:
    """Move a session to ``starts_at`` (its end and doors keep their distance to the start;
    the session is scheduled again), or, with ``starts_at`` None, mark it postponed with
    the date to be announced (off sale until a date is set). Called by the after-sales
    postponement, which re-dates the tickets. Raises SessionCancelled, EventCancelled or
    the rule errors of create_session; nothing is written then."""
    with transaction.atomic():
        locked = _locked_session(session)
        if locked.status == SessionStatus.CANCELLED:
            raise SessionCancelled()
        if locked.event.status == EventStatus.CANCELLED:
            raise EventCancelled()
        previous = locked.starts_at
        if starts_at is None:
            locked.status = SessionStatus.POSTPONED
        else:
            shift = starts_at - locked.starts_at
            values = {name: getattr(locked, name) for name in SESSION_FIELDS}
            values["starts_at"] = starts_at
            for name in ("ends_at", "doors_open_at"):
                if values[name] is not None:
                    values[name] = values[name] + shift
            check_session_rules(**values)
            for name in ("starts_at", "ends_at", "doors_open_at"):
                setattr(locked, name, values[name])
            locked.status = SessionStatus.SCHEDULED
        locked.save()
        audit.record(
            action="session.postponed",
            obj=locked,
            actor=actor,
            organization_id=locked.event.organization_id,
            now=now,
            data={
                "from": previous.isoformat(),
                "to": starts_at.isoformat() if starts_at else None,
                "reason": reason,
            },
        )
    _refresh(session, locked)
    return session


def move_session(
    *,
    session: Session,
    layout: Layout,
    zone_by_section: Mapping[int, PriceZone],
    actor: User | None,
    now: datetime,
    reason: str = "",
) -> Session:
    """Move a session to another layout (another venue): its price zones stay, the old
    layout's zone assignments are dropped and each section of ``zone_by_section`` (sections
    of ``layout``) is put whole into its zone. Called by the after-sales move, which moves
    the places sold and reissues the tickets. Raises SessionCancelled, EventCancelled,
    ZoneNotInSession or PlaceNotInLayout; nothing is written then."""
    with transaction.atomic():
        locked = _locked_session(session)
        if locked.status == SessionStatus.CANCELLED:
            raise SessionCancelled()
        if locked.event.status == EventStatus.CANCELLED:
            raise EventCancelled()
        sections = {section.pk: section for section in Section.objects.filter(layout=layout)}
        for section_id, zone in zone_by_section.items():
            if zone.session_id != locked.pk:
                raise ZoneNotInSession(details={"zone": zone.pk, "session": locked.pk})
            if section_id not in sections:
                raise PlaceNotInLayout(details={"section": section_id})
        previous = locked.layout_id
        ZoneAssignment.objects.filter(session=locked).delete()
        ZoneAssignment.objects.bulk_create(
            ZoneAssignment(session=locked, zone=zone, section=sections[section_id])
            for section_id, zone in sorted(zone_by_section.items())
        )
        locked.layout = layout
        locked.save()
        audit.record(
            action="session.moved",
            obj=locked,
            actor=actor,
            organization_id=locked.event.organization_id,
            now=now,
            data={
                "from_layout": previous,
                "to_layout": layout.pk,
                "zones": {str(k): v.pk for k, v in zone_by_section.items()},
                "reason": reason,
            },
        )
    _refresh(session, locked)
    return session


# -- price zones -------------------------------------------------------------------------


def create_price_zone(
    *,
    session: Session,
    code: str,
    name: str,
    price: Decimal | int | str,
    actor: User | None,
    now: datetime,
    name_en: str = "",
    currency: str = "CNY",
    color: str = "#3b82f6",
    sort_order: int = 0,
) -> PriceZone:
    """Add a price level to a session.

    Raises PriceInvalid, CurrencyInvalid, ZoneCodeTaken, SessionCancelled or InvalidInput
    (empty code or name, colour not #rrggbb); nothing is written then.
    """
    amount = check_price(price, currency)
    if not COLOR_PATTERN.match(color or ""):
        raise InvalidInput(details={"color": color})
    with transaction.atomic():
        locked = _locked_session(session)
        if locked.status == SessionStatus.CANCELLED:
            raise SessionCancelled()
        if PriceZone.objects.filter(session=locked, code=code).exists():
            raise ZoneCodeTaken(details={"code": code})
        zone = PriceZone(
            session=locked,
            code=code,
            name=name,
            name_en=name_en,
            price=amount,
            currency=currency,
            color=color,
            sort_order=sort_order,
        )
        _full_clean(zone)
        _save_unique(zone, ZoneCodeTaken(details={"code": code}))
        audit.record(
            action="price_zone.created",
            obj=zone,
            actor=actor,
            organization_id=locked.event.organization_id,
            now=now,
            data={"code": code, "price": str(amount), "currency": currency},
        )
    return zone


def assign_zone(
    *,
    session: Session,
    zone: PriceZone,
    actor: User | None,
    now: datetime,
    section: Section | None = None,
    row: Row | None = None,
    seat: Seat | None = None,
) -> ZoneAssignment:
    """Put a whole section, a row or one seat of the session's layout into ``zone``.

    The most specific target given decides the assignment's level; an earlier assignment
    of the same place is replaced. The most specific level wins when prices are read
    (seat over row over section). Raises ZoneNotInSession, PlaceRequired or
    PlaceNotInLayout; nothing is written then.
    """
    if zone.session_id != session.pk:
        raise ZoneNotInSession(details={"zone": zone.pk, "session": session.pk})
    section, row, seat = resolve_place(session=session, section=section, row=row, seat=seat)
    with transaction.atomic():
        locked = _locked_session(session)
        if seat is not None:
            target = {"seat": seat}
        elif row is not None:
            target = {"row": row, "seat__isnull": True}
        else:
            target = {"section": section, "row__isnull": True, "seat__isnull": True}
        assignment = ZoneAssignment.objects.filter(session=locked, **target).first()
        previous = assignment.zone_id if assignment else None
        if assignment is None:
            assignment = ZoneAssignment(session=locked, section=section, row=row, seat=seat)
        assignment.zone = zone
        assignment.save()
        audit.record(
            action="zone.assigned",
            obj=assignment,
            actor=actor,
            organization_id=locked.event.organization_id,
            now=now,
            data={
                "zone": zone.pk,
                "previous_zone": previous,
                "section": section.pk,
                "row": row.pk if row else None,
                "seat": seat.pk if seat else None,
            },
        )
    return assignment


def assign_zones_by_category(
    *, session: Session, mapping: Mapping[str, PriceZone], actor: User | None, now: datetime
) -> int:
    """Put every seat whose imported category is in ``mapping`` into that category's zone.

    Seats of other categories keep their zones. Whole sections or rows that end up in one
    zone are stored as one section or row assignment (their finer assignments are removed),
    the rest seat by seat, so a 60,000-seat plan stays a handful of rows. Returns the
    number of seats assigned. Raises ZoneNotInSession or CategoryNotInLayout; nothing is
    written then.
    """
    for category, zone in mapping.items():
        if zone.session_id != session.pk:
            raise ZoneNotInSession(details={"category": category, "zone": zone.pk})
    seats = list(
        Seat.objects.filter(section__layout_id=session.layout_id)
        .order_by()
        .values_list("id", "row_id", "section_id", "category")
    )
    present = {category for *_, category in seats}
    missing = sorted(set(mapping) - present)
    if missing:
        raise CategoryNotInLayout(details={"categories": missing})

    zone_ids = {category: zone.pk for category, zone in mapping.items()}
    # seat id -> zone id for mapped seats, grouped by row and by section
    by_row: dict[int, dict[int, int | None]] = defaultdict(dict)
    by_section: dict[int, dict[int, int | None]] = defaultdict(dict)
    for seat_id, row_id, section_id, category in seats:
        zone_id = zone_ids.get(category)
        by_row[row_id][seat_id] = zone_id
        by_section[section_id][seat_id] = zone_id
    row_section = {row_id: section_id for _, row_id, section_id, _ in seats}

    whole_sections: dict[int, int] = {}
    for section_id, zones in by_section.items():
        distinct = set(zones.values())
        if len(distinct) == 1 and None not in distinct:
            whole_sections[section_id] = distinct.pop()
    whole_rows: dict[int, int] = {}
    single_seats: dict[int, int] = {}
    for row_id, zones in by_row.items():
        if row_section[row_id] in whole_sections:
            continue
        distinct = set(zones.values())
        if len(distinct) == 1 and None not in distinct:
            whole_rows[row_id] = distinct.pop()
        else:
            single_seats.update({s: z for s, z in zones.items() if z is not None})

    with transaction.atomic():
        locked = _locked_session(session)
        existing = ZoneAssignment.objects.filter(session=locked)
        existing.filter(section_id__in=whole_sections).delete()
        existing.filter(row_id__in=whole_rows).delete()
        existing.filter(seat_id__in=single_seats).delete()
        new = [
            ZoneAssignment(session=locked, zone_id=z, section_id=s)
            for s, z in whole_sections.items()
        ]
        new += [
            ZoneAssignment(session=locked, zone_id=z, section_id=row_section[r], row_id=r)
            for r, z in whole_rows.items()
        ]
        seat_place = {seat_id: (row_id, section_id) for seat_id, row_id, section_id, _ in seats}
        new += [
            ZoneAssignment(
                session=locked,
                zone_id=z,
                section_id=seat_place[s][1],
                row_id=seat_place[s][0],
                seat_id=s,
            )
            for s, z in single_seats.items()
        ]
        ZoneAssignment.objects.bulk_create(new, batch_size=_BATCH)
        assigned = sum(1 for *_, category in seats if category in zone_ids)
        audit.record(
            action="zone.assigned_by_category",
            obj=locked,
            actor=actor,
            organization_id=locked.event.organization_id,
            now=now,
            data={
                "mapping": dict(sorted(zone_ids.items())),
                "seats": assigned,
                "sections": len(whole_sections),
                "rows": len(whole_rows),
                "single_seats": len(single_seats),
            },
        )
    return assigned


# -- after-sales policies ------------------------------------------------------------------

_POLICY_FIELDS = {
    "is_refundable",
    "refund_cutoff_hours",
    "refunds_need_review",
    "fee_min",
    "fee_max",
    "has_demand_fee",
    "demand_fee_floor",
    "demand_fee_cap",
    "demand_from_sold",
    "is_exchangeable",
    "exchange_cutoff_hours",
    "exchange_fee",
    "exchange_to_other_sessions",
    "is_transferable",
    "max_transfers",
    "transfer_cutoff_hours",
    "note",
    "note_en",
}
_HOURS_MAX = 24 * 366 * 5


def _percent(value: Any, field: str) -> Decimal:
    if isinstance(value, float | bool) or not isinstance(value, Decimal | int | str):
        raise PolicyInvalid(details={field: "decimal required"})
    try:
        number = Decimal(value)
    except ArithmeticError as exc:
        raise PolicyInvalid(details={field: "not a number"}) from exc
    if (
        not number.is_finite()
        or not 0 <= number <= 100
        or number != number.quantize(Decimal("0.01"))
    ):
        raise PolicyInvalid(details={field: "out of range"})
    return number


def check_policy_numbers(
    *,
    fee_min: Any = 0,
    fee_max: Any = None,
    exchange_fee: Any = 0,
    demand_fee_floor: Any = 0,
    demand_fee_cap: Any = 0,
    demand_from_sold: Any = 80,
) -> None:
    """The rules of a policy's numbers; raises PolicyInvalid naming the field. Missing values
    (None, from a form whose field failed already) are not checked here."""
    amounts = {"fee_min": fee_min, "fee_max": fee_max, "exchange_fee": exchange_fee}
    checked: dict[str, Decimal] = {}
    for field, value in amounts.items():
        if value is None:
            continue
        try:
            checked[field] = check_price(value, "CNY")
        except PriceInvalid as exc:
            raise PolicyInvalid(details={field: exc.details.get("price", "invalid")}) from exc
    if "fee_min" in checked and "fee_max" in checked and checked["fee_max"] < checked["fee_min"]:
        raise PolicyInvalid(details={"fee_max": "below fee_min"})
    floor = _percent(demand_fee_floor, "demand_fee_floor") if demand_fee_floor is not None else None
    cap = _percent(demand_fee_cap, "demand_fee_cap") if demand_fee_cap is not None else None
    if floor is not None and cap is not None and cap < floor:
        raise PolicyInvalid(details={"demand_fee_cap": "below demand_fee_floor"})
    if demand_from_sold is not None and _percent(demand_from_sold, "demand_from_sold") >= 100:
        raise PolicyInvalid(details={"demand_from_sold": "out of range"})


def set_policy(
    *,
    event: Event,
    session: Session | None = None,
    tiers: Iterable[tuple[int, Any]] = (),
    actor: User | None,
    now: datetime,
    **fields: Any,
) -> AfterSalesPolicy:
    """Create or replace the after-sales policy of an event (``session`` None) or of one of
    its sessions, with its fee steps ``tiers`` as (hours before the start, percent).

    Raises PolicyInvalid (numbers out of range, duplicate steps, a session of another event,
    an unknown field); nothing is written then.
    """
    unknown = set(fields) - _POLICY_FIELDS
    if unknown:
        raise PolicyInvalid(details=dict.fromkeys(sorted(unknown), "unknown"))
    if session is not None and session.event_id != event.pk:
        raise PolicyInvalid(details={"session": "other event"})
    check_policy_numbers(
        **{
            name: fields[name]
            for name in (
                "fee_min",
                "fee_max",
                "exchange_fee",
                "demand_fee_floor",
                "demand_fee_cap",
                "demand_from_sold",
            )
            if name in fields
        }
    )
    steps: dict[int, Decimal] = {}
    for hours, percent in tiers:
        if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= _HOURS_MAX:
            raise PolicyInvalid(details={"tiers": "hours out of range"})
        if hours in steps:
            raise PolicyInvalid(details={"tiers": "duplicate hours"})
        steps[hours] = _percent(percent, "tiers")
    for name in ("refund_cutoff_hours", "exchange_cutoff_hours", "transfer_cutoff_hours"):
        value = fields.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _HOURS_MAX:
            raise PolicyInvalid(details={name: "out of range"})
    transfers = fields.get("max_transfers", 1)
    if isinstance(transfers, bool) or not isinstance(transfers, int) or not 0 <= transfers <= 20:
        raise PolicyInvalid(details={"max_transfers": "out of range"})
    with transaction.atomic():
        _locked_event(event)
        policy = AfterSalesPolicy.objects.filter(event=event, session=session).first()
        created = policy is None
        if created:
            policy = AfterSalesPolicy(event=event, session=session)
        for name, value in fields.items():
            setattr(policy, name, value)
        policy.save()
        policy.tiers.all().delete()
        FeeTier.objects.bulk_create(
            FeeTier(policy=policy, hours_before=hours, percent=percent)
            for hours, percent in steps.items()
        )
        audit.record(
            action="policy.set",
            obj=policy,
            actor=actor,
            organization_id=event.organization_id,
            now=now,
            data={
                "session": session.pk if session else None,
                "fields": sorted(fields),
                "tiers": [[hours, str(percent)] for hours, percent in sorted(steps.items())],
            },
        )
    return policy
