"""Refunds that do not go through at once: retried with a growing wait, then handed to an
operator who sends them again or settles them by hand; and the daily ledger check."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import TestCase

from tessera.accounts.tests.factories import make_user
from tessera.core.models import AuditEntry
from tessera.orders.models import LedgerEntry, LedgerKind
from tessera.payments import services
from tessera.payments.models import LedgerCheck, LedgerDifference, Payment, Refund, RefundStatus
from tessera.payments.providers import use_provider
from tessera.payments.providers.base import ProviderUnavailable
from tessera.payments.providers.sandbox import SandboxProvider
from tessera.payments.testing import pay_locally
from tessera.payments.tests.conftest import NOW
from tessera.sandbox.models import SandboxTrade

pytestmark = pytest.mark.django_db


class SandboxDown(SandboxProvider):
    """The sandbox gateway, unreachable for its first ``failures`` refund calls."""

    def __init__(self, failures: int):
        super().__init__()
        self.failures = failures
        self.calls = 0

    def refund(self, payment, amount, reason, *, refund_id):
        self.calls += 1
        if self.calls <= self.failures:
            raise ProviderUnavailable(details={"provider": "sandbox", "error": "timed out"})
        return super().refund(payment, amount, reason, refund_id=refund_id)


def paid(purchase) -> Payment:
    payment = services.start_payment(
        order=purchase.order, provider="sandbox", user=purchase.buyer, now=NOW
    )
    pay_locally(payment_id=payment.pk, now=NOW)
    return Payment.objects.get(pk=payment.pk)


def open_refund(payment, amount="380.00") -> Refund:
    with TestCase.captureOnCommitCallbacks(execute=False):
        from django.db import transaction

        with transaction.atomic():
            [refund] = services.open_refunds(
                order=payment.order, amount=Decimal(amount), reason="test", now=NOW, is_booked=False
            )
    return refund


def test_a_refund_the_provider_cannot_take_is_retried_with_a_growing_wait(purchase):
    payment = paid(purchase)
    refund = open_refund(payment)
    down = SandboxDown(failures=3)
    with use_provider(down):
        first = services.execute_refund(refund_id=refund.pk, now=NOW)
        assert (first.status, first.attempts) == (RefundStatus.PENDING, 1)
        assert first.next_attempt_at == NOW + timedelta(minutes=1)
        assert "timed out" in first.last_error
        # not due yet: the sweep leaves it alone
        assert services.retry_due_refunds(now=NOW + timedelta(seconds=30)) == {}
        second = services.retry_due_refunds(now=NOW + timedelta(minutes=1))
        assert second == {"pending": 1}
        refund.refresh_from_db()
        assert refund.next_attempt_at == NOW + timedelta(minutes=1 + 5)
        services.retry_due_refunds(now=NOW + timedelta(minutes=6))
        done = services.retry_due_refunds(now=NOW + timedelta(minutes=21))
    assert done == {"succeeded": 1}
    refund.refresh_from_db()
    assert (refund.status, refund.attempts, refund.last_error) == (RefundStatus.SUCCEEDED, 4, "")
    # booked once, and the gateway gave the money back once
    assert list(
        LedgerEntry.objects.filter(order=payment.order, kind=LedgerKind.REFUND).values_list(
            "amount", flat=True
        )
    ) == [Decimal("-380.00")]
    trade = SandboxTrade.objects.get(payment_id=payment.pk)
    assert sum(int(v) for v in trade.refunds.values()) == 38000


def test_after_the_last_attempt_an_operator_gets_it_and_can_send_it_again(purchase):
    payment = paid(purchase)
    refund = open_refund(payment)
    with use_provider(SandboxDown(failures=services.MAX_REFUND_ATTEMPTS)):
        at = NOW
        for _ in range(services.MAX_REFUND_ATTEMPTS):
            services.execute_refund(refund_id=refund.pk, now=at)
            at += timedelta(days=1)
    refund.refresh_from_db()
    assert (refund.status, refund.attempts, refund.next_attempt_at) == (
        RefundStatus.STUCK,
        services.MAX_REFUND_ATTEMPTS,
        None,
    )
    assert AuditEntry.objects.filter(action="refund.stuck").count() == 1
    assert services.retry_due_refunds(now=at + timedelta(days=30)) == {}
    assert not LedgerEntry.objects.filter(kind=LedgerKind.REFUND).exists()

    operator = make_user(is_staff=True, is_superuser=True)
    with TestCase.captureOnCommitCallbacks(execute=True):
        again = services.retry_refund(refund=refund, actor=operator, now=at)
    assert again.status == RefundStatus.PENDING
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    with pytest.raises(services.RefundNotPending):
        services.retry_refund(refund=refund, actor=operator, now=at)


def test_an_operator_settles_a_stuck_refund_by_hand_in_the_back_office(client, purchase):
    payment = paid(purchase)
    refund = open_refund(payment)
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.STUCK, last_error="closed")
    operator = make_user(is_staff=True, is_superuser=True)
    client.force_login(operator)
    url = "/admin/payments/refund/"
    # the action asks how the money went back, and an empty answer changes nothing
    page = client.post(url, {"action": "settle_by_hand", ACTION_CHECKBOX_NAME: [refund.pk]})
    assert page.status_code == 200 and b'name="reference"' in page.content
    client.post(
        url, {"action": "settle_by_hand", ACTION_CHECKBOX_NAME: [refund.pk], "reference": ""}
    )
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.STUCK

    done = client.post(
        url,
        {"action": "settle_by_hand", ACTION_CHECKBOX_NAME: [refund.pk], "reference": "bank 88120"},
    )

    assert done.status_code == 302
    refund.refresh_from_db()
    assert (refund.status, refund.provider_reference) == (
        RefundStatus.SUCCEEDED,
        "by hand: bank 88120",
    )
    assert LedgerEntry.objects.filter(order=payment.order, kind=LedgerKind.REFUND).count() == 1


def test_the_ledger_check_lists_orders_whose_ledger_differs_from_their_providers(purchase):
    payment = paid(purchase)
    with TestCase.captureOnCommitCallbacks(execute=True):
        open_refund(payment, amount="100.00")
    assert services.check_ledgers(now=NOW).differences == 0
    assert services.check_ledgers_if_due(now=NOW + timedelta(hours=23)) is None

    # a ledger entry that no provider movement explains
    LedgerEntry.objects.create(
        order=payment.order, kind=LedgerKind.FEE, amount=Decimal("7.00"), currency="CNY", at=NOW
    )
    run = services.check_ledgers_if_due(now=NOW + timedelta(hours=24))

    assert (run.orders_checked, run.differences) == (1, 1)
    [found] = LedgerDifference.objects.filter(check_run=run)
    assert (found.order_id, found.ledger_sum, found.provider_holds, found.difference) == (
        payment.order_id,
        Decimal("667.00"),
        Decimal("660.00"),
        Decimal("7.00"),
    )
    assert LedgerCheck.objects.count() == 2
