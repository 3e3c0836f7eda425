"""Moving a session from the back office over the admin's HTTP client: the session's move
action, the form (a layout, a price zone per new section, an optional section mapping), the
shortfall refused with its message, the progress page; the fan's order page shows the new
place and the move's notice with the refund offer."""

from datetime import timedelta

import pytest
from django.test import Client, TestCase
from django.utils import timezone, translation

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.aftersales import changes
from tessera.aftersales.models import SessionChange
from tessera.aftersales.tests.factories import bought
from tessera.catalog.models import Session
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.venues.models import Section
from tessera.venues.tests.factories import make_layout, make_venue

pytestmark = pytest.mark.django_db
SESSIONS = "/admin/catalog/session/"
CHANGES = "/admin/aftersales/sessionchange/"


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def sale(now):
    return make_sale(sections=1, rows=1, seats_per_row=6, starts_at=now + timedelta(days=10))


def test_moving_a_session_from_the_back_office(sale, now):
    fan = make_buyer(preferred_language="en")
    order = bought(sale, fan, [2, 3], now)
    arena = make_layout(
        venue=make_venue(name="星光体育馆", name_en="Starlight Arena"),
        sections=1,
        rows=1,
        seats_per_row=4,
    )
    hall = make_layout(
        venue=make_venue(name="小剧场", name_en="Small Hall"), sections=1, rows=1, seats_per_row=1
    )
    client = Client()
    client.force_login(
        make_member(organization=sale.session.event.organization, role=Role.MANAGER, password=None)
    )

    # the session's action leads to the move page, which lists the other layouts
    response = client.post(
        SESSIONS, {"action": "move_session", "_selected_action": [sale.session.pk]}
    )
    url = f"{CHANGES}move/{sale.session.pk}/"
    assert response["Location"] == url
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "Starlight Arena" in page and "Small Hall" in page

    # a layout short of places is refused with the shortfall, nothing changes
    small = Section.objects.get(layout=hall)
    refused = client.post(
        url,
        {"layout": hall.pk, f"zone_{small.pk}": sale.zones["A"].pk, "reason": "Roof"},
        headers={"accept-language": "en"},
    )
    assert refused.status_code == 200
    assert "fewer places than tickets sold" in refused.content.decode()
    assert "2 sold, 1 places" in refused.content.decode()
    assert not SessionChange.objects.exists()

    # the arena: its section in zone A, the old section mapped to it, refunds for a week
    target = Section.objects.get(layout=arena)
    form = client.get(f"{url}?layout={arena.pk}", headers={"accept-language": "en"})
    assert f'name="zone_{target.pk}"' in form.content.decode()
    local = (now + timedelta(days=7)).astimezone(sale.session.layout.venue.zone_info)
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = client.post(
            url,
            {
                "layout": arena.pk,
                f"zone_{target.pk}": sale.zones["A"].pk,
                f"map_{sale.sections['S1'].pk}": target.pk,
                "reason": "Roof repairs",
                "refund_until": local.strftime("%Y-%m-%dT%H:%M"),
            },
        )
    change = SessionChange.objects.get()
    assert done["Location"] == f"{CHANGES}{change.pk}/change/"
    assert (change.kind, change.new_layout_id) == ("move", arena.pk)
    assert Session.objects.get(pk=sale.session.pk).layout_id == arena.pk
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes.run_change(change_id=change.pk, clock=lambda: now)
    progress = client.get(done["Location"], headers={"accept-language": "en"}).content.decode()
    assert "Starlight Arena" in progress
    assert client.get(f"{CHANGES}{change.pk}/progress.json").json()["done"] == 1

    # the fan's order page shows the new places and the notice with the refund offer
    fan_client = Client()
    fan_client.force_login(fan)
    with translation.override("en"):
        order_page = fan_client.get(
            f"/orders/{order.number}/", headers={"accept-language": "en"}
        ).content.decode()
    assert "This session moved to another venue" in order_page
    assert "Starlight Arena" in order_page
    assert "If the new venue does not suit you" in order_page
    assert 'id="change-refund"' in order_page
