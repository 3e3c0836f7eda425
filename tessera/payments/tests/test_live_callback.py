"""The sandbox's real HTTP path: the buyer presses "pay" on the cashier page, the gateway POSTs
its signed callbacks with urllib to the notify endpoint of a live server, and the order is
paid and ticketed; inline (the test settings: before the cashier's answer) and from the
gateway's delivery pool (several trades at once)."""

from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from tessera.orders.models import LedgerEntry, Order, OrderStatus
from tessera.payments.models import CallbackLog, Payment
from tessera.payments.services import start_payment
from tessera.payments.testing import cashier_terms
from tessera.payments.tests.conftest import make_purchase
from tessera.sandbox.delivery import default_pool
from tessera.tickets.models import Ticket


def _press(client, payment: Payment, choice: str = "pay"):
    link = urlsplit(payment.cashier_url)
    return client.post(f"{link.path}?{link.query}", {"choice": choice})


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_callback_travels_over_http(live_server, settings, client):
    settings.TESSERA_PUBLIC_URL = live_server.url
    now = timezone.now()
    purchase = make_purchase(now=now)
    payment = start_payment(
        order=purchase.order,
        provider="sandbox",
        user=purchase.buyer,
        now=now,
        options={"duplicates": 2},
    )
    notify_url = f"{live_server.url}/api/v1/payments/callbacks/sandbox"
    assert cashier_terms(payment).notify_url == notify_url

    response = _press(client, payment)

    order = Order.objects.get(pk=purchase.order.pk)
    logs = list(CallbackLog.objects.order_by("id"))
    assert (response.status_code, response["Location"]) == (
        303,
        f"{live_server.url}/orders/{order.number}/",
    )
    assert [log.outcome for log in logs] == ["applied", "duplicate"]
    assert logs[0].headers["User-Agent"] == "Tessera-Sandbox-Gateway/1"  # it came over HTTP
    assert logs[0].headers["X-Sandbox-Signature"] == logs[1].headers["X-Sandbox-Signature"]
    assert order.status == OrderStatus.FULFILLED
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
    assert LedgerEntry.objects.filter(order=order).count() == 1
    assert Ticket.objects.filter(order_line__order=order).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_delivery_pool_pays_several_orders_at_once(live_server, settings, client):
    # given three orders with sandbox payments whose callbacks go to this live server, and
    # the gateway delivering from its pool
    settings.TESSERA_PUBLIC_URL = live_server.url
    settings.SANDBOX_DELIVERY = "pool"
    now = timezone.now()
    purchases = [make_purchase(now=now) for _ in range(3)]
    payments = [
        start_payment(order=p.order, provider="sandbox", user=p.buyer, now=now, options=options)
        for p, options in zip(
            purchases, [{}, {"duplicates": 2}, {"out_of_order": True}], strict=True
        )
    ]
    pool = default_pool()
    # The in-memory SQLite test database has one connection, shared by the live server's
    # threads, so there the deliveries go one after another; PostgreSQL takes them at once.
    one_at_a_time = connection.vendor != "postgresql"

    # when each buyer presses "pay"
    answers = []
    for payment in payments:
        answers.append(_press(client, payment).status_code)
        if one_at_a_time:
            assert pool.wait_idle(30)
    assert pool.wait_idle(30)

    # then the cashier answered at once and every callback arrived, verified and applied
    assert answers == [303, 303, 303]
    for purchase, payment, outcomes in zip(
        purchases,
        payments,
        [["applied"], ["applied", "duplicate"], ["applied", "stale"]],
        strict=True,
    ):
        order = Order.objects.get(pk=purchase.order.pk)
        logs = CallbackLog.objects.filter(payment=payment).order_by("id")
        assert [log.outcome for log in logs] == outcomes
        assert all(log.signature_valid for log in logs)
        assert order.status == OrderStatus.FULFILLED
        assert Ticket.objects.filter(order_line__order=order).count() == 2
    assert CallbackLog.objects.filter(payment=None).count() == 0
