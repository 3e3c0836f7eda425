"""A session on sale (two seated blocks and a standing area) and its buyers."""

import pytest
from django.utils import timezone

from tessera.core.models import AuditEntry
from tessera.inventory.models import Hold, InventoryUnit
from tessera.inventory.tests.factories import SaleSetup, make_buyer, make_sale
from tessera.orders.models import LedgerEntry, Order, OrderLine
from tessera.payments.models import Payment
from tessera.sale.choices import PlaceChoice
from tessera.tickets.models import Ticket


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def sale(db, now) -> SaleSetup:
    """Blocks S1 (zone A, ¥380) and S2 (zone B, ¥280) of 3 rows × 10 seats, and a standing
    area GA (zone GA, ¥180) of 20 places; at most 6 tickets per account."""
    return make_sale(sections=2, rows=3, seats_per_row=10, standing_capacity=20, now=now)


@pytest.fixture
def buyer(db):
    return make_buyer(email="fan@example.com", preferred_language="en")


def choose(**fields) -> PlaceChoice:
    return PlaceChoice.parse(fields)


def sale_rows(session) -> dict:
    """Everything a checkout may write, as plain values (to assert nothing changed)."""
    return {
        "units": list(
            InventoryUnit.objects.filter(session=session)
            .order_by("id")
            .values_list("id", "status", "hold_id", "order_line_id")
        ),
        "holds": Hold.objects.filter(session=session).count(),
        "orders": Order.objects.filter(session=session).count(),
        "lines": OrderLine.objects.filter(order__session=session).count(),
        "payments": Payment.objects.filter(order__session=session).count(),
        "ledger": LedgerEntry.objects.filter(order__session=session).count(),
        "tickets": Ticket.objects.filter(session=session).count(),
        "audit": AuditEntry.objects.count(),
    }


def gateway_callbacks(payment_id, now, choice: str = "pay") -> list:
    """The buyer presses ``choice`` at the sandbox cashier; the gateway's signed callbacks,
    byte for byte as it would POST them (not sent)."""
    from tessera.payments.testing import decide
    from tessera.sandbox.services import build_callbacks

    trade = decide(payment=Payment.objects.get(pk=payment_id), choice=choice, now=now)
    return build_callbacks(trade)


def deliver(client, callback):
    """POST one callback to the notify endpoint, as the gateway does."""
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in callback.headers.items()}
    headers.pop("HTTP_CONTENT_TYPE", None)
    return client.post(
        "/api/v1/payments/callbacks/sandbox",
        callback.body,
        content_type="application/json",
        **headers,
    )
