"""Reconciliation: a payment whose callback never arrived is completed from the provider's own
answer, not by hand."""

from datetime import timedelta
from decimal import Decimal

import pytest

from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import LedgerEntry, Order, OrderStatus
from tessera.payments.models import CallbackLog, Payment, PaymentStatus, Refund
from tessera.payments.testing import decide
from tessera.sale import services
from tessera.sale.tests.conftest import choose
from tessera.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def checkout(sale, buyer, now, **choice):
    return services.checkout(
        session_id=sale.session.pk,
        user=buyer,
        choice=choose(**choice),
        provider="sandbox",
        now=now,
    )


def test_a_paid_trade_whose_callback_was_lost_is_completed(sale, buyer, now):
    # Given a buyer who paid at the gateway, and a callback that never arrived
    bought = checkout(sale, buyer, now, zone=sale.zones["A"].pk, quantity=2)
    payment = Payment.objects.get(pk=bought.payment.pk)
    decide(payment=payment, choice="pay", now=now + timedelta(seconds=5))
    # When reconciliation runs a minute later
    counts = services.reconcile_payments(now=now + timedelta(minutes=1))
    # Then the sale is complete as if the callback had come
    assert counts == {"asked": 1, "succeeded": 1, "failed": 0, "pending": 0, "unreachable": 0}
    order = Order.objects.get(pk=bought.order.pk)
    assert order.status == OrderStatus.FULFILLED
    assert list(order.ledger.values_list("kind", "amount")) == [("charge", Decimal("760.00"))]
    assert Ticket.objects.filter(order_line__order=order).count() == 2
    [log] = CallbackLog.objects.filter(payment_id=payment.pk)
    assert (log.outcome, log.headers) == ("applied", {"X-Tessera-Source": "reconciliation"})
    # and running it again asks nobody and changes nothing
    assert services.reconcile_payments(now=now + timedelta(minutes=10))["asked"] == 0
    assert LedgerEntry.objects.filter(order=order).count() == 1


def test_a_failed_trade_marks_the_payment_failed(sale, buyer, now):
    bought = checkout(sale, buyer, now, zone=sale.zones["A"].pk, quantity=1)
    decide(payment=Payment.objects.get(pk=bought.payment.pk), choice="fail", now=now)
    services.reconcile_payments(now=now + timedelta(minutes=1))
    assert Payment.objects.get(pk=bought.payment.pk).status == PaymentStatus.FAILED
    assert Order.objects.get(pk=bought.order.pk).status == OrderStatus.PENDING_PAYMENT


def test_an_undecided_payment_is_asked_again_only_later(sale, buyer, now):
    bought = checkout(sale, buyer, now, zone=sale.zones["A"].pk, quantity=1)
    assert services.reconcile_payments(now=now + timedelta(seconds=10))["asked"] == 0
    first = services.reconcile_payments(now=now + timedelta(minutes=1))
    assert (first["asked"], first["pending"]) == (1, 1)
    assert services.reconcile_payments(now=now + timedelta(minutes=2))["asked"] == 0
    assert services.reconcile_payments(now=now + timedelta(minutes=4))["asked"] == 1
    assert Payment.objects.get(pk=bought.payment.pk).status == PaymentStatus.CREATED
    assert services.reconcile_payments(now=now + timedelta(hours=3))["asked"] == 0


def test_a_lost_callback_for_places_taken_meanwhile_is_refunded(sale, buyer, now):
    seat = sale.seat_unit("S1", "C", 5).pk
    bought = checkout(sale, buyer, now, unit_ids=[seat])
    decide(payment=Payment.objects.get(pk=bought.payment.pk), choice="pay", now=now)
    late = bought.order.expires_at + timedelta(minutes=1)
    checkout(sale, make_buyer(), late, unit_ids=[seat])
    services.reconcile_payments(now=late + timedelta(seconds=1))
    assert Order.objects.get(pk=bought.order.pk).status == OrderStatus.CANCELLED
    assert Refund.objects.get(payment_id=bought.payment.pk).amount == Decimal("380.00")
    assert not Ticket.objects.filter(order_line__order_id=bought.order.pk).exists()
