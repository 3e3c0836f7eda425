"""The sandbox gateway: its signatures, its switches, its cashier page and its refunds."""

import json
from datetime import timedelta

import pytest
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from tessera.payments import sandbox_gateway, views
from tessera.payments.models import Payment, SandboxTrade, SandboxTradeStatus
from tessera.payments.providers import get_provider
from tessera.payments.providers.base import CallbackForged
from tessera.payments.services import start_payment
from tessera.payments.tests.conftest import NOW

LATER = NOW + timedelta(minutes=2)


@pytest.fixture
def payment(purchase) -> Payment:
    return start_payment(order=purchase.order, provider="sandbox", user=purchase.buyer, now=NOW)


def _start(purchase, **options) -> Payment:
    return start_payment(
        order=purchase.order, provider="sandbox", user=purchase.buyer, now=NOW, options=options
    )


def _events(trade) -> list[dict]:
    return [json.loads(cb.body) for cb in sandbox_gateway.build_callbacks(trade)]


def test_the_callback_is_signed_json_of_the_trade(payment):
    trade = sandbox_gateway.record_choice(payment_id=payment.id, choice="pay", now=LATER)

    [callback] = sandbox_gateway.build_callbacks(trade)

    assert json.loads(callback.body) == {
        "payment_id": str(payment.id),
        "reference": trade.reference,
        "status": "succeeded",
        "amount": 76000,
        "currency": "CNY",
        "event_at": "2026-11-22T12:02:00+00:00",
        "sequence": 2,
    }
    assert callback.headers["X-Sandbox-Signature"] == sandbox_gateway.sign(callback.body)
    assert len(callback.headers["X-Sandbox-Signature"]) == 64


def test_the_merchant_side_verifies_what_the_gateway_signs(payment):
    trade = sandbox_gateway.record_choice(payment_id=payment.id, choice="pay", now=LATER)
    [callback] = sandbox_gateway.build_callbacks(trade)
    provider = get_provider("sandbox")

    data = provider.verify_callback(
        {"x-sandbox-signature": callback.headers["X-Sandbox-Signature"]}, callback.body, now=LATER
    )

    assert (data.payment_id, data.status, data.amount_minor, data.sequence) == (
        str(payment.id),
        "succeeded",
        76000,
        2,
    )
    with pytest.raises(CallbackForged):
        provider.verify_callback(
            callback.headers, callback.body.replace(b"76000", b"76001"), now=LATER
        )
    with pytest.raises(CallbackForged):
        provider.verify_callback({}, callback.body, now=LATER)


def test_a_different_secret_key_makes_the_signature_forged(payment, settings):
    trade = sandbox_gateway.record_choice(payment_id=payment.id, choice="pay", now=LATER)
    [callback] = sandbox_gateway.build_callbacks(trade)
    settings.SECRET_KEY = "another-installation-" + "x" * 40

    with pytest.raises(CallbackForged):
        get_provider("sandbox").verify_callback(callback.headers, callback.body, now=LATER)


def test_a_signed_but_malformed_body_is_refused():
    body = b'{"status":"succeeded"}'

    with pytest.raises(CallbackForged) as caught:
        get_provider("sandbox").verify_callback(
            {"X-Sandbox-Signature": sandbox_gateway.sign(body)}, body, now=LATER
        )

    assert caught.value.reason == "malformed body"


def test_switches_shape_the_deliveries(purchase):
    payment = _start(purchase, duplicates=2, out_of_order=True)

    trade = sandbox_gateway.record_choice(payment_id=payment.id, choice="pay", now=LATER)

    assert [(e["status"], e["sequence"], e["event_at"]) for e in _events(trade)] == [
        ("succeeded", 3, "2026-11-22T12:02:00+00:00"),
        ("succeeded", 3, "2026-11-22T12:02:00+00:00"),
        ("failed", 2, "2026-11-22T12:01:59+00:00"),
    ]


def test_the_fail_button_produces_one_failure(payment):
    trade = sandbox_gateway.record_choice(payment_id=payment.id, choice="fail", now=LATER)

    assert trade.status == SandboxTradeStatus.FAILED
    assert [(e["status"], e["sequence"]) for e in _events(trade)] == [("failed", 2)]


def test_a_decided_trade_cannot_be_decided_again(payment):
    sandbox_gateway.record_choice(payment_id=payment.id, choice="fail", now=LATER)

    with pytest.raises(sandbox_gateway.TradeClosed):
        sandbox_gateway.record_choice(payment_id=payment.id, choice="pay", now=LATER)

    trade = SandboxTrade.objects.get(payment_id=payment.id)
    assert (trade.status, trade.sequence, trade.decided_at) == ("failed", 2, LATER)


def test_a_waiting_trade_sends_nothing(payment):
    assert sandbox_gateway.build_callbacks(SandboxTrade.objects.get(payment_id=payment.id)) == []


def test_pressing_a_button_schedules_the_delivery_after_commit(
    payment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sandbox_gateway.press_button(payment_id=payment.id, choice="pay", now=LATER)

    assert len(callbacks) == 1
    assert SandboxTrade.objects.get(payment_id=payment.id).status == SandboxTradeStatus.PAID


def test_delay_seconds_defers_the_task_on_a_backend_that_can(
    purchase, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    payment = _start(purchase, delay_seconds=45)

    with django_capture_on_commit_callbacks(execute=True):
        trade = sandbox_gateway.press_button(payment_id=payment.id, choice="pay", now=LATER)

    queued = DBTaskResult.objects.get()
    assert queued.task_path == "tessera.payments.tasks.deliver_sandbox_callbacks"
    assert queued.args_kwargs == {"args": [trade.reference], "kwargs": {}}
    assert queued.run_after == LATER + timedelta(seconds=45)


def test_refunds_are_idempotent_per_number_and_bounded(payment):
    sandbox_gateway.record_choice(payment_id=payment.id, choice="pay", now=LATER)
    provider = get_provider("sandbox")

    first = provider.refund(payment, payment.amount, "late", refund_id="r1")
    repeat = provider.refund(payment, payment.amount, "late", refund_id="r1")
    beyond = provider.refund(payment, payment.amount, "late", refund_id="r2")

    assert (first.status, repeat.status, repeat.detail) == (
        "succeeded",
        "succeeded",
        "already refunded",
    )
    assert (beyond.status, beyond.detail) == ("failed", "refund exceeds the amount paid")
    assert SandboxTrade.objects.get(payment_id=payment.id).refunds == {"r1": 76000}


def test_query_reports_the_trade_state(payment):
    provider = get_provider("sandbox")
    assert provider.query(payment) == "pending"

    sandbox_gateway.record_choice(payment_id=payment.id, choice="pay", now=LATER)

    assert provider.query(payment) == "succeeded"


# -- the cashier page ------------------------------------------------------------------------------


def test_the_cashier_shows_the_trade_and_a_qr_code(client, payment, purchase):
    response = client.get(f"/pay/sandbox/{payment.id}/", HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<p class="amount" data-testid="amount">¥760.00</p>' in html
    assert f'data-testid="order-number">{purchase.order.number}</dd>' in html
    organizer = purchase.sale.session.event.organization
    assert f'<h1 id="cashier-title" class="merchant">{organizer.name_en}</h1>' in html
    with translation.override("en"):
        qr = views._qr_svg(f"http://127.0.0.1:8000/pay/sandbox/{payment.id}/")
    assert qr.startswith('<svg viewBox="0 0 ') and qr in html  # the QR of the cashier URL
    assert 'name="choice" value="pay"' in html
    assert 'name="choice" value="fail"' in html
    assert 'class="site-header"' not in html  # the gateway's page, not the shop's


def test_pressing_pay_on_the_cashier_records_the_choice(
    client, payment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/pay/sandbox/{payment.id}/", {"choice": "pay"})

    assert (response.status_code, response["Location"]) == (302, f"/pay/sandbox/{payment.id}/")
    assert SandboxTrade.objects.get(payment_id=payment.id).status == SandboxTradeStatus.PAID
    assert len(callbacks) == 1
    page = client.get(f"/pay/sandbox/{payment.id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Payment complete. The shop is being notified." in page
    assert 'name="choice"' not in page


def test_pressing_twice_changes_nothing_and_says_so(client, payment):
    client.post(f"/pay/sandbox/{payment.id}/", {"choice": "fail"})

    response = client.post(
        f"/pay/sandbox/{payment.id}/", {"choice": "pay"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert SandboxTrade.objects.get(payment_id=payment.id).status == SandboxTradeStatus.FAILED
    assert (
        "This payment has already been completed at the sandbox gateway."
        in response.content.decode()
    )


def test_an_unknown_choice_changes_nothing(client, payment):
    client.post(f"/pay/sandbox/{payment.id}/", {"choice": "steal"})

    assert SandboxTrade.objects.get(payment_id=payment.id).status == SandboxTradeStatus.WAITING


def test_an_unknown_trade_is_404(client, db):
    response = client.get("/pay/sandbox/00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404
