"""Catalog services: every rule, with the failure paths leaving nothing behind."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tessera.accounts.models import OrganizationKind
from tessera.accounts.tests.factories import make_organization, make_user
from tessera.catalog import services
from tessera.catalog.models import (
    Event,
    EventKind,
    EventStatus,
    PriceZone,
    Session,
    SessionStatus,
    ZoneAssignment,
)
from tessera.catalog.selectors import zone_of_seats
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
from tessera.core.errors import InvalidInput
from tessera.core.models import AuditEntry
from tessera.venues.models import Row, Seat, Section
from tessera.venues.tests.factories import make_layout

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor():
    return make_user(username="editor", password=None)  # no hashing: fast


@pytest.fixture
def org():
    return make_organization(name="星光演艺", name_en="Starlight Live", slug="starlight")


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


class Snapshot:
    """Counts of every catalog table and of the audit log, to prove nothing changed."""

    def __init__(self):
        self.counts = self.take()

    @staticmethod
    def take():
        return {
            model.__name__: model.objects.count()
            for model in (Event, Session, PriceZone, ZoneAssignment, AuditEntry)
        }

    def unchanged(self) -> bool:
        return self.take() == self.counts


# -- events --------------------------------------------------------------------------------


def test_create_event_makes_a_draft_with_its_links_and_audits(org, actor):
    # given
    artist, tag = make_artist(slug="jay"), make_tag(slug="pop")
    tour = make_tour(organization=org, artist=artist)
    # when
    event = services.create_event(
        organization=org,
        kind=EventKind.CONCERT,
        name="嘉年华",
        name_en="Carnival Night",
        description="夏夜",
        tour=tour,
        tags=[tag],
        artists=[artist],
        actor=actor,
        now=NOW,
    )
    # then
    event.refresh_from_db()
    assert (event.status, event.slug, event.name, event.tour_id) == (
        EventStatus.DRAFT,
        "carnival-night",
        "嘉年华",
        tour.pk,
    )
    assert [t.slug for t in event.tags.all()] == ["pop"]
    assert [a.slug for a in event.artists.all()] == ["jay"]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.organization_id, entry.object_id, entry.at) == (
        "event.created",
        actor,
        org.pk,
        str(event.pk),
        NOW,
    )
    assert entry.data == {"slug": "carnival-night", "kind": "concert"}


def test_create_event_numbers_generated_slugs_and_falls_back_for_chinese_names(org, actor):
    first = services.create_event(
        organization=org, kind="show", name="甲", name_en="Gala", actor=actor, now=NOW
    )
    second = services.create_event(
        organization=org, kind="show", name="乙", name_en="Gala", actor=actor, now=NOW
    )
    chinese = services.create_event(
        organization=org, kind="show", name="只有中文", actor=actor, now=NOW
    )
    assert (first.slug, second.slug, chinese.slug) == ("gala", "gala-2", "event")


def test_create_fixture_with_own_season_and_teams(org, actor):
    season = make_season(competition=make_competition(organization=org))
    home, away = make_team(organization=org), make_team(organization=org)
    event = services.create_event(
        organization=org,
        kind=EventKind.MATCH,
        name="德比",
        slug="derby",
        season=season,
        home_team=home,
        away_team=away,
        round="第1轮",
        actor=actor,
        now=NOW,
    )
    assert (event.season_id, event.home_team_id, event.away_team_id, event.round) == (
        season.pk,
        home.pk,
        away.pk,
        "第1轮",
    )


def _create(org, actor, **fields):
    params = {
        "organization": org,
        "kind": EventKind.MATCH,
        "name": "比赛",
        "actor": actor,
        "now": NOW,
        **fields,
    }
    return services.create_event(**params)


@pytest.mark.parametrize(
    ("fields", "error", "code"),
    [
        ({"kind": "opera"}, InvalidInput, "invalid_input"),
        ({"slug": "taken"}, services.SlugTaken, "slug_taken"),
        ({"slug": "not a slug!"}, InvalidInput, "invalid_input"),
        ({"name": ""}, InvalidInput, "invalid_input"),
        ({"name": "长" * 201}, InvalidInput, "invalid_input"),
        ({"image_url": "not-a-url"}, InvalidInput, "invalid_input"),
    ],
)
def test_create_event_refuses_bad_fields(org, actor, fields, error, code):
    make_event(organization=org, slug="taken")
    before = Snapshot()
    with pytest.raises(error) as exc:
        _create(org, actor, **fields)
    assert exc.value.code == code
    assert before.unchanged()


def test_create_event_names_the_invalid_model_field(org, actor):
    with pytest.raises(InvalidInput) as exc:
        _create(org, actor, name="长" * 201)
    assert list(exc.value.details) == ["name"]


@pytest.mark.parametrize("kind", [OrganizationKind.VENUE_OPERATOR, OrganizationKind.DISTRIBUTOR])
def test_only_organizers_hold_events(actor, kind):
    venue_operator = make_organization(kind=kind)
    before = Snapshot()
    with pytest.raises(services.NotAnOrganizer):
        _create(venue_operator, actor)
    assert before.unchanged()


def test_inactive_organizer_cannot_create_events(org, actor):
    org.is_active = False
    org.save()
    with pytest.raises(services.NotAnOrganizer):
        _create(org, actor)
    assert Event.objects.count() == 0


@pytest.mark.parametrize("field", ["season", "home_team", "away_team", "tour"])
def test_links_to_another_organizers_data_are_refused(org, actor, field):
    # given data of another organizer
    other = make_organization()
    foreign = {
        "season": lambda: make_season(competition=make_competition(organization=other)),
        "home_team": lambda: make_team(organization=other),
        "away_team": lambda: make_team(organization=other),
        "tour": lambda: make_tour(organization=other),
    }[field]()
    before = Snapshot()
    # when / then
    with pytest.raises(services.EventLinksInvalid) as exc:
        _create(org, actor, **{field: foreign})
    assert exc.value.code == "event_links_invalid"
    assert exc.value.details == {field: "other organizer"}
    assert before.unchanged()


def test_a_team_cannot_play_itself(org, actor):
    team = make_team(organization=org)
    with pytest.raises(services.EventLinksInvalid) as exc:
        _create(org, actor, home_team=team, away_team=team)
    assert exc.value.details == {"away_team": "same as home_team"}
    assert Event.objects.count() == 0


def test_update_event_changes_fields_and_replaces_tags(org, actor):
    event = make_event(organization=org, status=EventStatus.DRAFT, slug="old")
    event.tags.set([make_tag(slug="old-tag")])
    new_tag = make_tag(slug="new-tag")

    services.update_event(
        event=event,
        actor=actor,
        now=NOW,
        name="新名字",
        slug="new",
        is_featured=True,
        tags=[new_tag],
    )

    event.refresh_from_db()
    assert (event.name, event.slug, event.is_featured) == ("新名字", "new", True)
    assert [t.slug for t in event.tags.all()] == ["new-tag"]
    entry = AuditEntry.objects.get(action="event.updated")
    assert entry.data == {"fields": ["is_featured", "name", "slug", "tags"]}


def test_update_event_keeps_its_own_slug(org, actor):
    event = make_event(organization=org, slug="same")
    services.update_event(event=event, actor=actor, now=NOW, slug="same", name="改")
    assert Event.objects.get(pk=event.pk).name == "改"


def test_update_event_refuses_a_taken_slug_and_changes_nothing(org, actor):
    make_event(organization=org, slug="taken")
    event = make_event(organization=org, slug="mine", name="原名")
    before = Snapshot()
    with pytest.raises(services.SlugTaken):
        services.update_event(event=event, actor=actor, now=NOW, name="新", slug="taken")
    assert (Event.objects.get(pk=event.pk).name, before.unchanged()) == ("原名", True)


def test_update_event_refuses_foreign_team(org, actor):
    event = make_event(organization=org, kind=EventKind.MATCH)
    with pytest.raises(services.EventLinksInvalid):
        services.update_event(
            event=event, actor=actor, now=NOW, home_team=make_team(organization=make_organization())
        )
    assert Event.objects.get(pk=event.pk).home_team_id is None


def test_update_event_cannot_touch_status_or_organization(org, actor):
    event = make_event(organization=org, status=EventStatus.DRAFT)
    with pytest.raises(TypeError):
        services.update_event(event=event, actor=actor, now=NOW, status=EventStatus.PUBLISHED)
    with pytest.raises(TypeError):
        services.update_event(event=event, actor=actor, now=NOW, organization=make_organization())
    event.refresh_from_db()
    assert (event.status, event.organization_id) == (EventStatus.DRAFT, org.pk)


def test_cancelled_event_cannot_be_updated(org, actor):
    event = make_event(organization=org, status=EventStatus.CANCELLED, name="原名")
    with pytest.raises(services.EventCancelled) as exc:
        services.update_event(event=event, actor=actor, now=NOW, name="新")
    assert (exc.value.code, exc.value.status) == ("event_cancelled", 409)
    assert Event.objects.get(pk=event.pk).name == "原名"


def test_publish_event_with_a_session(org, actor):
    event = make_event(organization=org, status=EventStatus.DRAFT)
    make_session(event=event)

    result = services.publish_event(event=event, actor=actor, now=NOW)

    assert result is event
    assert event.status == EventStatus.PUBLISHED
    assert Event.objects.get(pk=event.pk).status == EventStatus.PUBLISHED
    assert audit_actions() == ["event.published"]


def test_publishing_twice_changes_nothing_more(org, actor):
    event = make_event(organization=org, status=EventStatus.DRAFT)
    make_session(event=event)
    services.publish_event(event=event, actor=actor, now=NOW)
    services.publish_event(event=event, actor=actor, now=NOW)
    assert audit_actions() == ["event.published"]


@pytest.mark.parametrize("situation", ["no session", "only cancelled sessions", "cancelled"])
def test_event_not_publishable(org, actor, situation):
    status = EventStatus.CANCELLED if situation == "cancelled" else EventStatus.DRAFT
    event = make_event(organization=org, status=status)
    if situation != "no session":
        make_session(event=event, status=SessionStatus.CANCELLED)
    before = Snapshot()
    with pytest.raises(services.EventNotPublishable) as exc:
        services.publish_event(event=event, actor=actor, now=NOW)
    assert exc.value.code == "event_not_publishable"
    assert Event.objects.get(pk=event.pk).status == status
    assert before.unchanged()


def test_cancel_event_cancels_its_sessions_once(org, actor):
    event = make_event(organization=org)
    open_session, other = make_session(event=event), make_session(event=event)
    already = make_session(event=event, status=SessionStatus.CANCELLED)

    services.cancel_event(event=event, actor=actor, now=NOW, reason="台风")
    services.cancel_event(event=event, actor=actor, now=NOW)

    assert Event.objects.get(pk=event.pk).status == EventStatus.CANCELLED
    assert set(Session.objects.values_list("status", flat=True)) == {SessionStatus.CANCELLED}
    entry = AuditEntry.objects.get()
    assert entry.action == "event.cancelled"
    assert entry.data == {"reason": "台风", "sessions": [open_session.pk, other.pk]}
    assert already.pk not in entry.data["sessions"]


# -- sessions ------------------------------------------------------------------------------


@pytest.fixture
def draft(org):
    return make_event(organization=org, status=EventStatus.DRAFT)


@pytest.fixture
def layout():
    return make_layout(sections=2, rows=2, seats_per_row=3, standing_capacity=50)


def _session_kwargs(**overrides):
    values = {
        "starts_at": local(2025, 7, 5, 19, 30),
        "ends_at": local(2025, 7, 5, 22, 0),
        "doors_open_at": local(2025, 7, 5, 18, 0),
        "on_sale_from": local(2025, 6, 1, 10, 0),
        "on_sale_until": local(2025, 7, 5, 19, 30),
        "max_tickets_per_order": 4,
        "max_tickets_per_account": 8,
        "hold_minutes": 12,
    }
    values.update(overrides)
    return values


def test_create_session_with_all_rules(draft, layout, actor):
    session = services.create_session(
        event=draft, layout=layout, actor=actor, now=NOW, **_session_kwargs()
    )
    session.refresh_from_db()
    assert (session.layout_id, session.status, session.starts_at, session.on_sale_until) == (
        layout.pk,
        SessionStatus.SCHEDULED,
        local(2025, 7, 5, 19, 30),
        local(2025, 7, 5, 19, 30),
    )
    assert (
        session.max_tickets_per_order,
        session.max_tickets_per_account,
        session.hold_minutes,
    ) == (4, 8, 12)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.organization_id) == ("session.created", draft.organization_id)
    assert entry.data == {
        "event": draft.pk,
        "layout": layout.pk,
        "starts_at": "2025-07-05T19:30:00+08:00",
    }


def test_create_session_takes_a_layout_id_and_open_ended_dates(draft, layout, actor):
    session = services.create_session(
        event=draft, layout=layout.pk, actor=actor, now=NOW, starts_at=local(2025, 7, 5, 19, 30)
    )
    assert (session.layout_id, session.ends_at, session.on_sale_from) == (layout.pk, None, None)
    assert (session.max_tickets_per_order, session.hold_minutes) == (6, 10)


@pytest.mark.parametrize(
    ("overrides", "error", "detail"),
    [
        ({"ends_at": local(2025, 7, 5, 19, 0)}, services.SessionDatesInvalid, "ends_at"),
        ({"ends_at": local(2025, 7, 5, 19, 30)}, services.SessionDatesInvalid, "ends_at"),
        (
            {"doors_open_at": local(2025, 7, 5, 19, 31)},
            services.SessionDatesInvalid,
            "doors_open_at",
        ),
        ({"ends_at": datetime(2025, 7, 5, 22, 0)}, services.SessionDatesInvalid, "ends_at"),
        ({"starts_at": None}, services.SessionDatesInvalid, "starts_at"),
        ({"on_sale_until": local(2025, 7, 5, 19, 31)}, services.SaleWindowInvalid, "on_sale_until"),
        (
            {"on_sale_from": local(2025, 7, 1), "on_sale_until": local(2025, 6, 30)},
            services.SaleWindowInvalid,
            "on_sale_until",
        ),
        (
            {"on_sale_from": local(2025, 7, 1), "on_sale_until": local(2025, 7, 1)},
            services.SaleWindowInvalid,
            "on_sale_until",
        ),
        (
            {"on_sale_from": local(2025, 7, 6), "on_sale_until": None},
            services.SaleWindowInvalid,
            "on_sale_from",
        ),
        ({"max_tickets_per_order": 0}, services.SessionRulesInvalid, "max_tickets_per_order"),
        ({"max_tickets_per_account": -1}, services.SessionRulesInvalid, "max_tickets_per_account"),
        ({"hold_minutes": 0}, services.SessionRulesInvalid, "hold_minutes"),
        ({"hold_minutes": 32768}, services.SessionRulesInvalid, "hold_minutes"),
        ({"hold_minutes": "10"}, services.SessionRulesInvalid, "hold_minutes"),
        ({"max_tickets_per_order": True}, services.SessionRulesInvalid, "max_tickets_per_order"),
    ],
)
def test_create_session_rules(draft, layout, actor, overrides, error, detail):
    before = Snapshot()
    with pytest.raises(error) as exc:
        services.create_session(
            event=draft, layout=layout, actor=actor, now=NOW, **_session_kwargs(**overrides)
        )
    assert list(exc.value.details) == [detail]
    assert exc.value.status == 422
    assert before.unchanged()


def test_session_error_codes_are_stable():
    assert (
        services.SessionDatesInvalid.code,
        services.SaleWindowInvalid.code,
        services.SessionRulesInvalid.code,
        services.LayoutNotFound.code,
    ) == (
        "session_dates_invalid",
        "sale_window_invalid",
        "session_rules_invalid",
        "layout_not_found",
    )


@pytest.mark.parametrize("layout_id", [987654, "1", None])
def test_create_session_needs_an_existing_layout(draft, actor, layout_id):
    before = Snapshot()
    with pytest.raises(services.LayoutNotFound):
        services.create_session(
            event=draft, layout=layout_id, actor=actor, now=NOW, starts_at=local(2025, 7, 5, 19, 30)
        )
    assert before.unchanged()


def test_cancelled_event_gets_no_new_session(org, layout, actor):
    event = make_event(organization=org, status=EventStatus.CANCELLED)
    with pytest.raises(services.EventCancelled):
        services.create_session(
            event=event, layout=layout, actor=actor, now=NOW, starts_at=local(2025, 7, 5, 19, 30)
        )
    assert Session.objects.count() == 0


def test_update_session_checks_the_combined_values(draft, layout, actor):
    session = services.create_session(
        event=draft, layout=layout, actor=actor, now=NOW, **_session_kwargs()
    )
    # moving the start before the end of the on-sale window breaks the window
    with pytest.raises(services.SaleWindowInvalid):
        services.update_session(
            session=session,
            actor=actor,
            now=NOW,
            starts_at=local(2025, 7, 5, 19, 0),
            ends_at=local(2025, 7, 5, 21, 0),
            doors_open_at=local(2025, 7, 5, 18, 0),
        )
    assert Session.objects.get(pk=session.pk).starts_at == local(2025, 7, 5, 19, 30)

    services.update_session(
        session=session,
        actor=actor,
        now=NOW,
        hold_minutes=20,
        on_sale_until=local(2025, 7, 5, 18, 0),
    )

    session.refresh_from_db()
    assert (session.hold_minutes, session.on_sale_until) == (20, local(2025, 7, 5, 18, 0))
    assert AuditEntry.objects.filter(action="session.updated").get().data == {
        "fields": ["hold_minutes", "on_sale_until"]
    }


def test_update_session_refuses_unknown_fields_and_cancelled_sessions(draft, actor):
    session = make_session(event=draft)
    with pytest.raises(TypeError):
        services.update_session(session=session, actor=actor, now=NOW, layout_id=1)
    services.cancel_session(session=session, actor=actor, now=NOW)
    with pytest.raises(services.SessionCancelled):
        services.update_session(session=session, actor=actor, now=NOW, hold_minutes=3)
    assert Session.objects.get(pk=session.pk).hold_minutes == 10


def test_cancel_session_once(draft, actor):
    session = make_session(event=draft)
    services.cancel_session(session=session, actor=actor, now=NOW, reason="场馆维修")
    services.cancel_session(session=session, actor=actor, now=NOW)
    assert Session.objects.get(pk=session.pk).status == SessionStatus.CANCELLED
    assert session.status == SessionStatus.CANCELLED
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.data) == ("session.cancelled", {"reason": "场馆维修"})


# -- price zones ---------------------------------------------------------------------------


@pytest.fixture
def session(draft, layout):
    return make_session(event=draft, layout=layout)


def test_create_price_zone(session, actor):
    zone = services.create_price_zone(
        session=session,
        code="VIP",
        name="内场",
        name_en="Floor",
        price="1280",
        color="#D4AF37",
        sort_order=1,
        actor=actor,
        now=NOW,
    )
    zone.refresh_from_db()
    assert (zone.code, zone.price, zone.currency, zone.color, zone.sort_order) == (
        "VIP",
        Decimal("1280.00"),
        "CNY",
        "#D4AF37",
        1,
    )
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.data) == (
        "price_zone.created",
        {"code": "VIP", "price": "1280.00", "currency": "CNY"},
    )


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"price": 380.0}, services.PriceInvalid),
        ({"price": "380.005"}, services.PriceInvalid),
        ({"price": "-1"}, services.PriceInvalid),
        ({"price": "abc"}, services.PriceInvalid),
        ({"price": "NaN"}, services.PriceInvalid),
        ({"price": "1e12"}, services.PriceInvalid),
        ({"price": "380.5", "currency": "JPY"}, services.PriceInvalid),
        ({"currency": "XYZ"}, services.CurrencyInvalid),
        ({"code": "A"}, services.ZoneCodeTaken),
        ({"color": "blue"}, InvalidInput),
        ({"name": ""}, InvalidInput),
        ({"code": ""}, InvalidInput),
    ],
)
def test_create_price_zone_refuses(session, actor, fields, error):
    make_zone(session=session, code="A")
    before = Snapshot()
    params = {"code": "B", "name": "B区", "price": "280.00", **fields}
    with pytest.raises(error):
        services.create_price_zone(session=session, actor=actor, now=NOW, **params)
    assert before.unchanged()


def test_price_zone_error_codes_are_stable():
    assert (
        services.PriceInvalid.code,
        services.CurrencyInvalid.code,
        services.ZoneCodeTaken.code,
        services.ZoneNotInSession.code,
        services.PlaceNotInLayout.code,
        services.PlaceRequired.code,
    ) == (
        "price_invalid",
        "currency_invalid",
        "zone_code_taken",
        "zone_not_in_session",
        "place_not_in_layout",
        "place_required",
    )


def test_yen_prices_have_no_decimals(session, actor):
    zone = services.create_price_zone(
        session=session, code="Y", name="日元", price="12000", currency="JPY", actor=actor, now=NOW
    )
    assert Decimal(PriceZone.objects.get(pk=zone.pk).price) == Decimal("12000")


def _place(layout, section_code, row_label=None, seat_label=None):
    section = Section.objects.get(layout=layout, code=section_code)
    row = Row.objects.get(section=section, label=row_label) if row_label else None
    seat = Seat.objects.get(row=row, label=seat_label) if seat_label else None
    return section, row, seat


def test_assign_zone_at_each_level_and_most_specific_wins(session, layout, actor):
    # given three zones
    cheap, mid, vip = (
        make_zone(session=session, code=c, price=p)
        for c, p in (("C", "100"), ("B", "200"), ("V", "900"))
    )
    s1, row_a, _ = _place(layout, "S1", "A")
    _, _, seat_a2 = _place(layout, "S1", "A", "2")
    # when
    services.assign_zone(session=session, zone=cheap, section=s1, actor=actor, now=NOW)
    services.assign_zone(session=session, zone=mid, row=row_a, actor=actor, now=NOW)
    services.assign_zone(session=session, zone=vip, seat=seat_a2, actor=actor, now=NOW)
    # then
    zones = zone_of_seats(session)
    by_label = {str(Seat.objects.get(pk=s)): z for s, z in zones.items()}
    assert by_label == {
        "S1-A-1": mid.pk,
        "S1-A-2": vip.pk,
        "S1-A-3": mid.pk,
        "S1-B-1": cheap.pk,
        "S1-B-2": cheap.pk,
        "S1-B-3": cheap.pk,
    }
    levels = sorted(
        (a.row_id is not None, a.seat_id is not None) for a in ZoneAssignment.objects.all()
    )
    assert levels == [(False, False), (True, False), (True, True)]
    assert audit_actions() == ["zone.assigned"] * 3


def test_assigning_the_same_place_again_replaces_it(session, layout, actor):
    first, second = make_zone(session=session, code="A"), make_zone(session=session, code="B")
    s2, _, _ = _place(layout, "S2")
    services.assign_zone(session=session, zone=first, section=s2, actor=actor, now=NOW)
    assignment = services.assign_zone(
        session=session, zone=second, section=s2, actor=actor, now=NOW
    )
    assert list(ZoneAssignment.objects.values_list("pk", "zone_id")) == [(assignment.pk, second.pk)]
    assert AuditEntry.objects.order_by("id").last().data["previous_zone"] == first.pk


def test_assign_zone_fills_in_row_and_section_from_the_seat(session, layout, actor):
    zone = make_zone(session=session)
    s2, row_b, seat = _place(layout, "S2", "B", "3")
    assignment = services.assign_zone(session=session, zone=zone, seat=seat, actor=actor, now=NOW)
    assert (assignment.section_id, assignment.row_id, assignment.seat_id) == (
        s2.pk,
        row_b.pk,
        seat.pk,
    )


def test_zone_must_belong_to_the_session(session, layout, actor):
    other_zone = make_zone(session=make_session(layout=layout))
    s1, _, _ = _place(layout, "S1")
    before = Snapshot()
    with pytest.raises(services.ZoneNotInSession) as exc:
        services.assign_zone(session=session, zone=other_zone, section=s1, actor=actor, now=NOW)
    assert exc.value.code == "zone_not_in_session"
    assert before.unchanged()


def test_places_must_belong_to_the_session_layout(session, layout, actor):
    zone = make_zone(session=session)
    other_layout = make_layout(sections=1, rows=1, seats_per_row=2)
    foreign_section, foreign_row, foreign_seat = _place(other_layout, "S1", "A", "1")
    s1, row_s1_a, seat_s1_a1 = _place(layout, "S1", "A", "1")
    _, row_s2_a, _ = _place(layout, "S2", "A")
    before = Snapshot()
    for place in (
        {"section": foreign_section},
        {"row": foreign_row},
        {"seat": foreign_seat},
        {"section": s1, "row": row_s2_a},  # the row is in S2
        {"row": row_s2_a, "seat": seat_s1_a1},  # the seat is in S1
    ):
        with pytest.raises(services.PlaceNotInLayout) as exc:
            services.assign_zone(session=session, zone=zone, actor=actor, now=NOW, **place)
        assert exc.value.code == "place_not_in_layout"
    with pytest.raises(services.PlaceRequired):
        services.assign_zone(session=session, zone=zone, actor=actor, now=NOW)
    assert before.unchanged()
    assert row_s1_a.section_id == s1.pk


def _categorize(layout, categories: dict[str, str]):
    """Set seat categories: {"S1-A-1": "Gold", "S1": "Silver", "S1-B": "Bronze", ...}."""
    for key, category in categories.items():
        parts = key.split("-")
        seats = Seat.objects.filter(section__layout=layout, section__code=parts[0])
        if len(parts) > 1:
            seats = seats.filter(row__label=parts[1])
        if len(parts) > 2:
            seats = seats.filter(label=parts[2])
        seats.update(category=category)


def test_assign_zones_by_category(session, layout, actor):
    # given S1 all Gold, S2 row A Silver, S2 row B mixed Silver/Bronze/unmapped "Obstructed"
    _categorize(
        layout,
        {
            "S1": "Gold",
            "S2-A": "Silver",
            "S2-B-1": "Silver",
            "S2-B-2": "Bronze",
            "S2-B-3": "Obstructed",
        },
    )
    gold, silver, bronze = (make_zone(session=session, code=c) for c in ("G", "S", "B"))
    # when
    assigned = services.assign_zones_by_category(
        session=session,
        mapping={"Gold": gold, "Silver": silver, "Bronze": bronze},
        actor=actor,
        now=NOW,
    )
    # then every mapped seat has its zone, the obstructed seat none
    assert assigned == 11
    by_label = {str(Seat.objects.get(pk=s)): z for s, z in zone_of_seats(session).items()}
    assert by_label == {
        "S1-A-1": gold.pk,
        "S1-A-2": gold.pk,
        "S1-A-3": gold.pk,
        "S1-B-1": gold.pk,
        "S1-B-2": gold.pk,
        "S1-B-3": gold.pk,
        "S2-A-1": silver.pk,
        "S2-A-2": silver.pk,
        "S2-A-3": silver.pk,
        "S2-B-1": silver.pk,
        "S2-B-2": bronze.pk,
    }
    # and it is stored compactly: one section, one row, two seats
    kinds = sorted(
        ("seat" if a.seat_id else "row" if a.row_id else "section")
        for a in ZoneAssignment.objects.all()
    )
    assert kinds == ["row", "seat", "seat", "section"]
    entry = AuditEntry.objects.get()
    assert entry.action == "zone.assigned_by_category"
    assert entry.data == {
        "mapping": {"Bronze": bronze.pk, "Gold": gold.pk, "Silver": silver.pk},
        "seats": 11,
        "sections": 1,
        "rows": 1,
        "single_seats": 2,
    }


def test_assign_by_category_overrides_earlier_assignments_of_mapped_seats_only(
    session, layout, actor
):
    # given the whole of S1 and S2 in a cheap zone, and one VIP seat in S1
    cheap, vip, gold = (make_zone(session=session, code=c) for c in ("C", "V", "G"))
    s1, _, _ = _place(layout, "S1")
    s2, _, _ = _place(layout, "S2")
    _, _, s1_a1 = _place(layout, "S1", "A", "1")
    for section in (s1, s2):
        services.assign_zone(session=session, zone=cheap, section=section, actor=actor, now=NOW)
    services.assign_zone(session=session, zone=vip, seat=s1_a1, actor=actor, now=NOW)
    # when S1 turns out to be all Gold
    _categorize(layout, {"S1": "Gold"})
    services.assign_zones_by_category(session=session, mapping={"Gold": gold}, actor=actor, now=NOW)
    # then S1 is Gold everywhere (the VIP seat too), S2 stays cheap
    zones = zone_of_seats(session)
    s1_seats = Seat.objects.filter(section=s1).values_list("pk", flat=True)
    s2_seats = Seat.objects.filter(section=s2).values_list("pk", flat=True)
    assert {zones[s] for s in s1_seats} == {gold.pk}
    assert {zones[s] for s in s2_seats} == {cheap.pk}
    assert ZoneAssignment.objects.count() == 2


@pytest.mark.parametrize("problem", ["unknown category", "foreign zone"])
def test_assign_by_category_refuses(session, layout, actor, problem):
    _categorize(layout, {"S1": "Gold"})
    zone = make_zone(session=session)
    if problem == "unknown category":
        mapping, error = {"Gold": zone, "Platinum": zone}, services.CategoryNotInLayout
    else:
        mapping, error = (
            {"Gold": make_zone(session=make_session(layout=layout))},
            (services.ZoneNotInSession),
        )
    before = Snapshot()
    with pytest.raises(error) as exc:
        services.assign_zones_by_category(session=session, mapping=mapping, actor=actor, now=NOW)
    if problem == "unknown category":
        assert (exc.value.code, exc.value.details) == (
            "category_not_in_layout",
            {"categories": ["Platinum"]},
        )
    assert before.unchanged()


def test_zone_summary_counts_seats_and_whole_standing_sections(session, layout, actor):
    # given A over S1, B over S2 but one of its seats in A, and the 50-place standing area in B
    a, b, _empty = (
        make_zone(session=session, code=c, price=p)
        for c, p in (("A", "500"), ("B", "300"), ("E", "100"))
    )
    s1, _, _ = _place(layout, "S1")
    s2, _, seat = _place(layout, "S2", "A", "1")
    ga = Section.objects.get(layout=layout, code="GA")
    services.assign_zone(session=session, zone=a, section=s1, actor=actor, now=NOW)
    services.assign_zone(session=session, zone=b, section=s2, actor=actor, now=NOW)
    services.assign_zone(session=session, zone=a, seat=seat, actor=actor, now=NOW)
    services.assign_zone(session=session, zone=b, section=ga, actor=actor, now=NOW)
    # when
    summary = services.zone_summary(session)
    # then (zones in display order: sort_order, then dearest first)
    assert [(s.zone.code, s.seats, s.standing, s.places) for s in summary] == [
        ("A", 7, 0, 7),
        ("B", 5, 50, 55),
        ("E", 0, 0, 0),
    ]


def test_services_do_not_take_naive_times_quietly(draft, layout, actor):
    with pytest.raises(services.SessionDatesInvalid):
        services.create_session(
            event=draft, layout=layout, actor=actor, now=NOW, starts_at=datetime(2025, 7, 5, 19, 30)
        )
    assert Session.objects.count() == 0


def test_session_window_may_close_exactly_at_the_start(draft, layout, actor):
    starts = local(2025, 7, 5, 19, 30)
    session = services.create_session(
        event=draft,
        layout=layout,
        actor=actor,
        now=NOW,
        starts_at=starts,
        on_sale_until=starts,
        on_sale_from=starts - timedelta(days=30),
    )
    assert session.on_sale_until == starts
