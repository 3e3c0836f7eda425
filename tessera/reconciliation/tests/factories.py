"""A day of sales at one provider, made through the real services: orders paid, one refunded
in full (lines refunded, tickets revoked, money back at the provider), one never paid."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

from django.db import transaction
from django.test import TestCase

from tessera.catalog.tests.factories import make_event
from tessera.inventory.services import hold_units
from tessera.inventory.tests.factories import SaleSetup, make_buyer, make_sale
from tessera.orders import services as orders
from tessera.orders.models import Order
from tessera.payments import services as payments
from tessera.payments.models import Payment, Refund
from tessera.payments.providers import use_provider
from tessera.payments.providers.base import SUCCEEDED, PaymentProvider, RefundResult
from tessera.payments.testing import pay_locally
from tessera.reconciliation import generators, services
from tessera.reconciliation.parsers import BEIJING
from tessera.tickets.models import Ticket

DAY = date(2026, 11, 22)
# 10:00, 11:00 and 15:00 in Shanghai on DAY.
MORNING = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
LATER = MORNING + timedelta(hours=1)
AFTERNOON = MORNING + timedelta(hours=5)
EVENING = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai


@dataclass
class AcceptingGateway(PaymentProvider):
    """A provider that refunds whatever it is asked (Alipay or WeChat Pay, by ``name``)."""

    name: ClassVar[str] = "alipay"

    def create(self, payment, *, return_url: str, notify_url: str):
        raise NotImplementedError

    def verify_callback(self, headers, body, *, now):
        raise NotImplementedError

    def query(self, payment) -> str:
        return SUCCEEDED

    def refund(self, payment, amount, reason, *, refund_id: str) -> RefundResult:
        return RefundResult(SUCCEEDED, provider_reference=f"RF{refund_id[:24]}")

    def callback_response(self, ok: bool):
        raise NotImplementedError


class WeChatGateway(AcceptingGateway):
    name: ClassVar[str] = "wechat"


GATEWAYS = {"alipay": AcceptingGateway, "wechat": WeChatGateway}


@dataclass
class Day:
    provider: str
    sale: SaleSetup
    paid: Order  # two seats, paid in the morning
    refunded: Order  # one seat, paid, then refunded in full in the afternoon
    unpaid: Order  # one seat, a payment started and never finished
    payments: dict[str, Payment] = field(default_factory=dict)
    refund: Refund | None = None

    @property
    def organization(self):
        return self.sale.session.event.organization

    def lines(self):
        return generators.lines_from_records(provider=self.provider, day_on=DAY)

    def file(self, lines=None, *, file_format: str | None = None, **kwargs) -> bytes:
        file_format = file_format or ("wechat" if self.provider == "wechat" else "alipay")
        lines = self.lines() if lines is None else lines
        if file_format == "alipay":
            return generators.write_alipay(lines, day_on=DAY, **kwargs)
        return generators.write_wechat(lines, day_on=DAY, **kwargs)

    def reconcile(self, data: bytes | None = None, *, now: datetime = EVENING):
        services.import_statement(
            provider=self.provider, day_on=DAY, data=data or self.file(), now=now
        )
        return services.reconcile_day(provider=self.provider, day_on=DAY, now=now)


def order_of(sale: SaleSetup, seats, *, now: datetime) -> Order:
    buyer = make_buyer(preferred_language="en")
    units = sale.seat_units("S1", "A", seats)
    hold = hold_units(session=sale.session, user=buyer, unit_ids=[u.pk for u in units], now=now)
    return orders.place_order(hold=hold, user=buyer, now=now)


def pay(order: Order, *, provider: str, now: datetime) -> Payment:
    """Pay ``order`` at ``provider``: through the sandbox gateway's cashier and callback, or
    (Alipay, WeChat Pay) a payment completed as their verified callback completes it."""
    if provider == "sandbox":
        payment = payments.start_payment(order=order, provider="sandbox", user=order.user, now=now)
        pay_locally(payment_id=payment.pk, now=now)
    else:
        payment = Payment.objects.create(
            order=order,
            provider=provider,
            amount=order.total,
            currency=order.currency,
            created_at=now,
        )
        payments.complete_payment(
            payment=payment, now=now, provider_reference=f"2026112222001{payment.id.hex[:12]}"
        )
    return Payment.objects.get(pk=payment.pk)


def refund_in_full(order: Order, *, provider: str, now: datetime) -> Refund:
    """What after-sales does for a whole refund: lines refunded and their tickets revoked, the
    refund booked and sent to the provider, which returns the money."""
    with TestCase.captureOnCommitCallbacks(execute=False), transaction.atomic():
        from tessera.orders.models import Order as OrderModel
        from tessera.tickets.services import revoke_tickets

        locked = OrderModel.objects.select_for_update().get(pk=order.pk)
        line_ids = list(locked.lines.values_list("pk", flat=True))
        revoke_tickets(
            ticket_ids=list(
                Ticket.objects.filter(order_line_id__in=line_ids).values_list("pk", flat=True)
            ),
            reason="refund",
            now=now,
        )
        orders.refund_lines(
            order=locked,
            fees=dict.fromkeys(line_ids, Decimal(0)),
            reference=f"refund-{order.number}",
            reason="refund",
            now=now,
        )
        [refund] = payments.open_refunds(
            order=locked, amount=order.total, reason="refund", now=now, is_booked=True
        )
    if provider == "sandbox":
        payments.execute_refund(refund_id=refund.pk, now=now)
    else:
        with use_provider(GATEWAYS[provider]()):
            payments.execute_refund(refund_id=refund.pk, now=now)
    return Refund.objects.get(pk=refund.pk)


def make_day(provider: str = "alipay", *, organization=None) -> Day:
    event = make_event(organization=organization) if organization else None
    sale = make_sale(
        sections=1, rows=1, seats_per_row=6, now=MORNING, **({"event": event} if event else {})
    )
    paid = order_of(sale, (1, 2), now=MORNING)
    refunded = order_of(sale, (3,), now=LATER)
    unpaid = order_of(sale, (4,), now=MORNING)
    day = Day(provider=provider, sale=sale, paid=paid, refunded=refunded, unpaid=unpaid)
    day.payments["paid"] = pay(paid, provider=provider, now=MORNING)
    day.payments["refunded"] = pay(refunded, provider=provider, now=LATER)
    day.refund = refund_in_full(refunded, provider=provider, now=AFTERNOON)
    day.payments["unpaid"] = Payment.objects.create(
        order=unpaid, provider=provider, amount=unpaid.total, currency="CNY", created_at=MORNING
    )
    for name in ("paid", "refunded"):
        day.payments[name].refresh_from_db()
    day.paid.refresh_from_db()
    day.refunded.refresh_from_db()
    return day


def local(moment: datetime) -> datetime:
    return moment.astimezone(BEIJING)
