"""The sandbox's real HTTP path: the buyer presses "pay" on the cashier page, the gateway's
task (run at once by the test settings' immediate backend) POSTs the signed callback with
urllib to the notify endpoint of a live server, and the order is paid and ticketed."""

import pytest
from django.utils import timezone

from tessera.orders.models import LedgerEntry, Order, OrderStatus
from tessera.payments.models import CallbackLog, Payment, SandboxTrade
from tessera.payments.services import start_payment
from tessera.payments.tests.conftest import make_purchase
from tessera.tickets.models import Ticket


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
    assert SandboxTrade.objects.get(payment_id=payment.id).notify_url == notify_url

    response = client.post(f"/pay/sandbox/{payment.id}/", {"choice": "pay"})

    order = Order.objects.get(pk=purchase.order.pk)
    logs = list(CallbackLog.objects.order_by("id"))
    assert response.status_code == 302
    assert [log.outcome for log in logs] == ["applied", "duplicate"]
    assert logs[0].headers["User-Agent"].startswith("Python-urllib/")
    assert logs[0].headers["X-Sandbox-Signature"] == logs[1].headers["X-Sandbox-Signature"]
    assert order.status == OrderStatus.FULFILLED
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
    assert LedgerEntry.objects.filter(order=order).count() == 1
    assert Ticket.objects.filter(order_line__order=order).count() == 2
