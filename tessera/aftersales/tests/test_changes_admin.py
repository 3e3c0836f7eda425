"""The back office of session changes over the admin's HTTP client: the session's cancel
action goes through the bulk cancellation (refunds, not a silent cancel), postponing, the
progress page and its JSON, retries, and scoping by organization."""

from datetime import timedelta

import pytest
from django.test import Client, TestCase
from django.utils import timezone

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.aftersales import changes
from tessera.aftersales.models import ChangeKind, ChangeStatus, SessionChange
from tessera.aftersales.tests.factories import bought
from tessera.catalog.models import Session, SessionStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import Order, OrderStatus

pytestmark = pytest.mark.django_db
SESSIONS = "/admin/catalog/session/"
EVENTS = "/admin/catalog/event/"
CHANGES = "/admin/aftersales/sessionchange/"


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def sale(now):
    return make_sale(sections=1, rows=1, seats_per_row=6, starts_at=now + timedelta(days=10))


def signed_in(organization, role=Role.MANAGER) -> Client:
    client = Client()
    client.force_login(make_member(organization=organization, role=role, password=None))
    return client


def test_the_session_cancel_action_refunds_every_order_through_the_job(sale, now):
    paid = [bought(sale, make_buyer(), [1, 2], now), bought(sale, make_buyer(), [3], now)]
    client = signed_in(sale.session.event.organization)

    # the action first asks for the reason the fans will read
    page = client.post(
        SESSIONS, {"action": "cancel_sessions", "_selected_action": [sale.session.pk]}
    )
    assert page.status_code == 200
    assert "Cancel and refund everyone" in page.content.decode() or "取消并" in (
        page.content.decode()
    )
    assert Session.objects.get(pk=sale.session.pk).status == SessionStatus.SCHEDULED

    # then starts the cancellation and shows its progress page
    response = client.post(
        SESSIONS,
        {
            "action": "cancel_sessions",
            "_selected_action": [sale.session.pk],
            "reason": "Storm warning",
        },
    )
    change = SessionChange.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGES}{change.pk}/change/"
    assert (change.kind, change.total, change.reason) == (ChangeKind.CANCEL, 2, "Storm warning")
    assert Session.objects.get(pk=sale.session.pk).status == SessionStatus.CANCELLED

    progress = client.get(f"{CHANGES}{change.pk}/progress.json").json()
    assert (progress["done"], progress["total"], progress["status"]) == (0, 2, "running")
    page = client.get(f"{CHANGES}{change.pk}/change/").content.decode()
    assert 'src="/static/js/change-progress.js"' in page
    assert f'data-url="{CHANGES}{change.pk}/progress.json"' in page

    with TestCase.captureOnCommitCallbacks(execute=True):
        changes.run_change(change_id=change.pk, clock=lambda: now)
    progress = client.get(f"{CHANGES}{change.pk}/progress.json").json()
    assert (progress["done"], progress["total"], progress["percent"], progress["status"]) == (
        2,
        2,
        100.0,
        "done",
    )
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in paid])} == {
        OrderStatus.REFUNDED
    }


def test_the_event_cancel_action_goes_through_the_job(sale, now):
    order = bought(sale, make_buyer(), [1], now)
    client = signed_in(sale.session.event.organization)
    response = client.post(
        EVENTS,
        {
            "action": "cancel_events",
            "_selected_action": [sale.session.event.pk],
            "reason": "Tour cancelled",
        },
    )
    assert response.status_code == 302
    change = SessionChange.objects.get()
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes.run_change(change_id=change.pk, clock=lambda: now)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    assert sale.session.event.__class__.objects.get(pk=sale.session.event.pk).status == (
        "cancelled"
    )


def test_postponing_from_the_back_office(sale, now):
    bought(sale, make_buyer(), [1], now)
    client = signed_in(sale.session.event.organization)
    response = client.post(
        SESSIONS, {"action": "postpone_session", "_selected_action": [sale.session.pk]}
    )
    assert response["Location"] == f"{CHANGES}postpone/{sale.session.pk}/"

    form = client.get(response["Location"])
    assert form.status_code == 200
    # a date in the past is refused with the service's message, nothing changes
    bad = client.post(
        response["Location"],
        {"reason": "Artist ill", "new_starts_at": "2001-01-01T20:00", "refund_until": ""},
    )
    assert bad.status_code == 200
    assert not SessionChange.objects.exists()

    new_start = (now + timedelta(days=40)).astimezone(sale.session.layout.venue.zone_info)
    done = client.post(
        response["Location"],
        {
            "reason": "Artist ill",
            "new_starts_at": new_start.strftime("%Y-%m-%dT%H:%M"),
            "refund_until": (now + timedelta(days=7))
            .astimezone(sale.session.layout.venue.zone_info)
            .strftime("%Y-%m-%dT%H:%M"),
        },
    )
    change = SessionChange.objects.get()
    assert done["Location"] == f"{CHANGES}{change.pk}/change/"
    assert change.new_starts_at == new_start.replace(second=0, microsecond=0)
    assert Session.objects.get(pk=sale.session.pk).starts_at == new_start.replace(
        second=0, microsecond=0
    )


def test_other_organizations_and_finance_members_cannot_see_or_act(sale, now):
    bought(sale, make_buyer(), [1], now)
    change = changes.start_cancellation(session=sale.session, actor=None, reason="x", now=now)
    stranger = signed_in(make_sale(sections=1, rows=1, seats_per_row=1).session.event.organization)
    assert stranger.get(f"{CHANGES}{change.pk}/progress.json").status_code == 404
    assert stranger.get(f"{CHANGES}{change.pk}/change/").status_code == 404
    assert stranger.post(f"{CHANGES}{change.pk}/retry/").status_code == 404

    finance = signed_in(sale.session.event.organization, role=Role.FINANCE)
    assert finance.get(f"{CHANGES}{change.pk}/progress.json").status_code == 200
    assert finance.post(f"{CHANGES}{change.pk}/retry/").status_code == 403
    assert finance.get(f"{CHANGES}postpone/{sale.session.pk}/").status_code == 403
    change.refresh_from_db()
    assert change.status == ChangeStatus.RUNNING


# -- the fan pages --------------------------------------------------------------------------------


def test_the_event_and_order_pages_show_a_postponement_and_offer_the_refund(sale, now):
    from django.utils import translation

    fan = make_buyer(preferred_language="en")
    order = bought(sale, fan, [1], now)
    session = sale.session
    old_local = session.starts_at.astimezone(session.layout.venue.zone_info)
    change = changes.start_postponement(
        session=session,
        actor=None,
        reason="The singer is ill",
        new_starts_at=session.starts_at + timedelta(days=30),
        refund_until=now + timedelta(days=7),
        now=now,
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes.run_change(change_id=change.pk, clock=lambda: now)
    new_local = (session.starts_at + timedelta(days=30)).astimezone(session.layout.venue.zone_info)
    client = Client()
    client.force_login(fan)
    with translation.override("en"):
        event_page = client.get(
            f"/events/{session.event.slug}/", headers={"accept-language": "en"}
        ).content.decode()
        order_url = f"/orders/{order.number}/"
        order_page = client.get(order_url, headers={"accept-language": "en"}).content.decode()
    headline = (
        f"Postponed from {old_local:%Y-%m-%d %H:%M} to {new_local:%Y-%m-%d %H:%M}. "
        "Tickets stay valid for the new date."
    )
    assert headline in event_page
    assert "The singer is ill" in event_page
    assert headline in order_page
    assert 'id="change-refund"' in order_page

    # the fan takes the refund from the order page
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(f"/orders/{order.number}/change-refund/")
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    # a second post changes nothing and says why
    again = client.post(f"/orders/{order.number}/change-refund/", follow=True)
    assert 'id="change-refund"' not in again.content.decode()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    # someone else's order is not found
    other = Client()
    other.force_login(make_buyer())
    assert other.post(f"/orders/{order.number}/change-refund/").status_code == 404


def test_the_event_page_shows_a_cancellation(sale, now):
    bought(sale, make_buyer(), [1], now)
    changes.start_cancellation(session=sale.session, actor=None, reason="Storm", now=now)
    page = Client().get(f"/events/{sale.session.event.slug}/", headers={"accept-language": "en"})
    assert "This date is cancelled. Every ticket is refunded in full, without a fee." in (
        page.content.decode()
    )
