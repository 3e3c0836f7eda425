"""Concurrent duplicate deliveries of one success callback, with real threads: the payment row
lock makes exactly one of them apply."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from tessera.orders.models import LedgerEntry, Order, OrderStatus
from tessera.payments.models import CallbackLog, Payment, PaymentStatus
from tessera.payments.services import handle_callback, start_payment
from tessera.payments.testing import decide
from tessera.payments.tests.conftest import NOW, make_purchase
from tessera.sandbox.services import build_callbacks
from tessera.tickets.models import Ticket

LATER = NOW + timedelta(minutes=2)
THREADS = 8


@pytest.mark.django_db(transaction=True)
def test_eight_parallel_deliveries_of_one_success_charge_once():
    purchase = make_purchase()
    payment = start_payment(order=purchase.order, provider="sandbox", user=purchase.buyer, now=NOW)
    trade = decide(payment=payment, choice="pay", now=LATER)
    [callback] = build_callbacks(trade)
    # SQLite's in-memory test database serialises writers (and refuses concurrent ones), so
    # there the eight deliveries run one after another; PostgreSQL runs them at once.
    workers = THREADS if connection.vendor == "postgresql" else 1
    start = threading.Barrier(workers)

    def deliver(_n: int) -> str:
        try:
            start.wait(timeout=30)
            return handle_callback(
                provider="sandbox", headers=callback.headers, body=callback.body, now=LATER
            ).outcome
        finally:
            connection.close()

    with ThreadPoolExecutor(workers) as pool:
        outcomes = sorted(pool.map(deliver, range(THREADS)))

    order = Order.objects.get(pk=purchase.order.pk)
    assert outcomes == ["applied"] + ["duplicate"] * (THREADS - 1)
    assert list(LedgerEntry.objects.filter(order=order).values_list("kind", "amount")) == [
        ("charge", Decimal("760.00"))
    ]
    assert Ticket.objects.filter(order_line__order=order).count() == 2
    assert order.status == OrderStatus.FULFILLED
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
    assert CallbackLog.objects.filter(payment=payment).count() == THREADS
