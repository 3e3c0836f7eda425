"""The payer limit, known only when the provider's callback names the payer: a payment over
it is booked and refunded, its order not fulfilled and the fan told why."""

import pytest
from django.test import Client
from django.utils import timezone

from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.limits.models import PurchaseMark
from tessera.limits.tests.factories import set_limits
from tessera.orders.models import OrderStatus
from tessera.payments.models import CallbackLog, Payment, PaymentStatus, Refund
from tessera.payments.testing import decide
from tessera.sale import services
from tessera.sale.choices import PlaceChoice
from tessera.sale.tests.conftest import deliver
from tessera.sandbox.services import build_callbacks
from tessera.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def buy_and_pay(sale, *, quantity: int, payer: str):
    """A fan checks out ``quantity`` places, pays at the sandbox cashier from ``payer`` and
    the gateway's signed callback reaches the notify endpoint over HTTP."""
    now = timezone.now()
    fan = make_buyer(preferred_language="en")
    bought = services.checkout(
        session_id=sale.session.pk,
        user=fan,
        choice=PlaceChoice(zone_id=sale.zones["A"].pk, quantity=quantity),
        provider="sandbox",
        now=now,
    )
    trade = decide(payment=bought.payment, choice="pay", now=now, payer=payer)
    [callback] = build_callbacks(trade)
    assert deliver(Client(), callback).status_code == 200
    bought.order.refresh_from_db()
    return bought.order, Payment.objects.get(pk=bought.payment.pk)


def test_a_payer_over_its_limit_is_refunded_and_the_order_not_fulfilled():
    sale = make_sale(sections=1, rows=1, seats_per_row=10)
    set_limits(event=sale.session.event, payer_per_session=3)
    first, first_payment = buy_and_pay(sale, quantity=2, payer="alipay-2088")
    assert first.status == OrderStatus.FULFILLED
    assert first_payment.payer_id == "alipay-2088"

    over, over_payment = buy_and_pay(sale, quantity=2, payer="alipay-2088")

    assert over.status == OrderStatus.CANCELLED
    assert over.close_reason.startswith("This payment account has already paid for the most")
    assert over_payment.status == PaymentStatus.REFUNDED  # the money came and went back
    assert over_payment.payer_id == "alipay-2088"
    [refund] = Refund.objects.filter(payment=over_payment)
    assert refund.amount == over_payment.amount
    assert CallbackLog.objects.filter(payment=over_payment).get().detail == "payer_limit"
    assert Ticket.objects.filter(order_line__order=over).count() == 0
    assert Ticket.objects.filter(order_line__order=first).count() == 2
    # only the paid order's hold carries the payer's mark; no payer in clear
    marks = PurchaseMark.objects.filter(kind="payer")
    assert [m.hold_id for m in marks] == [first.hold_id]
    assert "alipay-2088" not in marks.get().key_hash
    # another payer (and the same payer within the limit) still buys
    other, _ = buy_and_pay(sale, quantity=2, payer="wechat-openid-7")
    assert other.status == OrderStatus.FULFILLED
    within, _ = buy_and_pay(sale, quantity=1, payer="alipay-2088")
    assert within.status == OrderStatus.FULFILLED


def test_the_payer_limit_counts_across_the_event_when_set_per_event():
    sale = make_sale(sections=1, rows=1, seats_per_row=10)
    set_limits(event=sale.session.event, payer_per_event=1)
    buy_and_pay(sale, quantity=1, payer="alipay-1")

    over, _ = buy_and_pay(sale, quantity=1, payer="alipay-1")

    assert over.status == OrderStatus.CANCELLED


def test_without_a_payer_limit_the_payment_is_confirmed_and_keeps_its_payer():
    """On PostgreSQL this is the one-statement confirmation (``fastpath.confirm_sale``)."""
    sale = make_sale(sections=1, rows=1, seats_per_row=10)
    set_limits(event=sale.session.event, device_per_session=0)  # a row with every limit off

    order, payment = buy_and_pay(sale, quantity=2, payer="alipay-9")
    again, _ = buy_and_pay(sale, quantity=2, payer="alipay-9")

    assert (order.status, again.status) == (OrderStatus.FULFILLED, OrderStatus.FULFILLED)
    assert payment.payer_id == "alipay-9"
    assert PurchaseMark.objects.count() == 0
