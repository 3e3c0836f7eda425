"""The back office edits purchase limits: scoped to the organizer, bad input explained."""

import pytest
from django.urls import reverse
from django.utils import translation

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.catalog.tests.factories import make_event, make_session
from tessera.core.models import AuditEntry
from tessera.limits.models import LIMIT_FIELDS, PurchaseLimits
from tessera.limits.tests.factories import set_limits

pytestmark = pytest.mark.django_db

ADD = "admin:limits_purchaselimits_add"


@pytest.fixture
def org():
    return make_organization(name="甲方", name_en="Alpha", slug="alpha")


@pytest.fixture
def manager(org, client):
    user = make_member(organization=org, role=Role.MANAGER, password=None)
    client.force_login(user)
    return user


def form_data(event, session=None, **limits) -> dict:
    data = dict.fromkeys(LIMIT_FIELDS, "0")
    data.update({"event": event.pk, "session": session.pk if session else ""})
    data.update({name: str(value) for name, value in limits.items()})
    return data


def test_a_manager_sets_an_events_limits_and_it_is_audited(client, org, manager):
    event = make_event(organization=org)

    response = client.post(reverse(ADD), form_data(event, device_per_session=4, payer_per_event=6))

    assert response.status_code == 302
    row = PurchaseLimits.objects.get()
    assert (row.event, row.session, row.device_per_session, row.payer_per_event) == (
        event,
        None,
        4,
        6,
    )
    assert row.is_limiting is True
    entry = AuditEntry.objects.get(action="purchaselimits.added_in_back_office")
    assert (entry.organization_id, entry.actor) == (org.pk, manager)


@pytest.mark.parametrize(
    ("language", "overrides", "field", "message"),
    [
        (
            "en",
            {"device_per_session": "-1"},
            "device_per_session",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            "en",
            {"phone_per_event": "1001"},
            "phone_per_event",
            "Ensure this value is less than or equal to 1000.",
        ),
        ("en", {"address_per_session": "two"}, "address_per_session", "Enter a whole number."),
        ("zh-hans", {"device_per_session": "-1"}, "device_per_session", "确保该值大于或等于0。"),
    ],
)
def test_bad_numbers_are_refused_with_a_clear_error(
    client, org, manager, language, overrides, field, message
):
    event = make_event(organization=org)

    response = client.post(
        reverse(ADD), form_data(event, **overrides), HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {field: [message]}
    assert not PurchaseLimits.objects.exists()


def test_a_session_override_belongs_to_its_event_and_sets_no_event_limits(client, org, manager):
    event, other = make_event(organization=org), make_event(organization=org)
    session = make_session(event=other)

    with translation.override("en"):
        response = client.post(
            reverse(ADD),
            form_data(event, session, device_per_event=3),
            HTTP_ACCEPT_LANGUAGE="en",
        )

    assert response.context["adminform"].form.errors == {
        "session": ["This session belongs to another event."],
        "device_per_event": [
            "Limits per event are set on the event's limits (leave the session empty), not "
            "on a session's."
        ],
    }
    assert not PurchaseLimits.objects.exists()


def test_an_event_has_one_row_of_limits(client, org, manager):
    event = make_event(organization=org)
    set_limits(event=event, device_per_session=2)

    response = client.post(
        reverse(ADD), form_data(event, device_per_session=3), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "该活动已设置购票限制，请修改已有的设置。"
    ]
    assert PurchaseLimits.objects.get().device_per_session == 2


def test_another_organizers_event_is_neither_listed_nor_offered(client, org, manager):
    mine = make_event(organization=org)
    theirs = make_event(organization=make_organization())
    set_limits(event=theirs, device_per_session=2)

    listing = client.get(reverse("admin:limits_purchaselimits_changelist"))
    form = client.get(reverse(ADD))
    response = client.post(reverse(ADD), form_data(theirs, device_per_session=1))

    assert list(listing.context["cl"].queryset) == []
    assert list(form.context["adminform"].form.fields["event"].queryset) == [mine]
    assert "event" in response.context["adminform"].form.errors
    assert PurchaseLimits.objects.count() == 1


def test_the_identity_limit_is_set_per_event_and_keeps_holds_unlimited(client, org, manager):
    event = make_event(organization=org)

    response = client.post(reverse(ADD), form_data(event, identity_per_event=2))

    assert response.status_code == 302
    row = PurchaseLimits.objects.get()
    assert (row.event, row.session, row.identity_per_event) == (event, None, 2)
    # checked where identities are bound (real-name sessions), not at the hold
    assert row.is_limiting is False
    assert AuditEntry.objects.filter(action="purchaselimits.added_in_back_office").exists()
    page = client.get(reverse("admin:limits_purchaselimits_change", args=[row.pk]))
    assert 'name="identity_per_event"' in page.content.decode()


@pytest.mark.parametrize(
    ("language", "session", "value", "message"),
    [
        ("en", False, "1001", "Ensure this value is less than or equal to 1000."),
        ("en", False, "-2", "Ensure this value is greater than or equal to 0."),
        (
            "zh-hans",
            True,
            "2",
            "整个活动的限制请在活动的限制中设置（场次留空），不能在场次的限制中设置。",
        ),
    ],
)
def test_a_bad_identity_limit_is_refused(client, org, manager, language, session, value, message):
    event = make_event(organization=org)
    on = make_session(event=event) if session else None

    response = client.post(
        reverse(ADD),
        form_data(event, on, identity_per_event=value),
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"identity_per_event": [message]}
    assert not PurchaseLimits.objects.exists()
