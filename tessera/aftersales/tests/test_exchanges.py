"""Exchanges through the services: to another date with a difference to pay at the sandbox
cashier, to cheaper seats with money back, even swaps, a failed payment, and everything
refused with nothing changed."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import TestCase
from django.utils import timezone

from tessera.aftersales import exchanges, services
from tessera.aftersales.errors import (
    ExchangeAlreadyRequested,
    ExchangeNotAllowed,
    ExchangeOtherEvent,
    ExchangeOtherSessionNotAllowed,
    ExchangePlacesInvalid,
    ExchangeQuoteChanged,
    ExchangeRefundPending,
    ExchangeTicketUsed,
    ExchangeTooLate,
    LinesUnknown,
    OrderNotRefundable,
)
from tessera.aftersales.models import ExchangeRequest, ExchangeStatus
from tessera.aftersales.tests.exchange_factories import assert_invariants, make_two_dates
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.checkin import services as checkin
from tessera.inventory import services as inventory
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import LedgerEntry, LineStatus, Order, OrderStatus
from tessera.orders.services import OrderNotFound
from tessera.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from tessera.payments.testing import pay_locally
from tessera.tickets.models import Revocation, Ticket, TicketStatus
from tessera.tickets.services import credential_for

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def dates(now):
    return make_two_dates(now)


@pytest.fixture
def fan():
    return make_buyer(preferred_language="en")


def hold_seats(dates, session, fan, seats, now, section="S1"):
    return inventory.hold_units(
        session=session,
        user=fan,
        unit_ids=[dates.unit(session, section, n).pk for n in seats],
        now=now,
    )


def snapshot(order: Order) -> dict:
    return {
        "order": Order.objects.filter(pk=order.pk).values().get(),
        "lines": list(order.lines.order_by("pk").values()),
        "units": list(InventoryUnit.objects.order_by("pk").values()),
        "tickets": list(Ticket.objects.order_by("pk").values()),
        "ledger": list(LedgerEntry.objects.order_by("pk").values()),
        "exchanges": ExchangeRequest.objects.count(),
        "orders": Order.objects.count(),
        "revocations": Revocation.objects.count(),
    }


def test_exchange_to_a_dearer_date_waits_for_the_difference_then_swaps_in_one_go(dates, fan, now):
    # given two 380 tickets of the first date, and two 480 seats of the second held
    order = bought(dates.first, fan, [1, 2], now)
    lines = sorted(order.lines.values_list("pk", flat=True))
    old_tickets = list(Ticket.objects.filter(order_line__order=order).order_by("pk"))
    hold = hold_seats(dates, dates.second, fan, [3, 4], now)
    # when the fan asks for a quote
    quote = exchanges.quote_exchange(order=order, user=fan, line_ids=lines, hold=hold, now=now)
    # then it is 960 − 760 + 2 × 10 to pay
    assert (quote.old_price, quote.new_price, quote.fee) == (D("760.00"), D("960.00"), D("20.00"))
    assert (quote.amount_due, quote.amount_back, quote.difference) == (
        D("220.00"),
        D("0.00"),
        D("220.00"),
    )
    # when the fan confirms it
    request = exchanges.confirm_exchange(
        order=order, user=fan, line_ids=lines, hold=hold, expected_difference="220.00", now=now
    )
    # then nothing has changed hands yet: the old tickets are valid, a payment awaits
    assert request.status == ExchangeStatus.AWAITING_PAYMENT
    assert request.stage_at(now) == "awaiting_payment"
    new_order = request.new_order
    assert (new_order.status, new_order.total, new_order.session_id) == (
        OrderStatus.PENDING_PAYMENT,
        D("220.00"),
        dates.second.pk,
    )
    assert all(
        t.status == TicketStatus.VALID
        for t in Ticket.objects.filter(pk__in=[t.pk for t in old_tickets])
    )
    payment = exchanges.payment_for(request)
    assert payment.amount == D("220.00") and payment.cashier_url
    # when the fan pays at the sandbox cashier
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=payment.pk, now=now)
    # then the swap is done: old lines void, their places free, old tickets revoked, new ones
    request.refresh_from_db()
    assert request.status == ExchangeStatus.COMPLETED
    assert set(order.lines.values_list("status", flat=True)) == {LineStatus.VOID}
    for seat in (1, 2):
        assert dates.unit(dates.first.session, "S1", seat).status == UnitStatus.AVAILABLE
    assert {t.status for t in Ticket.objects.filter(pk__in=[t.pk for t in old_tickets])} == {
        TicketStatus.REVOKED
    }
    new_tickets = list(Ticket.objects.filter(order_line__order=new_order).order_by("pk"))
    assert [t.unit_id for t in new_tickets] == [
        dates.unit(dates.second, "S1", 3).pk,
        dates.unit(dates.second, "S1", 4).pk,
    ]
    assert [t.holder_name for t in new_tickets] == ["Fan 1", "Fan 2"]
    assert Order.objects.get(pk=new_order.pk).status == OrderStatus.FULFILLED
    # the old order keeps its 760 (the fee 20 of it kept, 740 carried), the new one its 220
    assert sorted(LedgerEntry.objects.filter(order=order).values_list("kind", "amount")) == [
        ("charge", D("740.00")),
        ("charge", D("760.00")),
        ("fee", D("20.00")),
        ("refund", D("-760.00")),
    ]
    assert list(LedgerEntry.objects.filter(order=new_order).values_list("kind", "amount")) == [
        ("charge", D("220.00"))
    ]
    assert_invariants(order, new_order)
    # and the old credential is refused at the gate
    device, _token = checkin.register_device(
        organization=dates.first.session.event.organization, name="gate", now=now
    )
    result = checkin.scan_online(
        device=device,
        session=dates.first.session,
        gate_id=None,
        direction="entry",
        text=credential_for(ticket=old_tickets[0], now=now),
        scan_uuid=uuid.uuid4(),
        now=dates.first.session.starts_at - timedelta(hours=1),
    )
    assert result.reason != "valid"


def test_exchange_to_cheaper_seats_is_done_at_once_and_refunds_the_difference(dates, fan, now):
    # given one 380 ticket; a 280 seat of the same session held
    order = bought(dates.first, fan, [1], now)
    line = order.lines.get()
    hold = hold_seats(dates, dates.first.session, fan, [2], now, section="S2")
    # when the fan confirms (380 − 280 − 10 = 90 back)
    with TestCase.captureOnCommitCallbacks(execute=True):
        request = exchanges.confirm_exchange(
            order=order,
            user=fan,
            line_ids=[line.pk],
            hold=hold,
            expected_difference="-90.00",
            now=now,
        )
    # then it is done at once, with 90 refunded through the provider
    assert request.status == ExchangeStatus.COMPLETED
    assert (request.amount_due, request.amount_back) == (D("0.00"), D("90.00"))
    refund = Refund.objects.get(exchanges=request)
    assert (refund.amount, refund.status, refund.is_booked) == (
        D("90.00"),
        RefundStatus.SUCCEEDED,
        True,
    )
    new_order = Order.objects.get(pk=request.new_order_id)
    assert new_order.status == OrderStatus.FULFILLED and new_order.total == D("0.00")
    assert Payment.objects.filter(order=new_order).count() == 0
    assert Ticket.objects.get(order_line__order=new_order).status == TicketStatus.VALID
    assert Ticket.objects.get(order_line=line).status == TicketStatus.REVOKED
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    assert_invariants(order, new_order)


def test_an_even_exchange_swaps_at_once_without_money(now, fan):
    dates = make_two_dates(now, fee="0.00")
    order = bought(dates.first, fan, [1], now, section="S2")
    line = order.lines.get()
    hold = hold_seats(dates, dates.second, fan, [5], now, section="S2")
    quote = exchanges.quote_exchange(order=order, user=fan, line_ids=[line.pk], hold=hold, now=now)
    assert quote.difference == D("0.00")
    request = exchanges.confirm_exchange(
        order=order, user=fan, line_ids=[line.pk], hold=hold, expected_difference="0", now=now
    )
    assert request.status == ExchangeStatus.COMPLETED
    assert not Refund.objects.exists() or not Refund.objects.filter(exchanges=request).exists()
    assert dates.unit(dates.second, "S2", 5).status == UnitStatus.SOLD
    assert dates.unit(dates.first.session, "S2", 1).status == UnitStatus.AVAILABLE
    assert_invariants(order, request.new_order)


def refund_everything(order: Order, fan, now) -> "services.RefundRequest":
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.request_refund(order=order, user=fan, line_ids=None, now=now)


def test_tickets_received_in_an_even_exchange_refund_from_the_old_orders_payment(now, fan):
    # given a 280 ticket swapped evenly for another date: the new order has no payment
    dates = make_two_dates(now, fee="0.00")
    order = bought(dates.first, fan, [1], now, section="S2")
    old_payment = Payment.objects.get(order=order)
    hold = hold_seats(dates, dates.second, fan, [5], now, section="S2")
    request = exchanges.confirm_exchange(
        order=order, user=fan, line_ids=[order.lines.get().pk], hold=hold, now=now
    )
    new_order = request.new_order
    assert not Payment.objects.filter(order=new_order).exists()
    # when the fan refunds the new ticket (the policy keeps no fee)
    assert services.quote_refund(order=new_order, line_ids=None, now=now).amount == D("280.00")
    refund_request = refund_everything(new_order, fan, now)
    # then the 280 go back through the first order's payment, once
    refund = Refund.objects.get(requests=refund_request)
    assert (refund.payment_id, refund.amount, refund.status) == (
        old_payment.pk,
        D("280.00"),
        RefundStatus.SUCCEEDED,
    )
    assert Order.objects.get(pk=new_order.pk).status == OrderStatus.REFUNDED
    assert Ticket.objects.get(order_line__order=new_order).status == TicketStatus.REVOKED
    assert dates.unit(dates.second, "S2", 5).status == UnitStatus.AVAILABLE
    # and each order's ledger still sums to what its provider holds (nothing, now)
    assert_invariants(order, new_order)
    assert services.carried_left(request) == D("0.00")


def test_tickets_received_in_a_dearer_exchange_refund_from_both_payments(dates, fan, now):
    # given a 380 ticket exchanged for a 480 one, 100 + 10 fee paid at the cashier
    order = bought(dates.first, fan, [1], now)
    hold = hold_seats(dates, dates.second, fan, [3], now)
    request = exchanges.confirm_exchange(
        order=order, user=fan, line_ids=[order.lines.get().pk], hold=hold, now=now
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=exchanges.payment_for(request).pk, now=now)
    new_order = Order.objects.get(pk=request.new_order_id)
    new_payment = Payment.objects.get(order=new_order, status=PaymentStatus.SUCCEEDED)
    assert new_payment.amount == D("110.00")
    # when the fan refunds the 480 ticket
    refund_request = refund_everything(new_order, fan, now)
    # then its own payment gives back first, the first order's payment the rest
    given = {
        refund.payment_id: refund.amount
        for refund in Refund.objects.filter(requests=refund_request)
    }
    old_payment = Payment.objects.get(order=order)
    assert sum(given.values()) == refund_request.amount
    assert given[new_payment.pk] == D("110.00")
    assert given[old_payment.pk] == refund_request.amount - D("110.00")
    assert all(
        r.status == RefundStatus.SUCCEEDED for r in Refund.objects.filter(requests=refund_request)
    )
    assert_invariants(order, new_order)


def test_tickets_exchanged_twice_refund_along_the_chain(now, fan):
    # given a 280 ticket swapped evenly twice (first date → second → back to the first)
    dates = make_two_dates(now, fee="0.00")
    order = bought(dates.first, fan, [1], now, section="S2")
    first = exchanges.confirm_exchange(
        order=order,
        user=fan,
        line_ids=[order.lines.get().pk],
        hold=hold_seats(dates, dates.second, fan, [5], now, section="S2"),
        now=now,
    )
    middle = first.new_order
    second = exchanges.confirm_exchange(
        order=middle,
        user=fan,
        line_ids=[middle.lines.get().pk],
        hold=hold_seats(dates, dates.first.session, fan, [6], now, section="S2"),
        now=now,
    )
    last = second.new_order
    # when the last ticket is refunded
    refund_request = refund_everything(last, fan, now)
    # then the money comes from the only payment there ever was, the first order's
    refund = Refund.objects.get(requests=refund_request)
    assert (refund.payment.order_id, refund.amount) == (order.pk, D("280.00"))
    assert_invariants(order, middle, last)
    # and a second refund of it is refused: nothing is left to give
    with pytest.raises(OrderNotRefundable):
        services.request_refund(order=last, user=fan, line_ids=None, now=now)
    assert_invariants(order, middle, last)


def test_a_failed_payment_changes_nothing_and_the_old_tickets_stay_valid(dates, fan, now):
    order = bought(dates.first, fan, [1], now)
    line = order.lines.get()
    hold = hold_seats(dates, dates.second, fan, [3], now)
    request = exchanges.confirm_exchange(
        order=order, user=fan, line_ids=[line.pk], hold=hold, now=now
    )
    payment = exchanges.payment_for(request)
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=payment.pk, now=now, choice="fail")
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.FAILED
    request.refresh_from_db()
    assert request.status == ExchangeStatus.AWAITING_PAYMENT
    assert Ticket.objects.get(order_line=line).status == TicketStatus.VALID
    assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLED
    assert dates.unit(dates.second, "S1", 3).status == UnitStatus.HELD
    # once the hold runs out the exchange has failed, and the tickets may be exchanged again
    later = hold.expires_at + timedelta(seconds=1)
    assert request.stage_at(later) == "failed"
    again = hold_seats(dates, dates.second, fan, [4], later)
    assert exchanges.quote_exchange(
        order=order, user=fan, line_ids=[line.pk], hold=again, now=later
    ).amount_due == D("110.00")
    assert_invariants(order)


def test_a_second_try_after_a_failed_payment_opens_a_new_payment(dates, fan, now):
    order = bought(dates.first, fan, [1], now)
    hold = hold_seats(dates, dates.second, fan, [3], now)
    request = exchanges.confirm_exchange(
        order=order, user=fan, line_ids=[order.lines.get().pk], hold=hold, now=now
    )
    first = exchanges.payment_for(request)
    assert exchanges.pay_difference(request=request, user=fan, now=now) == first
    pay_locally(payment_id=first.pk, now=now, choice="fail")
    second = exchanges.pay_difference(request=request, user=fan, now=now)
    assert second.pk != first.pk and second.amount == D("110.00")
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=second.pk, now=now)
    assert ExchangeRequest.objects.get(pk=request.pk).status == ExchangeStatus.COMPLETED


def test_a_refund_of_the_line_before_the_payment_refunds_the_payment_instead(dates, fan, now):
    # given an exchange awaiting its payment
    order = bought(dates.first, fan, [1], now)
    line = order.lines.get()
    hold = hold_seats(dates, dates.second, fan, [3], now)
    request = exchanges.confirm_exchange(
        order=order, user=fan, line_ids=[line.pk], hold=hold, now=now
    )
    # when the fan refunds the ticket meanwhile, then pays the difference
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.request_refund(order=order, user=fan, line_ids=[line.pk], now=now)
    payment = exchanges.payment_for(request)
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=payment.pk, now=now)
    # then the exchange did not happen and the payment went back in full
    request.refresh_from_db()
    assert request.status == ExchangeStatus.AWAITING_PAYMENT
    new_order = Order.objects.get(pk=request.new_order_id)
    assert new_order.status == OrderStatus.CANCELLED
    assert request.stage_at(now) == "failed"
    assert Refund.objects.get(payment=payment).amount == D("110.00")
    assert not Ticket.objects.filter(order_line__order=new_order).exists()
    assert Order.objects.get(pk=order.pk).lines.get().status == LineStatus.REFUNDED
    assert_invariants(order, new_order)


def test_refusals_change_nothing(dates, fan, now):
    order = bought(dates.first, fan, [1, 2], now)
    lines = sorted(order.lines.values_list("pk", flat=True))
    hold = hold_seats(dates, dates.second, fan, [3, 4], now)
    other = make_buyer()
    theirs = hold_seats(dates, dates.second, other, [5, 6], now)
    elsewhere = make_sale(sections=1, rows=1, seats_per_row=2)
    foreign = inventory.hold_quantity(
        session=elsewhere.session, user=fan, zone=elsewhere.zones["A"], quantity=2, now=now
    )
    before = snapshot(order)
    # someone else's tickets
    with pytest.raises(OrderNotFound):
        exchanges.confirm_exchange(order=order, user=other, line_ids=lines, hold=hold, now=now)
    # unknown or repeated lines, or fewer places than tickets
    with pytest.raises(LinesUnknown):
        exchanges.confirm_exchange(
            order=order, user=fan, line_ids=[lines[0], lines[0]], hold=hold, now=now
        )
    with pytest.raises(LinesUnknown):
        exchanges.confirm_exchange(order=order, user=fan, line_ids=["x"], hold=hold, now=now)
    with pytest.raises(ExchangePlacesInvalid):
        exchanges.confirm_exchange(order=order, user=fan, line_ids=lines[:1], hold=hold, now=now)
    # someone else's hold
    with pytest.raises(ExchangePlacesInvalid):
        exchanges.confirm_exchange(order=order, user=fan, line_ids=lines, hold=theirs, now=now)
    # a difference that is not the one shown
    with pytest.raises(ExchangeQuoteChanged) as refused:
        exchanges.confirm_exchange(
            order=order, user=fan, line_ids=lines, hold=hold, expected_difference="1.00", now=now
        )
    assert refused.value.details["difference"] == "220.00"
    # places of another event
    with pytest.raises(ExchangeOtherEvent):
        exchanges.confirm_exchange(order=order, user=fan, line_ids=lines, hold=foreign, now=now)
    # past the window (24 h before the start)
    late = dates.first.session.starts_at - timedelta(hours=23)
    with pytest.raises(ExchangeTooLate):
        exchanges.quote_exchange(order=order, user=fan, line_ids=lines, hold=hold, now=late)
    assert snapshot(order) == before


def test_policy_refusals(now, fan):
    dates = make_two_dates(now, other_sessions=False)
    order = bought(dates.first, fan, [1], now)
    line = order.lines.get()
    hold = hold_seats(dates, dates.second, fan, [3], now)
    with pytest.raises(ExchangeOtherSessionNotAllowed):
        exchanges.quote_exchange(order=order, user=fan, line_ids=[line.pk], hold=hold, now=now)
    assert [s.pk for s in exchanges.sessions_for_exchange(order, now)] == [dates.first.session.pk]
    catalog.set_policy(event=dates.first.session.event, actor=None, now=now, is_exchangeable=False)
    with pytest.raises(ExchangeNotAllowed):
        exchanges.quote_exchange(order=order, user=fan, line_ids=[line.pk], hold=hold, now=now)


def test_a_used_ticket_a_pending_refund_and_a_live_exchange_are_refused(dates, fan, now):
    order = bought(dates.first, fan, [1, 2, 3], now)
    first, second, third = sorted(order.lines.values_list("pk", flat=True))
    # a ticket that entered at the gate
    ticket = Ticket.objects.get(order_line_id=first)
    device, _token = checkin.register_device(
        organization=dates.first.session.event.organization, name="gate", now=now
    )
    checkin.scan_online(
        device=device,
        session=dates.first.session,
        gate_id=None,
        direction="entry",
        text=credential_for(ticket=ticket, now=now),
        scan_uuid=uuid.uuid4(),
        now=dates.first.session.starts_at - timedelta(hours=3),
    )
    hold = hold_seats(dates, dates.second, fan, [4], now)
    with pytest.raises(ExchangeTicketUsed):
        exchanges.quote_exchange(order=order, user=fan, line_ids=[first], hold=hold, now=now)
    # a refund waiting for review
    catalog.set_policy(
        event=dates.first.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        refunds_need_review=True,
        is_exchangeable=True,
    )
    services.request_refund(order=order, user=fan, line_ids=[second], now=now)
    with pytest.raises(ExchangeRefundPending):
        exchanges.quote_exchange(order=order, user=fan, line_ids=[second], hold=hold, now=now)
    # an exchange awaiting its payment
    exchanges.confirm_exchange(order=order, user=fan, line_ids=[third], hold=hold, now=now)
    again = hold_seats(dates, dates.second, fan, [5], now)
    with pytest.raises(ExchangeAlreadyRequested):
        exchanges.quote_exchange(order=order, user=fan, line_ids=[third], hold=again, now=now)


def test_the_same_idempotency_key_answers_the_same_exchange(dates, fan, now):
    order = bought(dates.first, fan, [1], now)
    line = order.lines.get()
    hold = hold_seats(dates, dates.second, fan, [3], now)
    first = exchanges.confirm_exchange(
        order=order, user=fan, line_ids=[line.pk], hold=hold, idempotency_key="k1", now=now
    )
    again = exchanges.confirm_exchange(
        order=order, user=fan, line_ids=[line.pk], hold=hold, idempotency_key="k1", now=now
    )
    assert first.pk == again.pk and ExchangeRequest.objects.count() == 1


@pytest.mark.parametrize(("lang", "whole", "part"), [("en", "Exchanged", "Partly exchanged")])
def test_the_old_order_reads_exchanged_not_refunded(now, fan, lang, whole, part):
    from django.test import Client

    dates = make_two_dates(now, fee="0.00")
    order = bought(dates.first, fan, [1, 2], now, section="S2")
    first, second = sorted(order.lines.values_list("pk", flat=True))
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(fan)
    exchanges.confirm_exchange(
        order=order,
        user=fan,
        line_ids=[first],
        hold=hold_seats(dates, dates.second, fan, [5], now, section="S2"),
        now=now,
    )
    page = client.get(f"/orders/{order.number}/").text
    assert f'id="order-status">{part}<' in page
    assert Order.objects.get(pk=order.pk).get_status_display() == "Partially refunded"
    exchanges.confirm_exchange(
        order=order,
        user=fan,
        line_ids=[second],
        hold=hold_seats(dates, dates.second, fan, [6], now, section="S2"),
        now=now,
    )
    page = client.get(f"/orders/{order.number}/").text
    assert f'id="order-status">{whole}<' in page
    assert "status-exchanged" in client.get("/orders/").text


def test_the_seat_map_of_an_exchange_leads_its_hold_to_the_quote(dates, fan, now):
    import json

    from django.test import Client

    order = bought(dates.first, fan, [1, 2], now)
    lines = sorted(order.lines.values_list("pk", flat=True))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(fan)
    start = f"/exchanges/orders/{order.number}/"
    # no ticket chosen: the form says so
    answer = client.post(start, {"action": f"map:{dates.second.pk}"})
    assert answer.status_code == 400 and "Choose the tickets to exchange." in answer.text
    # two tickets chosen: the map of the second date, for exactly two seats
    answer = client.post(start, {"action": f"map:{dates.second.pk}", "lines": lines})
    url = f"/exchanges/orders/{order.number}/map/{dates.second.pk}/?lines={lines[0]},{lines[1]}"
    assert answer.status_code == 302 and answer["Location"] == url
    page = client.get(url).text
    config = json.loads(
        page.split('<script id="seatmap-config" type="application/json">')[1].split("</script>")[0]
    )
    assert config["maxSeats"] == 2
    assert config["next"] == (
        f"/exchanges/orders/{order.number}/quote/{{hold}}/?lines={lines[0]},{lines[1]}"
    )
    # another fan's order, a line of another order, an unknown session: not found
    other = make_buyer()
    stranger = Client()
    stranger.force_login(other)
    assert stranger.get(url).status_code == 404
    assert (
        client.get(f"/exchanges/orders/{order.number}/map/999999/?lines={lines[0]}").status_code
        == 404
    )
    assert (
        client.get(
            f"/exchanges/orders/{order.number}/map/{dates.second.pk}/?lines={lines[1] + 1000}"
        ).status_code
        == 404
    )
