"""The gateway's trades: decided in one statement, their callbacks, queries and refunds."""

import json
from datetime import timedelta
from uuid import UUID

import pytest

from tessera.core.errors import DomainError
from tessera.sandbox import services
from tessera.sandbox.errors import TradeClosed, TradeNotFound
from tessera.sandbox.models import SandboxTrade, SandboxTradeStatus
from tessera.sandbox.pagepay import TradeTerms
from tessera.sandbox.signing import sign
from tessera.sandbox.tests.conftest import NOW, PAYMENT_ID, make_terms

LATER = NOW + timedelta(minutes=2)


def _events(trade) -> list[tuple]:
    return [
        (e["status"], e["sequence"], e["event_at"])
        for e in (json.loads(cb.body) for cb in services.build_callbacks(trade))
    ]


def _stored(payment_id=PAYMENT_ID) -> tuple:
    return (
        SandboxTrade.objects.filter(payment_id=payment_id)
        .values_list("status", "sequence", "decided_at", "switches")
        .get()
    )


def test_pressing_pay_inserts_the_decided_trade_in_one_statement(db, django_assert_num_queries):
    terms = make_terms(switches={"duplicates": 2})

    with django_assert_num_queries(1) as captured:
        trade = services.record_choice(terms=terms, choice="pay", now=LATER)

    stored = SandboxTrade.objects.get()
    assert captured.captured_queries[0]["sql"].startswith('INSERT INTO "payments_sandboxtrade"')
    assert "ON CONFLICT" in captured.captured_queries[0]["sql"]
    assert (stored.pk, stored.reference) == (trade.pk, trade.reference)
    assert trade.reference.startswith("SBX20261122") and len(trade.reference) == 27
    assert (
        stored.payment_id,
        stored.merchant_name,
        stored.order_number,
        stored.subject,
        stored.amount_minor,
        stored.currency,
        stored.notify_url,
        stored.return_url,
        stored.switches,
        stored.status,
        stored.sequence,
        stored.created_at,
        stored.decided_at,
        stored.refunds,
    ) == (
        PAYMENT_ID,
        "星光文化",
        "T261122-K7M3QX",
        "周杰伦 2026 嘉年华 · 上海站",
        76000,
        "CNY",
        "http://127.0.0.1:8000/api/v1/payments/callbacks/sandbox",
        "http://127.0.0.1:8000/orders/T261122-K7M3QX/",
        {"duplicates": 2},
        "paid",
        2,
        LATER,
        LATER,
        {},
    )
    assert (trade.status, trade.sequence, trade.decided_at, trade.switches) == (
        "paid",
        2,
        LATER,
        {"duplicates": 2},
    )


def test_the_callback_is_signed_json_of_the_trade(db):
    trade = services.record_choice(terms=make_terms(), choice="pay", now=LATER)

    [callback] = services.build_callbacks(trade)

    assert json.loads(callback.body) == {
        "payment_id": str(PAYMENT_ID),
        "reference": trade.reference,
        "status": "succeeded",
        "amount": 76000,
        "currency": "CNY",
        "event_at": "2026-11-22T12:02:00+00:00",
        "sequence": 2,
    }
    assert callback.headers == {
        "Content-Type": "application/json",
        "X-Sandbox-Signature": sign(callback.body),
    }


def test_switches_shape_the_deliveries(db):
    terms = make_terms(switches={"duplicates": 2, "out_of_order": True})

    trade = services.record_choice(terms=terms, choice="pay", now=LATER)

    assert _events(trade) == [
        ("succeeded", 3, "2026-11-22T12:02:00+00:00"),
        ("succeeded", 3, "2026-11-22T12:02:00+00:00"),
        ("failed", 2, "2026-11-22T12:01:59+00:00"),
    ]


def test_the_fail_button_produces_one_failure(db):
    trade = services.record_choice(terms=make_terms(), choice="fail", now=LATER)

    assert trade.status == SandboxTradeStatus.FAILED
    assert _events(trade) == [("failed", 2, "2026-11-22T12:02:00+00:00")]


def test_the_fail_switch_fails_whichever_button_is_pressed(db):
    terms = make_terms(switches={"fail": True, "out_of_order": True})

    trade = services.record_choice(terms=terms, choice="pay", now=LATER)

    assert (trade.status, trade.sequence) == ("failed", 2)
    assert _events(trade) == [("failed", 2, "2026-11-22T12:02:00+00:00")]


def test_a_decided_trade_cannot_be_decided_again(db):
    first = services.record_choice(terms=make_terms(), choice="fail", now=LATER)
    before = _stored()

    with pytest.raises(TradeClosed):
        services.record_choice(terms=make_terms(), choice="pay", now=LATER + timedelta(1))

    assert _stored() == before == ("failed", 2, LATER, {})
    assert SandboxTrade.objects.get().reference == first.reference


def test_an_unknown_choice_writes_nothing(db):
    with pytest.raises(DomainError) as caught:
        services.record_choice(terms=make_terms(), choice="steal", now=LATER)

    assert str(caught.value.message) == "Unknown choice."
    assert SandboxTrade.objects.count() == 0


def test_a_trade_opened_before_the_buyer_came_is_decided_in_place(db):
    # Trades stored before cashier links carried their terms wait for the buyer.
    waiting = SandboxTrade.objects.create(
        reference="SBX20261122OLD0000000000001",
        payment_id=PAYMENT_ID,
        merchant_name="星光文化",
        order_number="T261122-K7M3QX",
        subject="周杰伦",
        amount_minor=76000,
        currency="CNY",
        notify_url="http://127.0.0.1:8000/api/v1/payments/callbacks/sandbox",
        switches={"out_of_order": True},
        created_at=NOW,
    )
    assert services.build_callbacks(waiting) == []
    assert services.query_trade(PAYMENT_ID) == "waiting"
    terms = TradeTerms.of_trade(waiting)

    trade = services.record_choice(terms=terms, choice="pay", now=LATER)

    assert SandboxTrade.objects.count() == 1
    assert (trade.pk, trade.reference, trade.created_at) == (
        waiting.pk,
        "SBX20261122OLD0000000000001",
        NOW,
    )
    assert _stored() == ("paid", 3, LATER, {"out_of_order": True})
    assert [status for status, _seq, _at in _events(trade)] == ["succeeded", "failed"]


def test_query_answers_waiting_until_the_buyer_decides(db):
    other = make_terms(payment_id=UUID(int=PAYMENT_ID.int + 1))
    before = services.query_trade(PAYMENT_ID)

    services.record_choice(terms=make_terms(), choice="pay", now=LATER)
    services.record_choice(terms=other, choice="fail", now=LATER)

    assert before == "waiting"
    assert services.query_trade(PAYMENT_ID) == "paid"
    assert services.query_trade(other.payment_id) == "failed"
    with pytest.raises(TradeNotFound):
        services.get_trade(UUID(int=PAYMENT_ID.int + 2))


def test_refunds_are_idempotent_per_number_and_bounded(db):
    missing = services.refund_trade(payment_id=PAYMENT_ID, refund_no="r0", amount_minor=100)
    services.record_choice(terms=make_terms(), choice="pay", now=LATER)

    part = services.refund_trade(payment_id=PAYMENT_ID, refund_no="r1", amount_minor=26000)
    repeat = services.refund_trade(payment_id=PAYMENT_ID, refund_no="r1", amount_minor=26000)
    rest = services.refund_trade(payment_id=PAYMENT_ID, refund_no="r2", amount_minor=50000)
    beyond = services.refund_trade(payment_id=PAYMENT_ID, refund_no="r3", amount_minor=1)
    nothing = services.refund_trade(payment_id=PAYMENT_ID, refund_no="r4", amount_minor=0)

    assert missing == (False, "trade not found")
    assert (part, repeat, rest) == ((True, ""), (True, "already refunded"), (True, ""))
    assert beyond == nothing == (False, "refund exceeds the amount paid")
    assert SandboxTrade.objects.get().refunds == {"r1": 26000, "r2": 50000}


def test_a_failed_trade_refunds_nothing(db):
    services.record_choice(terms=make_terms(), choice="fail", now=LATER)

    answer = services.refund_trade(payment_id=PAYMENT_ID, refund_no="r1", amount_minor=100)

    assert answer == (False, "trade not paid")
    assert SandboxTrade.objects.get().refunds == {}


def test_pressing_a_button_hands_the_callbacks_over_after_commit(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        trade = services.press_button(terms=make_terms(), choice="pay", now=LATER)

    assert len(after_commit) == 1
    assert SandboxTrade.objects.get().status == trade.status == SandboxTradeStatus.PAID
