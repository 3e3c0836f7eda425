"""Tenancy proof: two organizers share one back office and never see or change each other's
catalog. Organizer A's manager, A's finance member and a platform operator each try."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.catalog.models import (
    Competition,
    Event,
    EventKind,
    EventStatus,
    PriceZone,
    Season,
    Session,
    Team,
    Tour,
    ZoneAssignment,
)
from tessera.catalog.tests.factories import (
    make_competition,
    make_event,
    make_season,
    make_session,
    make_team,
    make_tour,
    make_zone,
)
from tessera.venues.models import Section
from tessera.venues.tests.factories import make_layout

pytestmark = pytest.mark.django_db

MODELS = {
    "event": Event,
    "session": Session,
    "pricezone": PriceZone,
    "competition": Competition,
    "season": Season,
    "team": Team,
    "tour": Tour,
    "zoneassignment": ZoneAssignment,
}


def _catalog_of(org, layout, label: str) -> SimpleNamespace:
    competition = make_competition(organization=org, slug=f"league-{label}")
    season = make_season(competition=competition)
    home = make_team(organization=org, slug=f"home-{label}")
    away = make_team(organization=org, slug=f"away-{label}")
    tour = make_tour(organization=org, slug=f"tour-{label}")
    event = make_event(
        organization=org,
        kind=EventKind.MATCH,
        slug=f"match-{label}",
        name=f"比赛{label}",
        season=season,
        home_team=home,
        away_team=away,
        status=EventStatus.DRAFT,
    )
    session = make_session(event=event, layout=layout)
    pricezone = make_zone(session=session, code="A", price="100.00")
    zoneassignment = ZoneAssignment.objects.create(
        session=session, zone=pricezone, section=Section.objects.filter(layout=layout).first()
    )
    return SimpleNamespace(
        event=event,
        session=session,
        pricezone=pricezone,
        competition=competition,
        season=season,
        team=home,
        away=away,
        tour=tour,
        zoneassignment=zoneassignment,
    )


def pks(catalog: SimpleNamespace, model_name: str) -> set[int]:
    """The rows of one organizer's catalog of a model (both teams for Team)."""
    rows = {getattr(catalog, model_name).pk}
    if model_name == "team":
        rows.add(catalog.away.pk)
    return rows


@pytest.fixture
def world():
    org_a = make_organization(name="甲方", name_en="Alpha", slug="alpha")
    org_b = make_organization(name="乙方", name_en="Bravo", slug="bravo")
    platform = make_organization(kind=OrganizationKind.PLATFORM, slug="platform")
    layout = make_layout(sections=1, rows=1, seats_per_row=2)
    return SimpleNamespace(
        org_a=org_a,
        org_b=org_b,
        a=_catalog_of(org_a, layout, "a"),
        b=_catalog_of(org_b, layout, "b"),
        layout=layout,
        manager_a=make_member(organization=org_a, role=Role.MANAGER, password=None),
        finance_a=make_member(organization=org_a, role=Role.FINANCE, password=None),
        operator=make_member(organization=platform, role=Role.STAFF, password=None),
    )


def changelist_pks(client, model_name: str) -> set[int]:
    response = client.get(reverse(f"admin:catalog_{model_name}_changelist"))
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def change_url(obj) -> str:
    return reverse(f"admin:catalog_{obj._meta.model_name}_change", args=[obj.pk])


def row_state(obj) -> dict:
    """Every column of the object's row as it is in the database now."""
    return type(obj).objects.filter(pk=obj.pk).values().get()


# (a) ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_name", list(MODELS))
def test_a_member_sees_only_their_organizations_rows(client, world, model_name):
    client.force_login(world.manager_a)
    assert changelist_pks(client, model_name) == pks(world.a, model_name)


def test_organization_filter_lists_only_the_members_organizations(client, world):
    client.force_login(world.manager_a)
    response = client.get(reverse("admin:catalog_event_changelist"))
    page = response.content.decode()
    assert "Alpha" in page or "甲方" in page
    assert "Bravo" not in page and "乙方" not in page


def test_search_does_not_reach_other_organizations(client, world):
    client.force_login(world.manager_a)
    response = client.get(reverse("admin:catalog_event_changelist"), {"q": "比赛b"})
    assert list(response.context["cl"].result_list) == []


# (b) ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_name", list(MODELS))
def test_other_organizations_pages_redirect_away(client, world, model_name):
    client.force_login(world.manager_a)
    obj = getattr(world.b, model_name)
    base = f"admin:catalog_{model_name}"
    for url in (
        change_url(obj),
        reverse(f"{base}_delete", args=[obj.pk]),
        reverse(f"{base}_history", args=[obj.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:index")


@pytest.mark.parametrize("model_name", list(MODELS))
def test_posting_to_other_organizations_rows_changes_nothing(client, world, model_name):
    client.force_login(world.manager_a)
    obj = getattr(world.b, model_name)
    before = row_state(obj)

    change = client.post(change_url(obj), {"name": "被改了", "code": "X", "price": "1.00"})
    delete = client.post(
        reverse(f"admin:catalog_{model_name}_delete", args=[obj.pk]), {"post": "yes"}
    )

    assert (change.status_code, delete.status_code) == (302, 302)
    assert row_state(obj) == before


def test_bulk_delete_cannot_select_other_organizations_rows(client, world):
    client.force_login(world.manager_a)
    response = client.post(
        reverse("admin:catalog_competition_changelist"),
        {"action": "delete_selected", "_selected_action": [world.b.competition.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert Competition.objects.filter(pk=world.b.competition.pk).exists()


def test_publish_action_cannot_reach_other_organizations_events(client, world):
    client.force_login(world.manager_a)
    client.post(
        reverse("admin:catalog_event_changelist"),
        {"action": "publish_events", "_selected_action": [world.b.event.pk]},
    )
    assert Event.objects.get(pk=world.b.event.pk).status == EventStatus.DRAFT


# (c) ------------------------------------------------------------------------------------


def _event_post(organization_id: int, **overrides) -> dict:
    data = {
        "organization": organization_id,
        "kind": "concert",
        "name": "新演出",
        "name_en": "New show",
        "slug": "new-show",
        "description": "",
        "description_en": "",
        "image_url": "",
        "round": "",
        "sessions-TOTAL_FORMS": "0",
        "sessions-INITIAL_FORMS": "0",
        "sessions-MIN_NUM_FORMS": "0",
        "sessions-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_creating_an_event_for_another_organization_is_a_form_error(client, world):
    client.force_login(world.manager_a)
    count = Event.objects.count()

    response = client.post(reverse("admin:catalog_event_add"), _event_post(world.org_b.pk))

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["organization"]
    assert Event.objects.count() == count


def test_creating_an_event_for_the_own_organization_works(client, world):
    client.force_login(world.manager_a)
    response = client.post(reverse("admin:catalog_event_add"), _event_post(world.org_a.pk))
    assert response.status_code == 302
    event = Event.objects.get(slug="new-show")
    assert (event.organization_id, event.status) == (world.org_a.pk, EventStatus.DRAFT)


@pytest.mark.parametrize(
    ("field", "foreign"),
    [("home_team", "team"), ("season", "season"), ("tour", "tour")],
)
def test_own_event_cannot_link_other_organizations_data(client, world, field, foreign):
    client.force_login(world.manager_a)
    count = Event.objects.count()
    response = client.post(
        reverse("admin:catalog_event_add"),
        _event_post(world.org_a.pk, **{field: getattr(world.b, foreign).pk}),
    )
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert Event.objects.count() == count


def test_sessions_and_zones_cannot_be_added_to_other_organizations_events(client, world):
    client.force_login(world.manager_a)
    starts = timezone.now() + timedelta(days=30)
    sessions, zones = Session.objects.count(), PriceZone.objects.count()

    session_response = client.post(
        reverse("admin:catalog_session_add"),
        {
            "event": world.b.event.pk,
            "layout": world.layout.pk,
            "starts_at_0": starts.date().isoformat(),
            "starts_at_1": "20:00:00",
            "max_tickets_per_order": 6,
            "max_tickets_per_account": 6,
            "hold_minutes": 10,
            "price_zones-TOTAL_FORMS": "0",
            "price_zones-INITIAL_FORMS": "0",
        },
    )
    zone_response = client.post(
        reverse("admin:catalog_pricezone_add"),
        {
            "session": world.b.session.pk,
            "code": "Z",
            "name": "Z",
            "price": "10.00",
            "currency": "CNY",
            "color": "#000000",
            "sort_order": 0,
        },
    )

    assert list(session_response.context["adminform"].form.errors) == ["event"]
    assert list(zone_response.context["adminform"].form.errors) == ["session"]
    assert (Session.objects.count(), PriceZone.objects.count()) == (sessions, zones)


# (d) ------------------------------------------------------------------------------------


def test_finance_member_reads_but_cannot_change_own_events(client, world):
    client.force_login(world.finance_a)
    event = world.a.event
    before = row_state(event)

    assert changelist_pks(client, "event") == {event.pk}
    page = client.get(change_url(event))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert page.context["has_view_permission"] is True
    post = client.post(change_url(event), _event_post(world.org_a.pk, name="财务改名"))
    assert post.status_code == 403
    assert client.get(reverse("admin:catalog_event_add")).status_code == 403
    delete = client.post(reverse("admin:catalog_event_delete", args=[event.pk]), {"post": "yes"})
    assert delete.status_code == 403
    assert row_state(event) == before


def test_finance_member_cannot_run_actions(client, world):
    client.force_login(world.finance_a)
    event = world.a.event
    client.post(
        reverse("admin:catalog_event_changelist"),
        {"action": "publish_events", "_selected_action": [event.pk]},
    )
    assert Event.objects.get(pk=event.pk).status == EventStatus.DRAFT


# (e) ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_name", list(MODELS))
def test_platform_operator_sees_both_organizers(client, world, model_name):
    client.force_login(world.operator)
    assert changelist_pks(client, model_name) == pks(world.a, model_name) | pks(world.b, model_name)


def test_platform_operator_changes_any_organizers_event(client, world):
    client.force_login(world.operator)
    response = client.post(
        change_url(world.b.event),
        _event_post(
            world.org_b.pk,
            kind="match",
            slug="match-b",
            name="运营改名",
            season=world.b.season.pk,
            home_team=world.b.team.pk,
            away_team=world.b.away.pk,
            **{"sessions-INITIAL_FORMS": "0"},
        ),
    )
    assert response.status_code == 302
    assert Event.objects.get(pk=world.b.event.pk).name == "运营改名"


def test_outsider_without_membership_is_kept_out(client, world):
    outsider = make_member(organization=world.org_a, password=None)
    outsider.memberships.all().delete()  # still is_staff, but belongs nowhere
    client.force_login(outsider)
    assert client.get(reverse("admin:catalog_event_changelist")).status_code == 403
    assert client.get(change_url(world.a.event)).status_code in (302, 403)
