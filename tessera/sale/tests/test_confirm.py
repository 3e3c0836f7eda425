"""The confirmation of a payment from the provider's callback (T2): one statement on
PostgreSQL, the payments services everywhere else and for every case that is not a plain,
timely success. Both must leave the same rows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from tessera.core.models import AuditEntry
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.orders import changes
from tessera.orders.models import LedgerEntry, Order, OrderStatus
from tessera.payments.models import CallbackLog, Payment, PaymentStatus, Refund
from tessera.sale import services
from tessera.sale.tests.conftest import choose, deliver, gateway_callbacks
from tessera.tickets.models import SessionKey, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway():
    return Client()


def checkout(sale, buyer, now, **choice):
    return services.checkout(
        session_id=sale.session.pk,
        user=buyer,
        choice=choose(**choice),
        provider="sandbox",
        attendees=choice.pop("attendees", None),
        now=now,
    )


def test_a_timely_payment_sells_the_places_and_issues_the_tickets(
    sale, buyer, gateway, now, django_capture_on_commit_callbacks
):
    # Given an order of two seats awaiting payment
    bought = checkout(sale, buyer, now, unit_ids=[u.pk for u in sale.seat_units("S1", "B", [1, 2])])
    # When the gateway reports the payment a minute later
    later = now + timedelta(minutes=1)
    [callback] = gateway_callbacks(bought.payment.pk, later)
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(gateway, callback)
    # Then it is acknowledged as the sandbox expects
    assert (response.status_code, response.json()) == (200, {"code": "SUCCESS"})
    order = Order.objects.get(pk=bought.order.pk)
    assert order.status == OrderStatus.FULFILLED
    assert order.paid_at is not None and order.paid_at == order.fulfilled_at
    payment = Payment.objects.get(pk=bought.payment.pk)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.provider_reference.startswith("SBX")
    assert Hold.objects.get(pk=order.hold_id).status == HoldStatus.SOLD
    lines = list(order.lines.order_by("id"))
    units = {u.pk: u for u in InventoryUnit.objects.filter(pk__in=[ln.unit_id for ln in lines])}
    assert [(units[ln.unit_id].status, units[ln.unit_id].order_line_id) for ln in lines] == [
        (UnitStatus.SOLD, ln.pk) for ln in lines
    ]
    assert {u.hold_expires_at for u in units.values()} == {None}
    # one charge of the total, one valid ticket per line held by the buyer
    assert list(LedgerEntry.objects.filter(order=order).values_list("kind", "amount")) == [
        ("charge", Decimal("760.00"))
    ]
    tickets = list(Ticket.objects.filter(order_line__order=order).order_by("id"))
    assert [(t.order_line_id, t.unit_id, t.status, t.version) for t in tickets] == [
        (ln.pk, ln.unit_id, "valid", 1) for ln in lines
    ]
    assert {t.holder_name for t in tickets} == {buyer.username}
    assert SessionKey.objects.filter(session=sale.session, purpose="signing").count() == 1
    # the callback is logged and the sale audited
    [log] = CallbackLog.objects.filter(payment=payment)
    assert (log.outcome, log.signature_valid, log.detail) == ("applied", True, "succeeded")
    assert _audit(order) == [
        ("hold.created", ["channel", "how", "units"]),
        ("hold.sold", ["units"]),
        ("order.fulfilled", []),
        ("order.paid", ["amount", "payment"]),
        ("order.placed", ["places", "total"]),
        ("payment.started", ["amount", "currency", "order", "provider"]),
        ("payment.succeeded", ["amount", "order"]),
        ("tickets.issued", ["tickets"]),
    ]
    # and this process knows the outcome without reading the order again
    assert changes.board.heard(order.pk) == OrderStatus.FULFILLED


def test_attendee_names_become_the_holders(sale, buyer, gateway, now):
    bought = checkout(sale, buyer, now, zone=sale.zones["A"].pk, quantity=2)
    Order.objects.filter(pk=bought.order.pk)  # names can be given at checkout or later
    bought.lines[0].attendee_name = "Li Lei"
    bought.lines[0].save(update_fields=["attendee_name"])
    [callback] = gateway_callbacks(bought.payment.pk, now)
    deliver(gateway, callback)
    holders = list(
        Ticket.objects.filter(order_line__order_id=bought.order.pk)
        .order_by("id")
        .values_list("holder_name", flat=True)
    )
    assert holders == ["Li Lei", buyer.username]


def test_a_duplicate_delivery_charges_once(sale, buyer, gateway, now):
    bought = checkout(sale, buyer, now, zone=sale.zones["A"].pk, quantity=1)
    [callback] = gateway_callbacks(bought.payment.pk, now)
    assert deliver(gateway, callback).status_code == 200
    assert deliver(gateway, callback).status_code == 200
    assert LedgerEntry.objects.filter(order_id=bought.order.pk).count() == 1
    assert Ticket.objects.filter(order_line__order_id=bought.order.pk).count() == 1
    assert list(
        CallbackLog.objects.filter(payment_id=bought.payment.pk)
        .order_by("id")
        .values_list("outcome", flat=True)
    ) == ["applied", "duplicate"]


def test_a_forged_callback_changes_nothing(sale, buyer, gateway, now):
    bought = checkout(sale, buyer, now, zone=sale.zones["A"].pk, quantity=1)
    [callback] = gateway_callbacks(bought.payment.pk, now)
    forged = type(callback)(
        headers={**callback.headers, "X-Sandbox-Signature": "0" * 64}, body=callback.body
    )
    assert deliver(gateway, forged).status_code == 400
    assert Order.objects.get(pk=bought.order.pk).status == OrderStatus.PENDING_PAYMENT
    assert not LedgerEntry.objects.exists()
    assert list(CallbackLog.objects.values_list("outcome", "signature_valid")) == [
        ("rejected", False)
    ]


def test_a_payment_after_the_hold_expired_still_sells_places_nobody_took(sale, buyer, gateway, now):
    bought = checkout(sale, buyer, now, zone=sale.zones["A"].pk, quantity=2)
    late = bought.order.expires_at + timedelta(minutes=5)
    [callback] = gateway_callbacks(bought.payment.pk, late)
    assert deliver(gateway, callback).status_code == 200
    assert Order.objects.get(pk=bought.order.pk).status == OrderStatus.FULFILLED
    assert Ticket.objects.filter(order_line__order_id=bought.order.pk).count() == 2


def test_a_payment_for_places_lost_meanwhile_is_refunded(sale, buyer, gateway, now):
    bought = checkout(sale, buyer, now, unit_ids=[sale.seat_unit("S1", "A", 3).pk])
    late = bought.order.expires_at + timedelta(minutes=1)
    from tessera.inventory.tests.factories import make_buyer

    checkout(sale, make_buyer(), late, unit_ids=[sale.seat_unit("S1", "A", 3).pk])
    [callback] = gateway_callbacks(bought.payment.pk, late)
    assert deliver(gateway, callback).status_code == 200
    order = Order.objects.get(pk=bought.order.pk)
    assert order.status == OrderStatus.CANCELLED
    assert not Ticket.objects.filter(order_line__order=order).exists()
    assert Refund.objects.get(payment_id=bought.payment.pk).amount == Decimal("380.00")


def test_a_wrong_amount_does_not_pay_the_order_and_is_given_back(sale, buyer, gateway, now):
    bought = checkout(sale, buyer, now, zone=sale.zones["A"].pk, quantity=1)
    Payment.objects.filter(pk=bought.payment.pk).update(amount=Decimal("1.00"))
    [callback] = gateway_callbacks(bought.payment.pk, now)
    deliver(gateway, callback)
    assert Order.objects.get(pk=bought.order.pk).status == OrderStatus.PENDING_PAYMENT
    assert list(CallbackLog.objects.values_list("outcome", flat=True)) == ["refunded"]
    assert Refund.objects.get(payment_id=bought.payment.pk).amount == bought.order.total


def _audit(order: Order) -> list:
    """(action, data keys) of every audit entry about the order, its hold and payments."""
    from django.db.models import Q

    about = Q(object_type="orders.order", object_id=str(order.pk)) | Q(
        object_type="inventory.hold", object_id=str(order.hold_id)
    )
    for payment_id in order.payments.values_list("id", flat=True):
        about |= Q(object_type="payments.payment", object_id=str(payment_id))
    return sorted(
        (a, sorted(d)) for a, d in AuditEntry.objects.filter(about).values_list("action", "data")
    )


def _rows(order: Order) -> dict:
    """An order's sale as comparable values (ids and times left out)."""
    lines = list(order.lines.order_by("id"))
    return {
        "order": (order.status, order.total, order.currency),
        "lines": [(ln.section_code, ln.row_label, ln.seat_label, ln.price) for ln in lines],
        "units": sorted(
            InventoryUnit.objects.filter(order_line_id__in=[ln.pk for ln in lines]).values_list(
                "status", "hold_expires_at"
            )
        ),
        "hold": Hold.objects.get(pk=order.hold_id).status,
        "ledger": list(order.ledger.values_list("kind", "amount", "currency", "reference", "memo")),
        "tickets": [
            (status, version, holder == order.user.username)
            for status, version, holder in Ticket.objects.filter(order_line__order=order)
            .order_by("id")
            .values_list("status", "version", "holder_name")
        ],
        "payments": list(
            Payment.objects.filter(order=order).values_list("status", "failure_reason", "amount")
        ),
        "log": list(
            CallbackLog.objects.filter(payment__order=order).values_list(
                "outcome", "signature_valid", "detail"
            )
        ),
        "audit": _audit(order),
    }


def test_both_paths_leave_the_same_rows(sale, now, gateway, monkeypatch):
    """The fast statements and the services' path sell the same way (on SQLite only the
    services' path exists: both runs take it)."""
    from tessera.inventory.tests.factories import make_buyer

    results = {}
    for path, zone in (("fast", "A"), ("services", "B")):
        monkeypatch.setattr(
            services,
            "uses_fast_path",
            lambda path=path: connection.vendor == "postgresql" and path == "fast",
        )
        bought = checkout(sale, make_buyer(), now, zone=sale.zones[zone].pk, quantity=2)
        [callback] = gateway_callbacks(bought.payment.pk, now)
        deliver(gateway, callback)
        results[path] = _rows(Order.objects.get(pk=bought.order.pk))
    # zones differ only by their prices and sections
    for row in results.values():
        row["lines"] = [(r, s) for _code, r, s, _price in row["lines"]]
        row["order"] = row["order"][0]
        row["ledger"] = [(k, c) for k, _a, c, *_ in row["ledger"]]
        row["payments"] = [(s, f) for s, f, _a in row["payments"]]
    assert results["fast"] == results["services"]
