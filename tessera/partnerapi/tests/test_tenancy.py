"""Tenancy of the partner side: distributor B's key never sees distributor A's orders,
tickets or sessions allocated only to A, over every operation of the partner router (read
from the router, so a new endpoint cannot be left out) and the channel order endpoint; a key
without an operation's scope is refused with 403 ``scope_missing``; and B's console user
never opens A's console pages (every link of ``settings.PARTNER_CONSOLE_LINKS``)."""

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.orders.models import Order
from tessera.partnerapi.api import router
from tessera.partners.scopes import (
    ALL_SCOPES,
    AVAILABILITY,
    CATALOG_READ,
    ORDERS,
    REFUNDS,
    WEBHOOKS,
)
from tessera.partners.scopes import SCOPES as SCOPE_NAMES
from tessera.sale import channels
from tessera.tickets.models import Ticket
from tessera.webhooks import services as webhooks
from tessera.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

API = "/api/v1"

# The scope each operation needs, by (method, path template). An operation of the router
# missing here fails ``test_every_operation_is_covered``: add it, with its body below.
SCOPES = {
    ("GET", "/partner/catalog"): CATALOG_READ,
    ("GET", "/partner/events/{event_id}"): CATALOG_READ,
    ("GET", "/partner/sessions/{session_id}"): CATALOG_READ,
    ("GET", "/partner/sessions/{session_id}/availability"): AVAILABILITY,
    ("POST", "/partner/sessions/{session_id}/quote"): AVAILABILITY,
    ("POST", "/partner/orders"): ORDERS,
    ("GET", "/partner/orders"): ORDERS,
    ("GET", "/partner/orders/{number}"): ORDERS,
    ("POST", "/partner/orders/{number}/cancel"): REFUNDS,
    ("GET", "/partner/orders/{number}/tickets"): ORDERS,
    ("GET", "/partner/tickets/{ticket_id}.pdf"): ORDERS,
    ("GET", "/partner/tickets/{ticket_id}/qr.svg"): ORDERS,
    ("GET", "/partner/webhooks"): WEBHOOKS,
    ("POST", "/partner/webhooks"): WEBHOOKS,
    ("DELETE", "/partner/webhooks/{webhook_id}"): WEBHOOKS,
}


def operations() -> list[tuple[str, str]]:
    """(method, path template) of every operation of the partner router."""
    found = []
    for path, view in router.path_operations.items():
        for operation in view.operations:
            found.extend((method, path) for method in operation.methods)
    return sorted(found, key=lambda item: ("cancel" in item[1], item))


@pytest.fixture
def a_world(world, now):
    """A's orders: on its allocation-only session and on its block of the shared one."""
    a = world["a"]
    sold = []
    for name, sale in (("a_only", world["a_only"]), ("shared", world["shared"])):
        principal = channels.authenticate(a.key, now=now)
        choice = {"zone": sale.zones["A"].pk, "quantity": 2}
        from tessera.sale.choices import PlaceChoice

        sold.append(
            channels.channel_order(
                principal=principal,
                session_id=sale.session.pk,
                choice=PlaceChoice.parse(choice),
                idempotency_key=f"a-{name}",
                digest=channels.request_digest(choice),
                buyer_name="ALPHA-BUYER",
                now=now,
            )
        )
    order = Order.objects.get(pk=sold[0].order.pk)
    tickets = list(Ticket.objects.filter(order_line__order=order).order_by("pk"))
    endpoint, _secret = webhooks.create_endpoint(
        organization=a.organization,
        url="https://alpha-erp.example.com/hooks",
        kinds=["order.paid"],
        actor=None,
        now=now,
    )
    markers = {
        "ALPHA-ONLY",
        "ALPHA-BUYER",
        "Alpha Tickets",
        "dist-a",
        "alpha-erp.example.com",
        *(s.order.number for s in sold),
        *(str(t.public_id) for s in sold for t in Ticket.objects.filter(order_line__order=s.order)),
        *(t.credential for s in sold for t in s.tickets),
    }
    return {
        "order": order,
        "tickets": tickets,
        "session": world["a_only"].session,
        "zone": world["a_only"].zones["A"],
        "markers": markers,
        "webhook": endpoint,
    }


def _request(key: str, method: str, template: str, a: dict, idem: str):
    values = {
        "event_id": a["session"].event_id,
        "session_id": a["session"].pk,
        "number": a["order"].number,
        "ticket_id": a["tickets"][0].pk,
        "webhook_id": a["webhook"].pk,
    }
    path = API + re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)
    bodies = {
        "/partner/sessions/{session_id}/quote": {"zone": a["zone"].pk, "quantity": 1},
        "/partner/orders": {"session": a["session"].pk, "zone": a["zone"].pk, "quantity": 1},
        "/partner/orders/{number}/cancel": {"ticket_ids": [a["tickets"][0].pk]},
        "/partner/webhooks": {"url": "https://b.example.com/hooks", "kinds": ["order.paid"]},
    }
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}", "HTTP_IDEMPOTENCY_KEY": idem}
    client = Client()
    if method == "GET":
        return client.get(path, **headers)
    if method == "DELETE":
        return client.delete(path, **headers)
    assert template in bodies, f"no body for {method} {template}: add one to the matrix"
    return client.post(
        path, json.dumps(bodies[template]), content_type="application/json", **headers
    )


def _leaks(response, markers) -> list[str]:
    text = response.content.decode("utf-8", "replace")
    return [marker for marker in markers if marker in text]


def test_every_operation_is_covered():
    assert set(operations()) == set(SCOPES), "a partner operation is missing from the matrix"


def test_bs_key_never_sees_as_rows_on_any_operation(world, a_world):
    b = world["b"]
    for method, template in operations():
        response = _request(b.key, method, template, a_world, idem=f"b-{method}-{template}")
        if (method, template) == ("POST", "/partner/webhooks"):
            expected = 201  # B subscribes a URL of its own
        else:
            expected = 404 if "{" in template or method == "POST" else 200
        assert response.status_code == expected, (method, template, response)
        assert not _leaks(response, a_world["markers"]), (method, template)
    assert not Order.objects.filter(channel=b.channel).exists()
    assert WebhookEndpoint.objects.filter(pk=a_world["webhook"].pk).exists()
    assert Order.objects.get(pk=a_world["order"].pk).status == "fulfilled"


def test_as_own_key_reaches_the_same_rows(world, a_world):
    """The control: the probes above do reach A's rows with A's key."""
    a = world["a"]
    for method, template in operations():
        response = _request(a.key, method, template, a_world, idem=f"a-{method}-{template}")
        assert response.status_code in (200, 201, 204), (method, template, response.content)
        if method == "DELETE":
            assert not WebhookEndpoint.objects.filter(pk=a_world["webhook"].pk).exists()
        elif template.startswith("/partner/tickets/"):
            assert len(response.content) > 500  # the PDF or the QR image
        elif template.startswith("/partner/sessions/{session_id}/"):
            assert response.json()["session_id"] == a_world["session"].pk
        elif "{" in template:
            assert _leaks(response, a_world["markers"]), (method, template)


def test_the_channel_order_endpoint_sells_b_nothing_of_as(world, a_world):
    b = world["b"]
    before = Order.objects.count()
    response = Client().post(
        f"{API}/channel/orders",
        json.dumps({"session": a_world["session"].pk, "zone": a_world["zone"].pk, "quantity": 1}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {b.key}",
        HTTP_IDEMPOTENCY_KEY="b-1",
    )
    assert response.status_code in (404, 409), response.content
    assert not _leaks(response, a_world["markers"])
    assert Order.objects.count() == before
    # nor does the same key of B replay A's order under A's idempotency key
    response = Client().post(
        f"{API}/channel/orders",
        json.dumps({"zone": a_world["zone"].pk, "quantity": 2, "session": a_world["session"].pk}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {b.key}",
        HTTP_IDEMPOTENCY_KEY="a-a_only",
    )
    assert not _leaks(response, a_world["markers"])
    assert Order.objects.count() == before


@pytest.mark.parametrize("missing", ALL_SCOPES)
def test_a_key_without_the_scope_is_refused_everywhere(world, a_world, now, missing):
    b = world["b"]
    _row, key = channels.issue_key(
        channel=b.channel,
        name="narrow",
        actor=None,
        now=now,
        scopes=[s for s in ALL_SCOPES if s != missing],
    )
    _row, none = channels.issue_key(channel=b.channel, name="none", actor=None, now=now, scopes=[])
    for method, template in operations():
        for probe in (key, none) if SCOPES[(method, template)] == missing else (none,):
            response = _request(probe, method, template, a_world, idem=f"s-{method}-{template}")
            assert response.status_code == 403, (method, template, response.content)
            error = response.json()["error"]
            assert error["code"] == "scope_missing"
            assert error["details"] == {"scope": SCOPES[(method, template)]}
    assert SCOPES[next(iter(SCOPES))] in SCOPE_NAMES
    assert not Order.objects.filter(channel=b.channel).exists()


def test_bs_console_user_never_opens_as_pages(world, a_world):
    b_user = make_member(organization=world["b"].organization, role=Role.STAFF)
    a_org = world["a"].organization
    client = Client()
    client.force_login(b_user)
    names = ["partners:console", *(name for name, _label in settings.PARTNER_CONSOLE_LINKS)]
    for name in names:
        url = reverse(name)
        assert client.get(f"{url}?org={a_org.pk}").status_code == 403, name
        page = client.get(url)
        assert page.status_code == 200, name
        assert not _leaks(page, a_world["markers"]), name
