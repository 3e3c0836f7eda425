"""Workers racing for the same due deliveries (real threads, each with its own database
connection; on PostgreSQL with TESSERA_DATABASE_URL): each delivery is claimed by one worker
and reaches the receiver once (at least once on SQLite's test database, which locks tables)."""

from datetime import timedelta

import pytest
from django.db import connection, transaction

from tessera.core.testing import race
from tessera.partners import signals
from tessera.webhooks import delivery
from tessera.webhooks.models import DeliveryAttempt, WebhookDelivery
from tessera.webhooks.tests.factories import make_endpoint, make_partner

pytestmark = pytest.mark.django_db(transaction=True)


def test_four_workers_send_thirty_deliveries_each_exactly_once(receiver):
    org, _ = make_partner()
    make_endpoint(org, url=receiver.url)
    with transaction.atomic():
        for n in range(30):
            signals.emit(
                kind="order.paid", organization_ids=[org.pk], payload={"n": n}, key=f"k{n}"
            )
    now = WebhookDelivery.objects.order_by("-next_attempt_at").first().next_attempt_at

    results = race(*[lambda: delivery.deliver_due(now=now, limit=5).delivered] * 4)

    assert [error for _result, error in results] == [None] * 4
    if connection.vendor == "postgresql":
        assert sum(result for result, _error in results) == 30
        assert WebhookDelivery.objects.filter(status="delivered", attempts=1).count() == 30
        assert DeliveryAttempt.objects.count() == 30
        ids = [r.headers["Tessera-Webhook-Id"] for r in receiver.requests]
        assert len(ids) == len(set(ids)) == 30
    else:
        # SQLite's shared in-memory test database locks whole tables: a worker's lock error
        # leaves its claimed deliveries "sending" until the claim expires, then they go out
        delivery.deliver_due(now=now + timedelta(minutes=2))
        assert WebhookDelivery.objects.filter(status="delivered").count() == 30
        ids = {r.headers["Tessera-Webhook-Id"] for r in receiver.requests}
        assert ids == {str(u) for u in WebhookDelivery.objects.values_list("uid", flat=True)}
