"""Exchanges racing other writers, from real threads (meant for PostgreSQL:
TESSERA_DATABASE_URL=postgres://...; on SQLite the file lock serialises them): an exchange
and another buyer after the same new seats, an exchange and a refund of the same ticket
(done at once, and through the payment of the difference). Whatever the interleaving: no
place sold twice, the loser gets a clear error with nothing changed, the ledger balanced."""

from decimal import Decimal

import pytest
from django.utils import timezone

from tessera.aftersales import exchanges, services
from tessera.aftersales.errors import (
    AlreadyRequested,
    ExchangeAlreadyRequested,
    LinesUnknown,
    OrderNotRefundable,
)
from tessera.aftersales.models import ExchangeRequest, ExchangeStatus, RefundRequest
from tessera.aftersales.tests.exchange_factories import assert_invariants, make_two_dates
from tessera.aftersales.tests.factories import bought
from tessera.aftersales.tests.test_concurrency import race
from tessera.inventory import services as inventory
from tessera.inventory.errors import PlacesUnavailable
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer
from tessera.orders import services as orders
from tessera.orders.models import LineStatus, Order, OrderStatus
from tessera.payments.models import Payment
from tessera.payments.testing import decide
from tessera.sale import services as sale
from tessera.sandbox import services as gateway
from tessera.tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 4


def test_an_exchange_and_another_buyer_after_the_same_seats_sell_each_seat_once():
    now = timezone.now()
    dates = make_two_dates(now, fee="0.00")
    for seat in range(1, ROUNDS + 1):
        fan, rival = make_buyer(), make_buyer()
        order = bought(dates.first, fan, [seat], now, section="S2")
        line = order.lines.get().pk
        wanted = [dates.unit(dates.second, "S2", seat).pk]

        def exchange(o=order, f=fan, n=line, w=wanted):
            hold = inventory.hold_units(session=dates.second, user=f, unit_ids=w, now=now)
            return exchanges.confirm_exchange(order=o, user=f, line_ids=[n], hold=hold, now=now)

        def buy(r=rival, w=wanted):
            hold = inventory.hold_units(session=dates.second, user=r, unit_ids=w, now=now)
            return orders.place_order(hold=hold, user=r, now=now)

        (done, exchange_error), (bought_order, buy_error) = race(exchange, buy)
        assert (exchange_error is None) != (buy_error is None), (exchange_error, buy_error)
        unit = InventoryUnit.objects.get(pk=wanted[0])
        if exchange_error is None:
            assert done.status == ExchangeStatus.COMPLETED
            assert isinstance(buy_error, PlacesUnavailable), buy_error
            assert unit.status == UnitStatus.SOLD
            assert Ticket.objects.get(order_line__order=done.new_order).unit_id == unit.pk
        else:
            # the fan lost: a clear error, the old ticket untouched
            assert isinstance(exchange_error, PlacesUnavailable), exchange_error
            assert str(exchange_error.message)
            assert unit.status == UnitStatus.HELD and bought_order.status == "pending_payment"
            assert not ExchangeRequest.objects.filter(order=order).exists()
            assert Ticket.objects.get(order_line_id=line).status == TicketStatus.VALID
        assert_invariants(order, *Order.objects.filter(exchange_source__order=order))


def test_an_exchange_done_at_once_and_a_refund_of_the_same_ticket_never_both():
    now = timezone.now()
    dates = make_two_dates(now, fee="0.00")
    winners = []
    for seat in range(1, ROUNDS + 1):
        fan = make_buyer()
        order = bought(dates.first, fan, [seat], now)  # 380
        line = order.lines.get().pk
        hold = inventory.hold_units(
            session=dates.second,
            user=fan,
            unit_ids=[dates.unit(dates.second, "S2", seat).pk],  # 280: 100 back
            now=now,
        )
        (_done, exchange_error), (_refund, refund_error) = race(
            lambda o=order, f=fan, n=line, h=hold: exchanges.confirm_exchange(
                order=o, user=f, line_ids=[n], hold=h, now=now
            ),
            lambda o=order, f=fan, n=line: services.request_refund(
                order=o, user=f, line_ids=[n], now=now
            ),
        )
        assert (exchange_error is None) != (refund_error is None), (exchange_error, refund_error)
        line_status = Order.objects.get(pk=order.pk).lines.get().status
        if exchange_error is None:
            assert isinstance(refund_error, LinesUnknown | AlreadyRequested | OrderNotRefundable), (
                refund_error
            )
            assert line_status == LineStatus.VOID
            assert not RefundRequest.objects.filter(order=order).exists()
            winners.append("exchange")
        else:
            assert line_status == LineStatus.REFUNDED
            assert not ExchangeRequest.objects.filter(order=order).exists()
            assert InventoryUnit.objects.get(pk=hold.units.get().pk).status == UnitStatus.HELD
            winners.append("refund")
        assert_invariants(order, *Order.objects.filter(exchange_source__order=order))
    assert len(winners) == ROUNDS


def _callbacks(payment_id):
    return gateway.build_callbacks(gateway.get_trade(payment_id))


def test_the_payment_of_a_difference_racing_a_refund_of_the_same_ticket_never_both():
    now = timezone.now()
    dates = make_two_dates(now)
    for seat in range(1, ROUNDS + 1):
        fan = make_buyer()
        order = bought(dates.first, fan, [seat], now)
        line = order.lines.get().pk
        hold = inventory.hold_units(
            session=dates.second,
            user=fan,
            unit_ids=[dates.unit(dates.second, "S1", seat).pk],
            now=now,
        )
        request = exchanges.confirm_exchange(
            order=order, user=fan, line_ids=[line], hold=hold, now=now
        )
        payment = exchanges.payment_for(request)
        decide(payment=payment, choice="pay", now=now)
        (_callback, callback_error), (_refund, refund_error) = race(
            # the provider's notification through the sale's entry point (its one-statement
            # confirmation on PostgreSQL must leave exchanges to the services' path)
            lambda p=payment: [
                sale.accept_callback(provider="sandbox", headers=cb.headers, body=cb.body, now=now)
                for cb in _callbacks(p.pk)
            ],
            lambda o=order, f=fan, n=line: services.request_refund(
                order=o, user=f, line_ids=[n], now=now
            ),
        )
        assert callback_error is None, callback_error
        request.refresh_from_db()
        new_order = Order.objects.get(pk=request.new_order_id)
        line_status = Order.objects.get(pk=order.pk).lines.get().status
        if request.status == ExchangeStatus.COMPLETED:
            assert isinstance(refund_error, LinesUnknown | AlreadyRequested | OrderNotRefundable), (
                refund_error
            )
            assert line_status == LineStatus.VOID
            assert new_order.status == OrderStatus.FULFILLED
            assert Ticket.objects.get(order_line__order=new_order).status == TicketStatus.VALID
        else:
            # the refund won: the difference's payment went back in full, no new ticket
            assert refund_error is None, refund_error
            assert line_status == LineStatus.REFUNDED
            assert new_order.status == OrderStatus.CANCELLED
            assert not Ticket.objects.filter(order_line__order=new_order).exists()
            assert Payment.objects.get(pk=payment.pk).refunds.get().amount == Decimal("110.00")
        assert_invariants(order, new_order)


def test_a_second_exchange_of_the_same_ticket_waits_and_is_refused():
    now = timezone.now()
    dates = make_two_dates(now)
    fan = make_buyer()
    order = bought(dates.first, fan, [1], now)
    line = order.lines.get().pk
    holds = [
        inventory.hold_units(
            session=dates.second, user=fan, unit_ids=[dates.unit(dates.second, "S1", n).pk], now=now
        )
        for n in (2, 3)
    ]
    results = race(
        *[
            lambda h=h: exchanges.confirm_exchange(
                order=order, user=fan, line_ids=[line], hold=h, now=now
            )
            for h in holds
        ]
    )
    errors = [e for _r, e in results if e is not None]
    assert len(errors) == 1 and isinstance(errors[0], ExchangeAlreadyRequested), results
    assert ExchangeRequest.objects.filter(order=order).count() == 1
