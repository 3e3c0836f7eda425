"""A session on sale with a box, group requests and the helpers to pay an order at the
sandbox cashier."""

from datetime import timedelta
from decimal import Decimal

from django.test import TestCase
from django.utils import timezone

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.groupsales import services
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import Order
from tessera.payments import services as payments
from tessera.payments.testing import pay_locally

# A valid unified social credit code (check character computed per GB 32100-2015).
USCC = "91350100M000100Y43"


def now_():
    return timezone.now().replace(microsecond=0)


def request_data(price_zone, **overrides) -> dict:
    data = {
        "zone": price_zone.pk,
        "quantity": 8,
        "budget": "2400.00",
        "company_name": "星海科技有限公司",
        "invoice_title": "星海科技有限公司",
        "tax_number": USCC,
        "invoice_email": "finance@xinghai.example",
        "invoice_address": "上海市浦东新区世纪大道 100 号",
        "invoice_phone": "021-55550000",
        "invoice_bank": "招商银行上海分行 1234 5678",
        "notes": "年会团建",
    }
    data.update(overrides)
    return data


def group_world(now, **session_fields):
    """Two sections (zones A ¥380, B ¥280) of 3 rows × 10 seats, ten days ahead; an
    organizer manager and a group contact."""
    session_fields.setdefault("starts_at", now + timedelta(days=10))
    sale = make_sale(sections=2, rows=3, seats_per_row=10, **session_fields)
    organizer = make_member(
        organization=sale.session.event.organization, role=Role.OWNER, password=None
    )
    contact = make_buyer(display_name="张经理", email="zhang@xinghai.example")
    return sale, organizer, contact


def quoted(sale, organizer, contact, now, *, quantity=8, unit_price="300.00"):
    req = services.submit_group_request(
        session=sale.session,
        contact=contact,
        data=request_data(sale.zones["A"], quantity=quantity),
        now=now,
    )
    return services.quote_group_request(
        request=req,
        actor=organizer,
        unit_price=unit_price,
        pay_by_at=now + timedelta(days=3),
        names_by_at=now + timedelta(days=5),
        now=now,
    )


def pay(order: Order, user, now) -> Order:
    payment = payments.start_payment(order=order, provider="sandbox", user=user, now=now)
    with TestCase.captureOnCommitCallbacks(execute=True):
        pay_locally(payment_id=payment.pk, now=now)
    return Order.objects.get(pk=order.pk)


def boxed(sale, organizer, now, *, seats=(1, 2, 3, 4), price="2000.00", name="A1 包厢"):
    """A box of row A seats ``seats`` of section S1, on sale for the session."""
    units = sale.seat_units("S1", "A", seats)
    box = services.create_box(
        layout=sale.layout,
        section=sale.sections["S1"],
        name=name,
        name_en=f"Box {name[:2]}",
        seat_ids=[u.seat_id for u in units],
        extras="含餐饮与停车",
        extras_en="Catering and parking included",
        actor=None,
        now=now,
    )
    offer = services.offer_box(
        box=box, session=sale.session, price=Decimal(price), actor=organizer, now=now
    )
    return box, offer, [u.pk for u in units]
