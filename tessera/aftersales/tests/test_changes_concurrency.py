"""Session changes racing other writers, from real threads (meant for PostgreSQL:
TESSERA_DATABASE_URL=postgres://...; on SQLite the file lock serialises them and the loser
retries): two runs of the same job at once (a task handed out twice after a lease ran out),
the job against a fan's own refund, the postponement against the fan's full refund.
Whatever the interleaving: each order dealt with once, counted once, the ledger balanced."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tessera.aftersales import changes, services
from tessera.aftersales.models import (
    ChangeStatus,
    MarkerStatus,
    RefundRequest,
    RequestStatus,
    SessionChangeOrder,
)
from tessera.aftersales.tests.factories import bought
from tessera.aftersales.tests.test_concurrency import ledger_sum, race
from tessera.catalog import services as catalog
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import Order, OrderStatus
from tessera.payments import services as payments
from tessera.payments.models import Refund
from tessera.tickets.models import Revocation, Ticket, TicketStatus

pytestmark = pytest.mark.django_db(transaction=True)
ORDERS = 8


@pytest.fixture(autouse=True)
def queued_tasks(settings):
    """Tasks are only queued (never run by the test's own thread): the threads run the job."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def sold(now, orders=ORDERS):
    sale = make_sale(sections=1, rows=1, seats_per_row=orders, starts_at=now + timedelta(days=9))
    catalog.set_policy(
        event=sale.session.event, actor=None, now=now, is_refundable=True, tiers=[(0, 10)]
    )
    return sale, [bought(sale, make_buyer(), [seat], now) for seat in range(1, orders + 1)]


def test_two_runs_of_the_same_cancellation_at_once_refund_each_order_once():
    now = timezone.now()
    sale, paid = sold(now)
    change = changes.start_cancellation(session=sale.session, actor=None, reason="x", now=now)

    results = race(
        lambda: changes.run_change(change_id=change.pk, clock=lambda: now, limit=3),
        lambda: changes.run_change(change_id=change.pk, clock=lambda: now, limit=3),
        lambda: changes.run_batch(change_id=change.pk, now=now, limit=ORDERS),
    )

    assert [error for _result, error in results] == [None, None, None]
    change.refresh_from_db()
    assert (change.status, change.total, change.done, change.failed) == (
        ChangeStatus.DONE,
        ORDERS,
        ORDERS,
        0,
    )
    for order in paid:
        assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
        assert RefundRequest.objects.filter(order=order).count() == 1
        assert Refund.objects.filter(payment__order=order).count() == 1
        assert ledger_sum(order) == Decimal("0.00")
    assert set(
        SessionChangeOrder.objects.filter(change=change).values_list("attempts", flat=True)
    ) == {1}
    assert payments.check_ledgers(now=now).differences == 0


def test_the_cancellation_job_against_the_fans_own_refunds_refunds_each_order_once():
    now = timezone.now()
    sale, paid = sold(now)
    change = changes.start_cancellation(session=sale.session, actor=None, reason="x", now=now)

    fans = [
        lambda o=order: services.request_refund(order=o, user=o.user, line_ids=None, now=now)
        for order in paid
    ]
    results = race(lambda: changes.run_change(change_id=change.pk, clock=lambda: now), *fans)

    # the job never fails: an order the fan refunded first is simply done ("unchanged")
    assert results[0] == (None, None)
    change.refresh_from_db()
    assert (change.status, change.done, change.failed) == (ChangeStatus.DONE, ORDERS, 0)
    for order in paid:
        assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
        approved = RefundRequest.objects.filter(order=order, status=RequestStatus.APPROVED)
        assert approved.count() == 1
        assert Refund.objects.filter(payment__order=order).count() == 1
        # the fan's own refund pays the policy's fee; the organizer's none: the ledger holds
        # what the provider kept either way
        assert ledger_sum(order) == approved.get().fee
    assert payments.check_ledgers(now=now).differences == 0


def test_the_postponement_against_the_fans_full_refunds_each_ticket_one_way():
    now = timezone.now()
    sale, paid = sold(now)
    versions = dict(Ticket.objects.filter(session=sale.session).values_list("pk", "version"))
    change = changes.start_postponement(
        session=sale.session,
        actor=None,
        reason="x",
        new_starts_at=sale.session.starts_at + timedelta(days=10),
        refund_until=now + timedelta(days=3),
        now=now,
    )

    fans = [
        lambda o=order: changes.refund_after_change(order=o, user=o.user, now=now)
        for order in paid[: ORDERS // 2]
    ]
    results = race(lambda: changes.run_change(change_id=change.pk, clock=lambda: now), *fans)

    assert [error for _result, error in results] == [None] * (1 + ORDERS // 2)
    change.refresh_from_db()
    assert (change.status, change.done) == (ChangeStatus.DONE, ORDERS)
    for index, order in enumerate(paid):
        ticket = Ticket.objects.get(order_line__order=order)
        revocations = Revocation.objects.filter(ticket_id=ticket.pk).count()
        marker = SessionChangeOrder.objects.get(change=change, order=order)
        assert marker.status == MarkerStatus.DONE
        if index < ORDERS // 2:
            # refunded in full; re-dated first or not, revoked in the end, money back once
            assert ticket.status == TicketStatus.REVOKED
            assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
            assert Refund.objects.filter(payment__order=order).count() == 1
            assert ledger_sum(order) == Decimal("0.00")
            assert revocations == ticket.version - versions[ticket.pk]
        else:
            assert (ticket.status, ticket.version) == (TicketStatus.VALID, versions[ticket.pk] + 1)
            assert revocations == 1
    assert payments.check_ledgers(now=now).differences == 0
