import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.venues.models import City, Layout, Seat, Venue
from tessera.venues.services import export_plan
from tessera.venues.tests.factories import make_city, make_layout, make_venue

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_operators():
    org_a = make_organization(kind=OrganizationKind.VENUE_OPERATOR, name="甲场馆公司")
    org_b = make_organization(kind=OrganizationKind.VENUE_OPERATOR, name="乙场馆公司")
    venue_a = make_venue(organization=org_a, name="甲体育场", slug="venue-a")
    venue_b = make_venue(organization=org_b, name="乙体育场", slug="venue-b")
    user_a = make_member(organization=org_a, role=Role.MANAGER)
    return {
        "org_a": org_a,
        "org_b": org_b,
        "venue_a": venue_a,
        "venue_b": venue_b,
        "user_a": user_a,
    }


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_operator_sees_only_own_venues(two_operators):
    client = client_for(two_operators["user_a"])
    response = client.get("/admin/venues/venue/")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [two_operators["venue_a"]]


def test_operator_cannot_open_or_change_another_organizations_venue(two_operators):
    client = client_for(two_operators["user_a"])
    venue_b = two_operators["venue_b"]
    url = f"/admin/venues/venue/{venue_b.pk}/change/"
    # the change page of B's venue does not exist for A's operator: redirected away
    response = client.get(url)
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    # and posting a change does nothing
    response = client.post(
        url,
        {
            "name": "被改名",
            "name_en": "Hijacked",
            "slug": "venue-b",
            "city": venue_b.city_id,
            "organization": venue_b.organization_id,
            "time_zone": "Asia/Shanghai",
        },
    )
    assert response.status_code in (302, 403)
    venue_b.refresh_from_db()
    assert venue_b.name == "乙体育场"


def test_layouts_are_scoped_and_show_seat_counts(two_operators):
    layout_a = make_layout(
        venue=two_operators["venue_a"], sections=2, rows=2, seats_per_row=5, standing_capacity=300
    )
    layout_b = make_layout(venue=two_operators["venue_b"])
    client = client_for(two_operators["user_a"])
    response = client.get("/admin/venues/layout/")
    rows = list(response.context["cl"].result_list)
    assert rows == [layout_a]
    assert (rows[0].seat_count, rows[0].standing_capacity) == (20, 300)
    assert b"Upload a seating plan" in response.content
    # B's layout: change page and plan download are out of reach
    assert client.get(f"/admin/venues/layout/{layout_b.pk}/change/").status_code == 302
    assert client.get(f"/admin/venues/layout/{layout_b.pk}/plan/tessera/").status_code == 404


def test_layout_change_page_shows_section_summary_and_downloads(two_operators):
    layout = make_layout(
        venue=two_operators["venue_a"], sections=2, rows=2, seats_per_row=5, standing_capacity=300
    )
    client = client_for(two_operators["user_a"])
    response = client.get(f"/admin/venues/layout/{layout.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<tr><td>1</td><td>Seated</td><td>2</td><td>4</td><td>20</td><td>0</td></tr>" in html
    assert "<tr><td>1</td><td>Standing</td><td>1</td><td>0</td><td>0</td><td>300</td></tr>" in html
    assert f"/admin/venues/layout/{layout.pk}/plan/pretix/" in html
    download = client.get(f"/admin/venues/layout/{layout.pk}/plan/pretix/")
    assert download["Content-Disposition"] == (
        f'attachment; filename="layout-{layout.pk}-pretix.json"'
    )
    assert json.loads(download.content) == export_plan(layout=layout, format="pretix")


def test_download_action_for_one_selected_layout(two_operators):
    layout = make_layout(venue=two_operators["venue_a"], sections=1, rows=1, seats_per_row=2)
    client = client_for(two_operators["user_a"])
    response = client.post(
        "/admin/venues/layout/",
        {"action": "download_tessera_plan", "_selected_action": [str(layout.pk)]},
    )
    assert response.status_code == 200
    assert json.loads(response.content) == export_plan(layout=layout)


def test_upload_imports_a_plan_into_an_own_venue(two_operators):
    source = make_layout(venue=two_operators["venue_a"], sections=1, rows=2, seats_per_row=3)
    plan = json.dumps(export_plan(layout=source)).encode()
    client = client_for(two_operators["user_a"])
    response = client.post(
        "/admin/venues/layout/upload/",
        {
            "venue": two_operators["venue_a"].pk,
            "name": "演唱会",
            "name_en": "Concert",
            "file": SimpleUploadedFile("plan.json", plan, content_type="application/json"),
        },
    )
    layout = Layout.objects.get(name="演唱会")
    assert (response.status_code, response["Location"]) == (
        302,
        f"/admin/venues/layout/{layout.pk}/change/",
    )
    assert (layout.venue, layout.name_en) == (two_operators["venue_a"], "Concert")
    assert Seat.objects.filter(section__layout=layout).count() == 6


def test_upload_of_a_bad_plan_lists_errors_and_writes_nothing(two_operators):
    client = client_for(two_operators["user_a"])
    plan = {
        "zones": [
            {
                "name": "A",
                "position": {"x": 0, "y": 0},
                "rows": [
                    {
                        "row_number": "1",
                        "seats": [
                            {
                                "seat_guid": "g",
                                "seat_number": "1",
                                "position": {"x": "left", "y": 0},
                                "category": "",
                            }
                        ],
                    }
                ],
            }
        ],
        "name": "x",
        "categories": [],
    }
    before = Layout.objects.count()
    response = client.post(
        "/admin/venues/layout/upload/",
        {
            "venue": two_operators["venue_a"].pk,
            "file": SimpleUploadedFile("plan.json", json.dumps(plan).encode()),
        },
    )
    assert response.status_code == 200
    assert response.context["plan_errors"] == [
        {"path": "zones[0].rows[0].seats[0].position.x", "message": "must be a number"}
    ]
    assert "<code>zones[0].rows[0].seats[0].position.x</code>: must be a number" in (
        response.content.decode()
    )
    assert Layout.objects.count() == before


def test_upload_into_another_organizations_venue_is_refused(two_operators):
    client = client_for(two_operators["user_a"])
    source = make_layout(venue=two_operators["venue_a"], sections=1, rows=1, seats_per_row=1)
    before = Layout.objects.count()
    response = client.post(
        "/admin/venues/layout/upload/",
        {
            "venue": two_operators["venue_b"].pk,
            "file": SimpleUploadedFile(
                "plan.json", json.dumps(export_plan(layout=source)).encode()
            ),
        },
    )
    assert response.status_code == 200
    assert "venue" in response.context["form"].errors
    assert Layout.objects.count() == before


def test_cities_are_read_by_staff_and_written_by_platform_operators(two_operators):
    city = make_city(name="深圳", name_en="Shenzhen", slug="shenzhen")
    client = client_for(two_operators["user_a"])
    assert client.get("/admin/venues/city/").status_code == 200
    assert client.get("/admin/venues/city/add/").status_code == 403
    response = client.post(
        f"/admin/venues/city/{city.pk}/change/",
        {
            "name": "改",
            "name_en": "Changed",
            "slug": "shenzhen",
            "country": "CN",
            "time_zone": "Asia/Shanghai",
        },
    )
    assert response.status_code == 403
    city.refresh_from_db()
    assert city.name == "深圳"

    platform = make_organization(kind=OrganizationKind.PLATFORM)
    operator = make_member(organization=platform, role=Role.MANAGER)
    response = client_for(operator).post(
        "/admin/venues/city/add/",
        {
            "name": "杭州",
            "name_en": "Hangzhou",
            "slug": "hangzhou",
            "country": "CN",
            "time_zone": "Asia/Shanghai",
        },
    )
    assert response.status_code == 302
    assert City.objects.get(slug="hangzhou").name_en == "Hangzhou"
    assert Venue.objects.count() == 2
