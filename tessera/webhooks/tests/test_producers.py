"""Partner events derived from committed rows: a channel's paid order, its refund, a session
change. The sale's path writes nothing for them."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member
from tessera.aftersales import changes
from tessera.aftersales import services as aftersales
from tessera.inventory.tests.factories import make_channel, make_sale
from tessera.orders.models import Order
from tessera.sale import channels
from tessera.sale.choices import PlaceChoice
from tessera.webhooks import delivery, producers
from tessera.webhooks.models import WebhookEvent
from tessera.webhooks.tests.factories import make_endpoint, make_partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(receiver):
    now = timezone.now()
    sale = make_sale(sections=1, rows=2, seats_per_row=10, now=now)
    organizer = sale.session.event.organization
    distributor, _user = make_partner(kind=OrganizationKind.DISTRIBUTOR)
    other, _ = make_partner(kind=OrganizationKind.DISTRIBUTOR)
    make_endpoint(distributor, url=receiver.url)
    make_endpoint(organizer, url="https://organizer.example.com/hooks")
    make_endpoint(other)
    channel = make_channel(organization=distributor, code="dist-1")
    _row, key = channels.issue_key(channel=channel, name="ERP", actor=None, now=now)
    principal = channels.authenticate(key, now=now)
    return sale, organizer, distributor, other, principal, now


def _sell(sale, principal, now, key="k-1"):
    choice = PlaceChoice.parse({"zone": sale.zones["A"].pk, "quantity": 2})
    return channels.channel_order(
        principal=principal,
        session_id=sale.session.pk,
        choice=choice,
        idempotency_key=key,
        digest=channels.request_digest({"choice": repr(choice)}),
        now=now,
        buyer_name="李雷",
    )


def _events(kind):
    return sorted(WebhookEvent.objects.filter(kind=kind).values_list("organization_id", "key"))


def test_a_channel_order_paid_is_announced_once_to_the_distributor_and_the_organizer(
    world, receiver, recipe
):
    sale, organizer, distributor, _other, principal, now = world
    placed = _sell(sale, principal, now)
    order = placed.order
    assert WebhookEvent.objects.count() == 0  # nothing on the sale's path

    producers.derive_events(now=now + timedelta(seconds=10))
    producers.derive_events(now=now + timedelta(seconds=20))  # the overlap re-read: no more

    key = f"order.paid:{order.pk}"
    assert _events("order.paid") == sorted([(distributor.pk, key), (organizer.pk, key)])
    event = WebhookEvent.objects.get(organization=distributor)
    assert event.payload == {
        "order": order.number,
        "order_id": order.pk,
        "status": "fulfilled",
        "session_id": sale.session.pk,
        "event_id": sale.session.event_id,
        "channel": "dist-1",
        "total": "760.00",
        "currency": "CNY",
        "paid_at": event.payload["paid_at"],
        "tickets": 2,
    }
    outcome = delivery.deliver_due(now=timezone.now())
    assert outcome.delivered == 1  # the distributor's receiver
    [got] = receiver.requests
    body = recipe.verify_webhook(
        body=got.body,
        headers=got.headers,
        secret=_secret_of(distributor),
        now=int(got.headers["Tessera-Timestamp"]),
    )
    assert body["data"]["order"] == order.number


def _secret_of(org):
    return bytes(org.webhook_endpoints.get().secret).decode()


def test_a_rolled_back_channel_order_is_never_announced(world):
    sale, _organizer, _distributor, _other, principal, now = world

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        _sell(sale, principal, now)
        raise Undo
    assert Order.objects.count() == 0
    producers.derive_events(now=now + timedelta(seconds=10))
    assert WebhookEvent.objects.count() == 0


def test_a_refund_of_a_channel_order_is_announced(world):
    sale, organizer, distributor, _other, principal, now = world
    order = _sell(sale, principal, now).order
    staff = make_member(organization=organizer, role=Role.MANAGER)
    later = now + timedelta(minutes=1)
    aftersales.refund_order_in_full(
        order=Order.objects.get(pk=order.pk), actor=staff, reason="主办方取消", now=later
    )
    producers.derive_events(now=later + timedelta(seconds=10))
    refunded = WebhookEvent.objects.filter(kind="order.refunded")
    assert sorted(refunded.values_list("organization_id", flat=True)) == sorted(
        [distributor.pk, organizer.pk]
    )
    payload = refunded.first().payload
    assert (payload["order"], payload["refunded"], payload["fee"], payload["status"]) == (
        order.number,
        "760.00",
        "0.00",
        "refunded",
    )


def test_a_postponed_session_is_announced_to_its_organizer_and_distributors(world):
    sale, organizer, distributor, other, principal, now = world
    _sell(sale, principal, now)
    staff = make_member(organization=organizer, role=Role.MANAGER)
    new_date = sale.session.starts_at + timedelta(days=7)
    change = changes.start_postponement(
        session=sale.session,
        actor=staff,
        reason="天气原因",
        new_starts_at=new_date,
        refund_until=None,
        now=now,
    )
    producers.derive_events(now=now + timedelta(seconds=10))
    key = f"session.changed:{change.pk}"
    assert _events("session.changed") == sorted([(distributor.pk, key), (organizer.pk, key)])
    body = json.loads(WebhookEvent.objects.filter(kind="session.changed").first().body)
    assert body["data"]["change"] == "postpone"
    assert body["data"]["new_starts_at"] == new_date.isoformat()
    assert other.pk not in {e.organization_id for e in WebhookEvent.objects.all()}
