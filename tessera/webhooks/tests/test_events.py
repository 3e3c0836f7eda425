"""Events are recorded in the sender's transaction: once per key and organization, never for
a cause that rolled back, only for organizations with an endpoint subscribed to the kind."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tessera.partners import signals
from tessera.webhooks.models import WebhookDelivery, WebhookEvent
from tessera.webhooks.tests.factories import make_endpoint, make_partner

pytestmark = pytest.mark.django_db


def _emit(orgs, key="order.paid:7", kind=signals.ORDER_PAID):
    signals.emit(kind=kind, organization_ids=[o.pk for o in orgs], payload={"order": "T7"}, key=key)


def test_an_event_is_recorded_once_per_organization_with_one_delivery_per_endpoint():
    a, _ = make_partner()
    b, _ = make_partner()
    quiet, _ = make_partner()
    a1, _ = make_endpoint(a)
    a2, _ = make_endpoint(a, url="https://erp2.example.com/hooks")
    b1, _ = make_endpoint(b, kinds=[signals.ORDER_PAID])
    make_endpoint(quiet, kinds=[signals.SESSION_CHANGED])

    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            _emit([a, b, quiet])
        _emit([a, b, quiet])  # the same key again: the same events
    # one read of the endpoints, one INSERT of the events, one of the deliveries
    assert len(queries) == 3
    assert sorted(WebhookEvent.objects.values_list("organization_id", "kind", "key")) == [
        (a.pk, "order.paid", "order.paid:7"),
        (b.pk, "order.paid", "order.paid:7"),
    ]
    assert sorted(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == sorted(
        [a1.pk, a2.pk, b1.pk]
    )


def test_nothing_is_recorded_when_the_cause_rolls_back():
    a, _ = make_partner()
    make_endpoint(a)

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        _emit([a])
        assert WebhookEvent.objects.count() == 1
        raise Refused
    assert WebhookEvent.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0
    _emit([a])
    assert WebhookEvent.objects.count() == 1


def test_nothing_is_recorded_for_nobody_listening_or_a_paused_endpoint():
    a, _ = make_partner()
    endpoint, _ = make_endpoint(a)
    endpoint.is_active = False
    endpoint.save()
    with CaptureQueriesContext(connection) as queries:
        _emit([a])
    assert len(queries) == 1
    assert WebhookEvent.objects.count() == 0


def test_an_unknown_kind_is_refused_by_the_signal():
    a, _ = make_partner()
    with pytest.raises(ValueError):
        _emit([a], kind="order.stolen")
