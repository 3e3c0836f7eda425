"""Sales channels: their API keys and the one-call paid order (T5)."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Q
from django.test import Client

from tessera.core.errors import DomainError
from tessera.core.models import AuditEntry
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.inventory.services import allocate_channel
from tessera.inventory.tests.factories import make_channel
from tessera.orders.models import Order, OrderStatus
from tessera.sale import channels
from tessera.sale.tests.conftest import choose, sale_rows
from tessera.tickets import credentials
from tessera.tickets.models import Ticket
from tessera.tickets.selectors import public_keys_for_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(sale):
    return make_channel(organization=sale.session.event.organization, code="damai-test")


@pytest.fixture
def api_key(channel, now):
    _row, key = channels.issue_key(channel=channel, name="ERP", actor=None, now=now)
    return key


@pytest.fixture
def principal(api_key, now):
    return channels.authenticate(api_key, now=now)


def sell(sale, principal, now, key="k-1", **fields):
    choice = fields.pop("choice", None) or choose(zone=sale.zones["A"].pk, quantity=2)
    payload = {"choice": repr(choice), **fields}
    return channels.channel_order(
        principal=principal,
        session_id=fields.pop("session_id", sale.session.pk),
        choice=choice,
        idempotency_key=key,
        digest=channels.request_digest(payload),
        now=now,
        **fields,
    )


def test_a_key_is_shown_once_stored_as_a_digest_and_names_its_channel(channel, now):
    row, key = channels.issue_key(channel=channel, name="ERP", actor=None, now=now)
    assert key.startswith(f"tsk_{row.prefix}_") and len(key) > 50
    assert key not in (row.digest, row.prefix) and len(row.digest) == 64
    principal = channels.authenticate(key, now=now)
    assert (principal.channel_id, principal.channel_code) == (channel.pk, "damai-test")
    channel.refresh_from_db()
    assert principal.account_id == channel.account_id
    assert channel.account.is_active is False and not channel.account.has_usable_password()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),
        lambda k: k.replace("tsk_", "tsx_"),
        lambda k: "",
        lambda k: k + "\x00",
        lambda k: "tsk_" + "0" * 10 + "_nothing",
    ],
)
def test_a_wrong_key_is_refused(api_key, now, mangle):
    with pytest.raises(channels.ChannelKeyInvalid):
        channels.authenticate(mangle(api_key), now=now)


def test_revoked_and_expired_keys_are_refused(channel, now):
    row, key = channels.issue_key(
        channel=channel, name="ERP", actor=None, now=now, expires_at=now + timedelta(days=1)
    )
    channels.authenticate(key, now=now)
    with pytest.raises(channels.ChannelKeyInvalid):
        channels.authenticate(key, now=now + timedelta(days=1))
    channels.revoke_key(key=row, actor=None, now=now)
    with pytest.raises(channels.ChannelKeyInvalid):
        channels.authenticate(key, now=now)


def test_an_order_is_paid_on_account_with_its_tickets(sale, principal, now):
    sold = sell(sale, principal, now, buyer_name="Wang Fang", phone="13800000000")
    order = Order.objects.get(pk=sold.order.pk)
    assert (order.status, order.total, order.channel_id, order.user_id) == (
        OrderStatus.FULFILLED,
        Decimal("760.00"),
        principal.channel_id,
        principal.account_id,
    )
    assert order.paid_at == order.fulfilled_at == now
    assert list(order.ledger.values_list("kind", "amount", "payment_id", "reference")) == [
        ("charge", Decimal("760.00"), None, "channel:damai-test")
    ]
    lines = list(order.lines.order_by("id"))
    units = InventoryUnit.objects.filter(pk__in=[ln.unit_id for ln in lines]).order_by("id")
    assert [(u.status, u.order_line_id) for u in units] == [
        (UnitStatus.SOLD, ln.pk) for ln in lines
    ]
    assert Hold.objects.get(pk=order.hold_id).status == HoldStatus.SOLD
    tickets = list(Ticket.objects.filter(order_line__order=order).order_by("id"))
    assert [(t.pk, t.order_line_id, t.holder_name) for t in tickets] == [
        (t.id, t.line_id, t.holder_name) for t in sold.tickets
    ]
    assert {t.holder_name for t in tickets} == {"Wang Fang"}
    # every credential verifies offline with the session's public key
    keys = public_keys_for_session(sale.session)
    for issued in sold.tickets:
        payload = credentials.verify(issued.credential, public_keys=keys, now=now)
        assert (payload.ticket_id, payload.unit_id, payload.version) == (
            issued.id,
            issued.unit_id,
            1,
        )


def test_the_same_key_answers_the_same_order(sale, principal, now):
    first = sell(sale, principal, now, key="same")
    again = sell(sale, principal, now, key="same")
    assert again.replayed and not first.replayed
    assert again.order.number == first.order.number
    assert [t.credential for t in again.tickets] == [t.credential for t in first.tickets]
    assert Order.objects.filter(channel_id=principal.channel_id).count() == 1
    with pytest.raises(DomainError) as refused:
        sell(sale, principal, now, key="same", choice=choose(zone=sale.zones["B"].pk, quantity=1))
    assert refused.value.code == "idempotency_key_reused"


def test_a_channel_is_bounded_per_order_not_per_account(sale, principal, now):
    for n in range(3):
        sell(sale, principal, now, key=f"k{n}", choice=choose(zone=sale.zones["A"].pk, quantity=6))
    assert Order.objects.filter(channel_id=principal.channel_id).count() == 3
    before = sale_rows(sale.session)
    with pytest.raises(DomainError) as refused:
        sell(sale, principal, now, key="big", choice=choose(zone=sale.zones["B"].pk, quantity=7))
    assert refused.value.code == "limit_exceeded"
    assert sale_rows(sale.session) == before


def test_places_of_another_channel_are_not_sold(sale, principal, now):
    other = make_channel(organization=sale.session.event.organization)
    reserved = [u.pk for u in sale.seat_units("S1", "A", [1, 2])]
    allocate_channel(session=sale.session, unit_ids=reserved, channel=other, actor=None, now=now)
    before = sale_rows(sale.session)
    with pytest.raises(DomainError) as refused:
        sell(sale, principal, now, choice=choose(unit_ids=reserved))
    assert refused.value.code == "places_unavailable"
    assert sale_rows(sale.session) == before
    # "any" places skip them
    sold = sell(sale, principal, now, key="k2", choice=choose(zone=sale.zones["A"].pk, quantity=2))
    assert not {ln.unit_id for ln in sold.lines} & set(reserved)


def test_its_own_allocation_is_sold_to_it(sale, channel, principal, now):
    mine = [u.pk for u in sale.seat_units("S2", "C", [9, 10])]
    allocate_channel(session=sale.session, unit_ids=mine, channel=channel, actor=None, now=now)
    sold = sell(sale, principal, now, choice=choose(unit_ids=mine))
    assert sorted(ln.unit_id for ln in sold.lines) == sorted(mine)


def test_the_endpoint_needs_a_key_and_an_idempotency_key(sale, api_key):
    client = Client()
    body = json.dumps({"session": sale.session.pk, "zone": sale.zones["A"].pk, "quantity": 2})
    url = "/api/v1/channel/orders"
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 401
    response = client.post(
        url, body, content_type="application/json", HTTP_AUTHORIZATION="Bearer tsk_bad_key"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (
        401,
        "channel_key_invalid",
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    response = client.post(url, body, content_type="application/json", **auth)
    assert (response.status_code, response.json()["error"]["code"]) == (
        422,
        "idempotency_key_invalid",
    )
    response = client.post(
        url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-1", **auth
    )
    assert response.status_code == 201
    answer = response.json()
    assert answer["order"]["status"] == "fulfilled"
    assert [t["line_id"] for t in answer["tickets"]] == [
        ln["id"] for ln in answer["order"]["lines"]
    ]
    again = client.post(
        url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-1", **auth
    )
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == answer


@pytest.mark.parametrize(
    "body",
    [
        {"zone": 1, "quantity": 1},
        {"session": "1", "zone": 1, "quantity": 1},
        {"session": 1, "zone": 1, "quantity": 1, "buyer": {"name": "a\x00b"}},
        {"session": 1, "zone": 1, "quantity": 1, "buyer": "me"},
        {"session": 1, "unit_ids": [], "zone": 1},
        [],
    ],
)
def test_bad_bodies_are_refused(sale, api_key, body):
    before = sale_rows(sale.session)
    response = Client().post(
        "/api/v1/channel/orders",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
        HTTP_IDEMPOTENCY_KEY="x",
    )
    assert response.status_code in (404, 409, 422), response.content
    assert sale_rows(sale.session) == before


def test_both_paths_sell_the_same_way(sale, principal, now):
    """The channel order as this database runs it (on PostgreSQL: the fast statements) and
    the services' path leave the same rows."""
    results = {}
    for path, zone in (("as_run", "A"), ("services", "B")):
        if path == "as_run":
            sold = sell(sale, principal, now, choice=choose(zone=sale.zones[zone].pk, quantity=2))
        else:
            with transaction.atomic():
                sold = channels._sell_with_services(
                    principal,
                    sale.session.pk,
                    choose(zone=sale.zones[zone].pk, quantity=2),
                    now,
                    None,
                    "",
                    "",
                    "",
                )
        order = Order.objects.get(pk=sold.order.pk)
        results[path] = {
            "order": (order.status, order.channel_id, order.paid_at is not None),
            "ledger": list(order.ledger.values_list("kind", "reference", "payment_id")),
            "units": sorted(
                InventoryUnit.objects.filter(hold_id=order.hold_id).values_list("status", flat=True)
            ),
            "hold": Hold.objects.get(pk=order.hold_id).status,
            "tickets": list(
                Ticket.objects.filter(order_line__order=order).values_list("status", "version")
            ),
            "audit": sorted(
                AuditEntry.objects.filter(
                    Q(object_type="orders.order", object_id=str(order.pk))
                    | Q(object_type="inventory.hold", object_id=str(order.hold_id))
                ).values_list("action", "data__channel")
            ),
        }
    assert results["as_run"] == results["services"]
