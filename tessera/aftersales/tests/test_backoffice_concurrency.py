"""The box office and name corrections racing, from real threads (meant for PostgreSQL:
TESSERA_DATABASE_URL=postgres://...; on SQLite the file lock serialises them): two counters
selling the same seat, the first sale of an organization creating its box-office channel
twice at once, and a name corrected while the ticket is refunded."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.aftersales import services
from tessera.aftersales.corrections import correct_attendee_name
from tessera.aftersales.tests.factories import bought
from tessera.aftersales.tests.test_concurrency import race
from tessera.catalog import services as catalog
from tessera.inventory.models import InventoryUnit, SalesChannel, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import Order, OrderStatus
from tessera.payments.models import Payment
from tessera.sale.box_office import sell_at_box_office
from tessera.sale.choices import PlaceChoice
from tessera.tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 4


def test_two_counters_selling_the_same_seat_sell_it_once():
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=ROUNDS, starts_at=now + timedelta(days=5))
    staff = [
        make_member(organization=sale.session.event.organization, role=Role.STAFF, password=None)
        for _ in range(2)
    ]
    for seat in range(1, ROUNDS + 1):
        choice = PlaceChoice.parse({"seat_labels": f"S1-A-{seat}"})

        def sell(actor, choice=choice):
            return sell_at_box_office(
                session=sale.session,
                choice=choice,
                buyer_name="Li",
                phone="",
                method="cash",
                actor=actor,
                now=now,
            )

        results = race(lambda: sell(staff[0]), lambda: sell(staff[1]))
        sold = [order for order, error in results if order is not None]
        assert len(sold) == 1, results
        assert [error.code for _o, error in results if error is not None] == ["places_unavailable"]
    # one channel, one order and one payment per seat, every seat sold once
    assert SalesChannel.objects.filter(code__startswith="box-office-").count() == 1
    assert Order.objects.filter(status=OrderStatus.FULFILLED).count() == ROUNDS
    assert Payment.objects.filter(provider="box_office").count() == ROUNDS
    assert InventoryUnit.objects.filter(status=UnitStatus.SOLD).count() == ROUNDS


def test_a_name_corrected_while_the_ticket_is_refunded_never_revives_it():
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=ROUNDS, starts_at=now + timedelta(days=9))
    catalog.set_policy(
        event=sale.session.event, actor=None, now=now, is_refundable=True, tiers=[(0, 0)]
    )
    manager = make_member(
        organization=sale.session.event.organization, role=Role.MANAGER, password=None
    )
    for seat in range(1, ROUNDS + 1):
        order = bought(sale, make_buyer(), [seat], now)
        line = order.lines.get()
        results = race(
            lambda line=line: correct_attendee_name(line=line, name="Wang", actor=manager, now=now),
            lambda order=order: services.refund_order_in_full(
                order=order, actor=manager, reason="race", now=now
            ),
        )
        ticket = Ticket.objects.get(order_line=line)
        # the refund always wins in the end: the ticket is revoked whatever came first
        assert ticket.status == TicketStatus.REVOKED, results
        assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
        corrected, _refund = results
        if corrected[0] is not None:
            assert ticket.holder_name == "Wang"
        else:
            assert corrected[1].code == "name_not_correctable"
