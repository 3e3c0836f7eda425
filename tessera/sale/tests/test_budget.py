"""The purchase budget: SQL statements per hot step, pinned so they cannot creep back.

Counted over real requests (Django's test client, through the middleware and the API) in
transactions of their own, as in production. ``BEGIN`` and ``COMMIT`` are counted apart, as
transactions: a step may open at most the ones pinned here. PostgreSQL runs the merged statements of
``sale.fastpath``; SQLite runs the apps' services, which cost more statements but no round
trips.
"""

import json
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tessera.inventory.tests.factories import make_buyer, make_channel, make_sale
from tessera.sale import channels
from tessera.sale.tests.conftest import gateway_callbacks

pytestmark = pytest.mark.django_db(transaction=True)

# step: (statements, transactions)
POSTGRESQL = {"checkout": (4, 1), "callback": (1, 1), "status": (0, 0), "channel_order": (3, 1)}
SQLITE = {"checkout": (45, 2), "callback": (45, 1), "status": (0, 0), "channel_order": (60, 1)}


@contextmanager
def at_most(step: str):
    """The block runs at most the step's statements and transactions."""
    statements, transactions = (POSTGRESQL if connection.vendor == "postgresql" else SQLITE)[step]
    with CaptureQueriesContext(connection) as captured:
        yield
    verbs = [q["sql"].split(None, 1)[0].upper() for q in captured.captured_queries]
    run = [v for v in verbs if v not in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert len(run) <= statements, "\n\n".join(q["sql"] for q in captured.captured_queries)
    assert verbs.count("BEGIN") <= transactions, verbs


@pytest.fixture
def sale():
    return make_sale(sections=2, rows=3, seats_per_row=10, standing_capacity=20)


def checkout(client, sale, quantity=2):
    return client.post(
        f"/api/v1/sessions/{sale.session.pk}/checkout",
        json.dumps({"zone": sale.zones["A"].pk, "quantity": quantity, "provider": "sandbox"}),
        content_type="application/json",
    ).json()


def test_a_purchase_stays_within_its_statements(sale, django_capture_on_commit_callbacks):
    fan = Client()
    fan.force_login(make_buyer())
    warm = checkout(fan, sale, quantity=1)  # the process's caches warm up
    [callback] = gateway_callbacks(warm["payment"]["id"], timezone.now())
    Client().post(
        "/api/v1/payments/callbacks/sandbox",
        callback.body,
        content_type="application/json",
        HTTP_X_SANDBOX_SIGNATURE=callback.headers["X-Sandbox-Signature"],
    )
    # the buyer's checkout call: the signed-in user, the account lock, take, record
    with at_most("checkout"):
        bought = checkout(fan, sale)
    assert bought["order"]["status"] == "pending_payment"
    [callback] = gateway_callbacks(bought["payment"]["id"], timezone.now())
    # the provider's callback: one statement sells, charges, tickets, logs and announces
    with django_capture_on_commit_callbacks(execute=True), at_most("callback"):
        answer = Client().post(
            "/api/v1/payments/callbacks/sandbox",
            callback.body,
            content_type="application/json",
            HTTP_X_SANDBOX_SIGNATURE=callback.headers["X-Sandbox-Signature"],
        )
    assert answer.status_code == 200
    # the buyer's status read: this process heard the outcome, no statement at all
    with at_most("status"):
        status = Client().get(bought["status_url"]).json()
    assert status["status"] == "fulfilled"


def test_a_channel_order_stays_within_its_statements(sale):
    channel = make_channel(organization=sale.session.event.organization)
    now = timezone.now()
    _row, key = channels.issue_key(channel=channel, name="ERP", actor=None, now=now)
    api = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    body = json.dumps({"session": sale.session.pk, "zone": sale.zones["A"].pk, "quantity": 2})

    def order(key: str):
        return api.post(
            "/api/v1/channel/orders",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
            **headers,
        )

    assert order("warm").status_code == 201  # key and signing key remembered
    # the idempotency claim, take, record-and-sell (tickets signed from memory)
    with at_most("channel_order"):
        answer = order("counted")
    assert answer.status_code == 201
    assert len(answer.json()["tickets"]) == 2
