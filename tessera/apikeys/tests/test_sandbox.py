"""The sandbox world: created once per partner, sold only through sandbox keys, never shown
to fans, left out of settlement; live keys never reach it."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tessera.accounts.models import OrganizationKind
from tessera.accounts.tests.factories import make_organization
from tessera.apikeys import selectors, services
from tessera.apikeys.errors import NotADistributor
from tessera.apikeys.models import SandboxWorld
from tessera.apikeys.tests.factories import make_key
from tessera.catalog import selectors as catalog
from tessera.core.testing import wsgi_call as call
from tessera.inventory.models import InventoryUnit
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import Order

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/channel/orders"


@pytest.fixture
def world(partner, now):
    return services.create_sandbox(partner=partner.org, actor=partner.owner, now=now)


def order(app, session, zone, secret, idem):
    return call(
        app,
        "POST",
        ORDERS,
        body={"session": session.pk, "zone": zone.pk, "quantity": 2},
        headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": idem},
    )


def first_session(world):
    session = selectors.sandbox_sessions(world).first()
    return session, session.price_zones.order_by("sort_order").first()


def test_a_sandbox_world_is_made_once_with_every_place_on_its_channel(world, partner, now):
    assert world.organization.is_sandbox and world.organization.kind == OrganizationKind.ORGANIZER
    assert world.channel.organization == world.organization
    sessions = list(selectors.sandbox_sessions(world))
    assert len(sessions) == 2
    for session in sessions:
        assert [z.code for z in session.price_zones.order_by("sort_order")] == ["A", "B"]
        units = InventoryUnit.objects.filter(session=session)
        assert units.count() >= 40
        assert set(units.values_list("channel_id", flat=True)) == {world.channel.pk}
    again = services.create_sandbox(partner=partner.org, actor=None, now=now)
    assert again.pk == world.pk and SandboxWorld.objects.count() == 1
    assert InventoryUnit.objects.filter(
        session__event__organization=world.organization
    ).count() == sum(InventoryUnit.objects.filter(session=s).count() for s in sessions)


def test_only_distributors_get_a_sandbox(now):
    organizer = make_organization(kind=OrganizationKind.ORGANIZER, slug="org-x")
    with pytest.raises(NotADistributor):
        services.create_sandbox(partner=organizer, actor=None, now=now)
    assert not SandboxWorld.objects.exists()


def test_the_management_command(partner, capsys):
    call_command("partner_sandbox", organization=partner.org.slug)
    world = SandboxWorld.objects.get(partner=partner.org)
    assert f"channel {world.channel.code}" in capsys.readouterr().out
    call_command("partner_sandbox", organization=partner.org.slug)
    assert "already there" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("partner_sandbox", organization="nobody")
    organizer = make_organization(kind=OrganizationKind.ORGANIZER, slug="org-y")
    with pytest.raises(CommandError):
        call_command("partner_sandbox", organization=organizer.slug)


def test_the_console_button_makes_the_world(client, partner):
    client.force_login(partner.owner)
    answer = client.post(reverse("apikeys:sandbox") + f"?org={partner.org.pk}")
    assert answer.status_code == 302
    world = SandboxWorld.objects.get(partner=partner.org)
    page = client.get(reverse("apikeys:keys") + f"?org={partner.org.pk}")
    assert page.context["world"] == world
    assert world.channel.code.encode() in page.content


def test_a_sandbox_key_sells_sandbox_sessions_and_nothing_else(
    wsgi_apps, world, partner, sale, now
):
    _row, secret = make_key(partner, now=now, sandbox=True)
    assert secret.startswith("tsk_test_")
    session, zone = first_session(world)
    for name, app in wsgi_apps.items():
        status, body = order(app, session, zone, secret, f"sb-{name}")
        assert status == 201, body
    sold = list(Order.objects.all())
    assert len(sold) == 2 and all(o.channel_id == world.channel.pk for o in sold)
    assert all(selectors.is_sandbox_order(o) for o in sold)
    assert not selectors.live_orders(Order.objects.all()).exists()
    # a real session: refused, nothing sold
    for name, app in wsgi_apps.items():
        status, body = order(app, sale.session, sale.zones["A"], secret, f"live-{name}")
        assert (status, body["error"]["code"]) == (403, "sandbox_key")
    assert Order.objects.count() == 2
    # the key without its test marker is no key
    status, _body = order(
        wsgi_apps["lane"], session, zone, secret.replace("tsk_test_", "tsk_"), "x"
    )
    assert status == 401


def test_a_live_key_never_reaches_a_sandbox_session(wsgi_apps, world, partner, sale, now):
    _row, secret = make_key(partner, now=now)
    session, zone = first_session(world)
    for name, app in wsgi_apps.items():
        status, body = order(app, session, zone, secret, f"sb-{name}")
        assert (status, body["error"]["code"]) == (404, "session_not_found")
    assert not Order.objects.exists()
    status, _body = order(wsgi_apps["lane"], sale.session, sale.zones["A"], secret, "live")
    assert status == 201
    (live,) = Order.objects.all()
    assert not selectors.is_sandbox_order(live)
    assert list(selectors.live_orders(Order.objects.all())) == [live]


def test_fans_never_see_nor_buy_the_sandbox(world, sale, now):
    session, zone = first_session(world)
    event = session.event
    assert session.pk not in set(catalog.public_sessions().values_list("pk", flat=True))
    assert sale.session.pk in set(catalog.public_sessions().values_list("pk", flat=True))
    assert session.pk in set(
        catalog.public_sessions(include_sandbox=True).values_list("pk", flat=True)
    )
    fan = Client()
    found = catalog.search_events(catalog.SessionFilters(q=event.name_en), now=now)
    assert not found.exists()
    month = f"?year={session.starts_at.year}&month={session.starts_at.month}"
    for url in ("/", "/search/", "/calendar/", "/calendar/" + month):
        page = fan.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200, url
        assert (
            event.name_en.encode() not in page.content and event.name.encode() not in page.content
        )
    assert fan.get(reverse("storefront:event", args=[event.slug])).status_code == 404
    assert fan.get(reverse("storefront:session_ics", args=[session.pk])).status_code == 404
    venue = session.layout.venue
    assert fan.get(reverse("storefront:venue", args=[venue.slug])).status_code == 404
    assert fan.get(f"/api/v1/sessions/{session.pk}").status_code == 404
    buyer = make_buyer()
    fan.force_login(buyer)
    assert fan.get(reverse("storefront:buy", args=[session.pk])).status_code == 404
    answer = fan.post(
        f"/api/v1/sessions/{session.pk}/checkout",
        {"zone": zone.pk, "quantity": 1, "provider": "sandbox"},
        content_type="application/json",
    )
    assert answer.status_code in (404, 409)
    assert not Order.objects.exists()
