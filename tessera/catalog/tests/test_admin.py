"""Catalog back office: actions through the services, the services' rules in the forms,
scoped choices, the platform-wide directories and the audit of edits."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.services import add_member
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.catalog.models import (
    Artist,
    Event,
    EventStatus,
    PriceZone,
    Session,
    SessionStatus,
    ZoneAssignment,
)
from tessera.catalog.tests.factories import (
    make_artist,
    make_competition,
    make_event,
    make_season,
    make_session,
    make_team,
    make_tour,
    make_zone,
)
from tessera.core.models import AuditEntry
from tessera.venues.models import Row, Seat, Section
from tessera.venues.tests.factories import make_layout

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_organization(name="甲方", name_en="Alpha", slug="alpha")


@pytest.fixture
def manager(org, client):
    user = make_member(organization=org, role=Role.MANAGER, password=None)
    client.force_login(user)
    return user


def changelist(model: str) -> str:
    return reverse(f"admin:catalog_{model}_changelist")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# -- actions -----------------------------------------------------------------------------


def test_publish_action_goes_through_the_service(client, org, manager):
    ready = make_event(organization=org, status=EventStatus.DRAFT, name="有场次")
    make_session(event=ready)
    empty = make_event(organization=org, status=EventStatus.DRAFT, name="无场次")

    response = client.post(
        changelist("event"),
        {"action": "publish_events", "_selected_action": [ready.pk, empty.pk]},
        follow=True,
    )

    assert Event.objects.get(pk=ready.pk).status == EventStatus.PUBLISHED
    assert Event.objects.get(pk=empty.pk).status == EventStatus.DRAFT
    assert messages_of(response) == [
        "无场次：只有包含至少一个已排期场次的草稿活动才能发布。",
        "已发布 1 个活动。",
    ]
    entry = AuditEntry.objects.get(action="event.published")
    assert (entry.object_id, entry.actor) == (str(ready.pk), manager)


def test_cancel_action_cancels_events_and_sessions(client, org, manager):
    event = make_event(organization=org)
    session = make_session(event=event)
    client.post(
        changelist("event"),
        {"action": "cancel_events", "_selected_action": [event.pk], "reason": "Called off"},
    )
    assert Event.objects.get(pk=event.pk).status == EventStatus.CANCELLED
    assert Session.objects.get(pk=session.pk).status == SessionStatus.CANCELLED
    assert AuditEntry.objects.filter(action="event.cancelled").count() == 1


def test_cancel_sessions_action(client, org, manager):
    session = make_session(event=make_event(organization=org))
    client.post(
        changelist("session"),
        {"action": "cancel_sessions", "_selected_action": [session.pk], "reason": "Called off"},
    )
    assert Session.objects.get(pk=session.pk).status == SessionStatus.CANCELLED


def test_action_skips_events_the_user_only_reads(client, org, manager):
    # the manager of A is also a finance member of C
    other = make_organization(slug="charlie", name="丙方")
    add_member(organization=other, user=manager, role=Role.FINANCE)
    event = make_event(organization=other, status=EventStatus.DRAFT, name="丙的演出")
    make_session(event=event)

    response = client.post(
        changelist("event"),
        {"action": "publish_events", "_selected_action": [event.pk]},
        follow=True,
    )

    assert Event.objects.get(pk=event.pk).status == EventStatus.DRAFT
    assert messages_of(response) == ["丙的演出：你无权修改该主办方的活动。"]


def test_status_is_not_editable_in_the_form(client, org, manager):
    event = make_event(organization=org, status=EventStatus.DRAFT)
    page = client.get(reverse("admin:catalog_event_change", args=[event.pk]))
    assert "status" not in page.context["adminform"].form.fields


# -- scoped choices ----------------------------------------------------------------------


def test_event_form_offers_only_own_teams_seasons_tours_and_organizations(client, org, manager):
    own = SimpleNamespace(
        team=make_team(organization=org),
        season=make_season(competition=make_competition(organization=org)),
        tour=make_tour(organization=org),
    )
    other = make_organization()
    make_team(organization=other)
    make_season(competition=make_competition(organization=other))
    other_tour = make_tour(organization=other)
    shared_artist = make_artist()

    form = client.get(reverse("admin:catalog_event_add")).context["adminform"].form

    def choices(field):
        return set(form.fields[field].queryset.values_list("pk", flat=True))

    assert choices("organization") == {org.pk}
    assert choices("home_team") == choices("away_team") == {own.team.pk}
    assert choices("season") == {own.season.pk}
    assert choices("tour") == {own.tour.pk}
    # artists are platform-wide, whoever's tour they sing on
    assert choices("artists") == {shared_artist.pk, own.tour.artist_id, other_tour.artist_id}


def test_team_form_offers_only_own_competitions(client, org, manager):
    own = make_competition(organization=org)
    make_competition(organization=make_organization())
    form = client.get(reverse("admin:catalog_team_add")).context["adminform"].form
    assert list(form.fields["competitions"].queryset) == [own]


def test_team_of_another_own_organization_cannot_play_for_this_one(client, org, manager):
    # a user who manages two organizers still cannot mix their data in one event
    second = make_organization(slug="second")
    add_member(organization=second, user=manager, role=Role.MANAGER)
    foreign_team = make_team(organization=second)
    count = Event.objects.count()

    response = client.post(
        reverse("admin:catalog_event_add"),
        {
            "organization": org.pk,
            "kind": "match",
            "name": "混合",
            "slug": "mixed",
            "home_team": foreign_team.pk,
            "sessions-TOTAL_FORMS": "0",
            "sessions-INITIAL_FORMS": "0",
        },
    )

    assert response.context["adminform"].form.errors == {
        "home_team": ["赛季、球队和巡演必须属于该活动的主办方，且主队和客队不能相同。"]
    }
    assert Event.objects.count() == count


def test_events_only_for_organizers(client, manager):
    venue_operator = make_organization(kind=OrganizationKind.VENUE_OPERATOR, slug="venueco")
    add_member(organization=venue_operator, user=manager, role=Role.MANAGER)
    response = client.post(
        reverse("admin:catalog_event_add"),
        {
            "organization": venue_operator.pk,
            "kind": "show",
            "name": "场馆活动",
            "slug": "v",
            "sessions-TOTAL_FORMS": "0",
            "sessions-INITIAL_FORMS": "0",
        },
    )
    assert list(response.context["adminform"].form.errors) == ["organization"]
    assert not Event.objects.exists()


# -- the services' rules in the forms ----------------------------------------------------


def _session_post(event, layout, **overrides) -> dict:
    starts = (timezone.now() + timedelta(days=30)).date().isoformat()
    data = {
        "event": event.pk,
        "layout": layout.pk,
        "starts_at_0": starts,
        "starts_at_1": "20:00:00",
        "ends_at_0": starts,
        "ends_at_1": "22:00:00",
        "max_tickets_per_order": "6",
        "max_tickets_per_account": "6",
        "hold_minutes": "10",
        "price_zones-TOTAL_FORMS": "0",
        "price_zones-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"ends_at_1": "19:00:00"},
            "ends_at",
            "A session must end after it starts, and its doors must open no later than its start.",
        ),
        (
            {"on_sale_until_0": "2099-01-01", "on_sale_until_1": "00:00:00"},
            "on_sale_until",
            "The on-sale window must open before it closes and close no later than the session "
            "start.",
        ),
        (
            {"hold_minutes": "0"},
            "hold_minutes",
            "Ticket limits and the hold time must be whole numbers between 1 and 32767.",
        ),
    ],
)
def test_session_form_applies_the_session_rules(client, org, manager, overrides, field, message):
    event, layout = make_event(organization=org), make_layout(sections=1, rows=1)
    response = client.post(
        reverse("admin:catalog_session_add"),
        _session_post(event, layout, **overrides),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {field: [message]}
    assert not Session.objects.exists()


def test_session_form_creates_a_valid_session_and_audits_it(client, org, manager):
    event, layout = make_event(organization=org), make_layout(sections=1, rows=1)
    response = client.post(reverse("admin:catalog_session_add"), _session_post(event, layout))
    assert response.status_code == 302
    session = Session.objects.get()
    entry = AuditEntry.objects.get(action="session.added_in_back_office")
    assert (entry.object_id, entry.organization_id, entry.actor) == (
        str(session.pk),
        org.pk,
        manager,
    )


def test_layout_cannot_change_once_places_are_priced(client, org, manager):
    layout = make_layout(sections=1, rows=1, seats_per_row=2)
    session = make_session(event=make_event(organization=org), layout=layout)
    zone = make_zone(session=session)
    ZoneAssignment.objects.create(
        session=session, zone=zone, section=Section.objects.get(layout=layout)
    )
    data = _session_post(session.event, make_layout(sections=1, rows=1))
    data.update(
        {
            "price_zones-TOTAL_FORMS": "1",
            "price_zones-INITIAL_FORMS": "1",
            "price_zones-0-id": zone.pk,
            "price_zones-0-session": session.pk,
            "price_zones-0-code": zone.code,
            "price_zones-0-name": zone.name,
            "price_zones-0-price": "380.00",
            "price_zones-0-currency": "CNY",
            "price_zones-0-color": zone.color,
            "price_zones-0-sort_order": "0",
        }
    )
    response = client.post(reverse("admin:catalog_session_change", args=[session.pk]), data)
    assert list(response.context["adminform"].form.errors) == ["layout"]
    assert Session.objects.get(pk=session.pk).layout_id == layout.pk


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"price": "-1"}, "price"),
        ({"color": "red"}, "color"),
        ({"price": "1.005"}, "price"),
    ],
)
def test_price_zone_form_checks_price_currency_and_colour(client, org, manager, overrides, field):
    session = make_session(event=make_event(organization=org))
    data = {
        "session": session.pk,
        "code": "A",
        "name": "A区",
        "price": "380.00",
        "currency": "CNY",
        "color": "#112233",
        "sort_order": "0",
        **overrides,
    }
    response = client.post(reverse("admin:catalog_pricezone_add"), data)
    assert field in response.context["adminform"].form.errors
    assert not PriceZone.objects.exists()


def test_zone_assignment_form_fills_in_section_and_row_from_the_seat(client, org, manager):
    layout = make_layout(sections=2, rows=2, seats_per_row=2)
    session = make_session(event=make_event(organization=org), layout=layout)
    zone = make_zone(session=session)
    seat = Seat.objects.get(section__layout=layout, section__code="S2", row__label="B", label="1")

    response = client.post(
        reverse("admin:catalog_zoneassignment_add"),
        {"session": session.pk, "zone": zone.pk, "seat": seat.pk},
    )

    assert response.status_code == 302
    assignment = ZoneAssignment.objects.get()
    assert (assignment.section_id, assignment.row_id, assignment.seat_id) == (
        seat.section_id,
        seat.row_id,
        seat.pk,
    )


def test_zone_assignment_form_refuses_foreign_places_and_zones(client, org, manager):
    layout = make_layout(sections=1, rows=1, seats_per_row=2)
    session = make_session(event=make_event(organization=org), layout=layout)
    other_session = make_session(event=make_event(organization=org), layout=layout)
    zone, other_zone = make_zone(session=session), make_zone(session=other_session)
    foreign_row = Row.objects.get(section__layout=make_layout(sections=1, rows=1))
    url = reverse("admin:catalog_zoneassignment_add")

    wrong_zone = client.post(
        url,
        {
            "session": session.pk,
            "zone": other_zone.pk,
            "section": Section.objects.get(layout=layout).pk,
        },
    )
    wrong_row = client.post(url, {"session": session.pk, "zone": zone.pk, "row": foreign_row.pk})
    nothing = client.post(url, {"session": session.pk, "zone": zone.pk})

    assert list(wrong_zone.context["adminform"].form.errors) == ["zone"]
    assert list(wrong_row.context["adminform"].form.errors) == ["section"]
    assert list(nothing.context["adminform"].form.errors) == ["__all__"]
    assert not ZoneAssignment.objects.exists()


# -- platform-wide directories -----------------------------------------------------------


def test_members_read_artists_but_only_operators_write_them(client, org, manager):
    artist = make_artist(name="原名")
    assert client.get(changelist("artist")).status_code == 200
    assert client.get(reverse("admin:catalog_artist_add")).status_code == 403
    response = client.post(
        reverse("admin:catalog_artist_change", args=[artist.pk]),
        {"name": "改名", "slug": artist.slug},
    )
    assert response.status_code == 403
    assert Artist.objects.get(pk=artist.pk).name == "原名"


def test_platform_operator_adds_artists(client):
    platform = make_organization(kind=OrganizationKind.PLATFORM, slug="platform")
    client.force_login(make_member(organization=platform, password=None))
    response = client.post(
        reverse("admin:catalog_artist_add"),
        {
            "name": "新歌手",
            "name_en": "New Singer",
            "slug": "new-singer",
            "genre": "",
            "bio": "",
            "bio_en": "",
        },
    )
    assert response.status_code == 302
    assert Artist.objects.get().slug == "new-singer"
    entry = AuditEntry.objects.get(action="artist.added_in_back_office")
    assert entry.object_id == str(Artist.objects.get().pk)


def test_staff_without_membership_cannot_read_artists(client):
    from tessera.accounts.tests.factories import make_user

    client.force_login(make_user(is_staff=True, password=None))
    assert client.get(changelist("artist")).status_code == 403


def test_back_office_deletion_is_audited(client, org, manager):
    competition = make_competition(organization=org)
    response = client.post(
        reverse("admin:catalog_competition_delete", args=[competition.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="competition.deleted_in_back_office")
    assert (entry.object_id, entry.organization_id) == (str(competition.pk), org.pk)


def test_session_inline_applies_the_session_rules(client, org, manager):
    event = make_event(organization=org, kind="show", slug="gala", name="晚会")
    layout = make_layout(sections=1, rows=1)
    day = (timezone.now() + timedelta(days=30)).date().isoformat()
    data = {
        "organization": org.pk,
        "kind": "show",
        "name": "晚会",
        "name_en": "",
        "slug": "gala",
        "description": "",
        "description_en": "",
        "image_url": "",
        "round": "",
        "sessions-TOTAL_FORMS": "1",
        "sessions-INITIAL_FORMS": "0",
        "sessions-0-starts_at_0": day,
        "sessions-0-starts_at_1": "20:00:00",
        "sessions-0-ends_at_0": day,
        "sessions-0-ends_at_1": "19:00:00",
        "sessions-0-layout": layout.pk,
    }

    response = client.post(
        reverse("admin:catalog_event_change", args=[event.pk]), data, HTTP_ACCEPT_LANGUAGE="en"
    )

    [formset] = response.context["inline_admin_formsets"]
    assert formset.formset.errors == [
        {
            "ends_at": [
                "A session must end after it starts, and its doors must open no later than its "
                "start."
            ]
        }
    ]
    assert not Session.objects.exists()
