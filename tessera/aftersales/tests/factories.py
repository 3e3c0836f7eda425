"""A fan's paid order, bought through the real sale: hold, order, sandbox payment, callback."""

from datetime import datetime

from django.test import TestCase

from tessera.inventory import services as inventory
from tessera.orders import services as orders
from tessera.orders.models import Order
from tessera.payments import services as payments
from tessera.payments.testing import pay_locally


def bought(sale, user, seats: list[int], now: datetime, section: str = "S1") -> Order:
    """``user`` buys these seats of row A in ``section`` and pays at the sandbox cashier;
    the callback's on-commit work runs as it would after a request."""
    hold = inventory.hold_units(
        session=sale.session,
        user=user,
        unit_ids=[u.id for u in sale.seat_units(section, "A", seats)],
        now=now,
    )
    order = orders.place_order(hold=hold, user=user, attendees=[f"Fan {n}" for n in seats], now=now)
    payment = payments.start_payment(order=order, provider="sandbox", user=user, now=now)
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=payment.pk, now=now)
    return Order.objects.get(pk=order.pk)
