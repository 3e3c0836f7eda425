"""Session changes through the services: a cancellation refunds every paid order in full and
revokes its tickets, a postponement re-dates them and offers a full refund until a deadline;
both run in batches, resume where they stopped and do nothing more when run again."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import TestCase
from django.utils import timezone

from tessera.accounts.tests.factories import make_member
from tessera.aftersales import changes
from tessera.aftersales.errors import (
    ChangeDateInvalid,
    ChangeNotAllowed,
    NoRefundOffered,
    ReasonRequired,
)
from tessera.aftersales.models import (
    ChangeKind,
    ChangeStatus,
    Initiator,
    RefundRequest,
    SessionChange,
    SessionChangeOrder,
)
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.catalog.models import Session, SessionStatus
from tessera.checkin import services as checkin
from tessera.core.models import AuditEntry
from tessera.inventory import services as inventory
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders import services as orders
from tessera.orders.models import LedgerEntry, Order, OrderStatus
from tessera.orders.services import OrderNotFound
from tessera.payments import services as payments
from tessera.payments.models import Refund, RefundStatus
from tessera.tickets.models import Revocation, Ticket, TicketStatus
from tessera.tickets.services import credential_for

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def sale(now):
    sale = make_sale(sections=1, rows=1, seats_per_row=8, starts_at=now + timedelta(days=10))
    catalog.set_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        refund_cutoff_hours=2,
        tiers=[(0, 20)],
        fee_min=D("5.00"),
    )
    return sale


@pytest.fixture
def organizer(sale):
    return make_member(organization=sale.session.event.organization, role="owner")


def ledger_sum(order) -> Decimal:
    return sum(LedgerEntry.objects.filter(order=order).values_list("amount", flat=True), D(0))


def run_all(change, now):
    """The job as the workers run it, with the refunds' provider calls after commit."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes.run_change(change_id=change.pk, clock=lambda: now, limit=2)


def paid_orders(sale, now):
    first, second = make_buyer(), make_buyer()
    return [
        bought(sale, first, [1, 2], now),
        bought(sale, second, [3], now),
        bought(sale, first, [4, 5, 6], now),
    ]


def unpaid_order(sale, now):
    fan = make_buyer()
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_unit("S1", "A", 8).pk], now=now
    )
    return orders.place_order(hold=hold, user=fan, now=now)


def world(session) -> dict:
    """Every row a change touches, for "nothing more changed" checks."""
    return {
        "orders": list(Order.objects.filter(session=session).order_by("pk").values()),
        "tickets": list(Ticket.objects.filter(session=session).order_by("pk").values()),
        "ledger": list(LedgerEntry.objects.order_by("pk").values()),
        "refunds": list(Refund.objects.order_by("pk").values()),
        "revocations": Revocation.objects.count(),
        "units": list(InventoryUnit.objects.filter(session=session).order_by("pk").values()),
        "markers": list(SessionChangeOrder.objects.order_by("pk").values()),
        "changes": list(SessionChange.objects.order_by("pk").values()),
        "session": Session.objects.filter(pk=session.pk).values().get(),
    }


# -- cancellation -------------------------------------------------------------------------------


def test_a_cancellation_refunds_every_paid_order_in_full_and_revokes_its_tickets(
    sale, organizer, now
):
    # given three paid orders (6 tickets at 380.00) and one unpaid order
    paid = paid_orders(sale, now)
    unpaid = unpaid_order(sale, now)
    old_credentials = [
        credential_for(ticket=ticket, now=now)
        for ticket in Ticket.objects.filter(session=sale.session)
    ]

    # when the organizer cancels the session and the job runs in batches of two orders
    change = changes.start_cancellation(
        session=sale.session, actor=organizer, reason="Storm warning", now=now
    )
    assert Session.objects.get(pk=sale.session.pk).status == SessionStatus.CANCELLED
    assert (change.total, change.done, change.status) == (4, 0, ChangeStatus.RUNNING)
    run_all(change, now)

    # then every paid order is refunded in full, without a fee, and the money went back
    for order in paid:
        order.refresh_from_db()
        assert order.status == OrderStatus.REFUNDED
        assert ledger_sum(order) == D("0.00")
        request = RefundRequest.objects.get(order=order)
        assert (request.fee, request.initiator) == (D("0.00"), Initiator.ORGANIZER)
        assert request.amount == D("380.00") * order.lines.count()
        assert [r.status for r in Refund.objects.filter(payment__order=order)] == [
            RefundStatus.SUCCEEDED
        ]
    assert Order.objects.get(pk=unpaid.pk).status == OrderStatus.CANCELLED
    # every ticket revoked, the gate refuses the old credentials
    assert set(Ticket.objects.filter(session=sale.session).values_list("status", flat=True)) == {
        TicketStatus.REVOKED
    }
    assert Revocation.objects.filter(session=sale.session).count() == 6
    device, _token = checkin.register_device(
        organization=sale.session.event.organization, name="gate", now=now
    )
    for text in old_credentials:
        result = checkin.scan_online(
            device=device,
            session=sale.session,
            gate_id=None,
            direction="entry",
            text=text,
            scan_uuid=uuid.uuid4(),
            now=sale.session.starts_at - timedelta(hours=1),
        )
        assert result.reason == "revoked"
    # the places are no longer sold and the progress is complete
    assert not InventoryUnit.objects.filter(session=sale.session, status=UnitStatus.SOLD).exists()
    assert changes.progress(change) | {"failures": []} == {
        "id": change.pk,
        "kind": "cancel",
        "status": "done",
        "status_label": "Done",
        "total": 4,
        "done": 4,
        "failed": 0,
        "pending": 0,
        "percent": 100.0,
        "finished_at": now.isoformat(),
        "failures": [],
    }
    assert sorted(
        SessionChangeOrder.objects.filter(change=change).values_list("outcome", flat=True)
    ) == ["cancelled", "refunded", "refunded", "refunded"]
    # and the daily ledger check finds no difference
    assert payments.check_ledgers(now=now).differences == 0


def test_running_a_cancellation_again_or_starting_it_again_changes_nothing_more(
    sale, organizer, now
):
    paid_orders(sale, now)
    change = changes.start_cancellation(
        session=sale.session, actor=organizer, reason="Storm", now=now
    )
    run_all(change, now)
    before = world(sale.session)

    # when the job runs again, and the organizer starts the same cancellation again
    run_all(change, now + timedelta(minutes=1))
    again = changes.start_cancellation(
        session=sale.session, actor=organizer, reason="Storm", now=now + timedelta(minutes=1)
    )

    # then it is the same change and nothing more happened
    assert again.pk == change.pk
    assert world(sale.session) == before
    assert RefundRequest.objects.count() == 3


def test_a_cancellation_stopped_halfway_resumes_with_the_orders_still_pending(sale, organizer, now):
    paid = paid_orders(sale, now)
    change = changes.start_cancellation(
        session=sale.session, actor=organizer, reason="Storm", now=now
    )

    # when one batch of one order ran and the worker stopped there
    with TestCase.captureOnCommitCallbacks(execute=True):
        left = changes.run_batch(change_id=change.pk, now=now, limit=1)
    assert left == 2
    change.refresh_from_db()
    assert (change.done, change.status) == (1, ChangeStatus.RUNNING)
    assert Order.objects.get(pk=paid[0].pk).status == OrderStatus.REFUNDED
    assert Order.objects.get(pk=paid[1].pk).status == OrderStatus.FULFILLED

    # then the next run deals with the other two only
    run_all(change, now)
    assert RefundRequest.objects.filter(order=paid[0]).count() == 1
    assert set(Order.objects.filter(session=sale.session).values_list("status", flat=True)) == {
        OrderStatus.REFUNDED
    }
    change.refresh_from_db()
    assert (change.done, change.failed, change.status) == (3, 0, ChangeStatus.DONE)


def test_an_order_that_cannot_be_refunded_is_listed_and_can_be_retried(sale, organizer, now):
    # given an order whose ticket entered at the gate
    paid = paid_orders(sale, now)
    entered = Ticket.objects.get(order_line__order=paid[1])
    device, _token = checkin.register_device(
        organization=sale.session.event.organization, name="gate", now=now
    )
    checkin.scan_online(
        device=device,
        session=sale.session,
        gate_id=None,
        direction="entry",
        text=credential_for(ticket=entered, now=now),
        scan_uuid=uuid.uuid4(),
        now=sale.session.starts_at - timedelta(hours=3),
    )

    # when the session is cancelled
    change = changes.start_cancellation(
        session=sale.session, actor=organizer, reason="Storm", now=now
    )
    run_all(change, now)

    # then the others are refunded and that order is listed as failed, nothing done to it
    state = changes.progress(change)
    assert (state["status"], state["done"], state["failed"], state["pending"]) == (
        "failed",
        2,
        1,
        0,
    )
    assert [(f["order"], f["code"]) for f in state["failures"]] == [(paid[1].number, "ticket_used")]
    assert Order.objects.get(pk=paid[1].pk).status == OrderStatus.FULFILLED
    assert ledger_sum(paid[1]) == D("380.00")

    # and a retry puts it back in the queue (it fails again for the same reason)
    assert changes.retry_failed(change=change, actor=organizer, now=now) == 1
    change.refresh_from_db()
    assert (change.status, change.failed) == (ChangeStatus.RUNNING, 0)
    run_all(change, now)
    change.refresh_from_db()
    assert (change.status, change.done, change.failed) == (ChangeStatus.FAILED, 2, 1)
    marker = SessionChangeOrder.objects.get(change=change, order=paid[1])
    assert (marker.attempts, marker.error_code) == (2, "ticket_used")


def test_an_order_paid_after_the_start_is_refunded_too(sale, organizer, now):
    paid_orders(sale, now)
    change = changes.start_cancellation(
        session=sale.session, actor=organizer, reason="Storm", now=now
    )
    # an order that came in after the markers were written (a payment completed meanwhile)
    Session.objects.filter(pk=sale.session.pk).update(status=SessionStatus.SCHEDULED)
    late = bought(sale, make_buyer(), [7], now)
    Session.objects.filter(pk=sale.session.pk).update(status=SessionStatus.CANCELLED)

    run_all(change, now)

    assert Order.objects.get(pk=late.pk).status == OrderStatus.REFUNDED
    change.refresh_from_db()
    assert (change.total, change.done, change.status) == (4, 4, ChangeStatus.DONE)


def test_a_cancellation_is_refused_with_bad_input_or_on_a_cancelled_session(sale, organizer, now):
    paid_orders(sale, now)
    before = world(sale.session)
    for reason in ("", "   ", "x" * 501, None, 5):
        with pytest.raises(ReasonRequired):
            changes.start_cancellation(
                session=sale.session, actor=organizer, reason=reason, now=now
            )
    assert world(sale.session) == before

    other = make_sale(sections=1, rows=1, seats_per_row=2, starts_at=now + timedelta(days=3))
    catalog.cancel_session(session=other.session, actor=None, now=now)
    with pytest.raises(ChangeNotAllowed):
        changes.start_cancellation(session=other.session, actor=None, reason="x", now=now)
    assert not SessionChange.objects.exists()


def test_an_event_cancellation_cancels_each_session_through_its_job(sale, organizer, now):
    paid = paid_orders(sale, now)
    event = sale.session.event
    with TestCase.captureOnCommitCallbacks(execute=True):
        started = changes.start_event_cancellation(
            event=event, actor=organizer, reason="Tour cancelled", now=now
        )
    for change in started:
        run_all(change, now)
    event.refresh_from_db()
    assert event.status == "cancelled"
    assert [c.kind for c in started] == [ChangeKind.CANCEL]
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in paid])} == {
        OrderStatus.REFUNDED
    }


# -- postponement -------------------------------------------------------------------------------


def test_a_postponement_re_dates_the_tickets_and_offers_a_full_refund_until_the_deadline(
    sale, organizer, now
):
    paid = paid_orders(sale, now)
    session = sale.session
    old_start, old_end = session.starts_at, session.ends_at
    tickets_before = {t.pk: t.version for t in Ticket.objects.filter(session=session)}
    new_start = old_start + timedelta(days=30)
    refund_until = now + timedelta(days=7)

    change = changes.start_postponement(
        session=session,
        actor=organizer,
        reason="Artist ill",
        new_starts_at=new_start,
        refund_until=refund_until,
        now=now,
    )
    run_all(change, now)

    # the session moved (its end by the same shift) and stays on sale
    session.refresh_from_db()
    assert (session.starts_at, session.status) == (new_start, SessionStatus.SCHEDULED)
    if old_end is not None:
        assert session.ends_at == old_end + timedelta(days=30)
    # every ticket is still valid, at the next credential version; the old one is revoked
    for ticket in Ticket.objects.filter(session=session):
        assert ticket.status == TicketStatus.VALID
        assert ticket.version == tickets_before[ticket.pk] + 1
        assert Revocation.objects.filter(
            ticket_id=ticket.pk, version=tickets_before[ticket.pk], reason="redated"
        ).exists()
    change.refresh_from_db()
    assert (change.status, change.done, change.total) == (ChangeStatus.DONE, 3, 3)
    assert {o.status for o in Order.objects.filter(session=session)} == {OrderStatus.FULFILLED}

    # a fan takes the full refund: no fee, whatever the policy says
    fan_order = paid[1]
    with TestCase.captureOnCommitCallbacks(execute=True):
        marker = changes.refund_after_change(
            order=fan_order, user=fan_order.user, now=now + timedelta(days=1)
        )
    assert marker.refunded_at == now + timedelta(days=1)
    fan_order.refresh_from_db()
    assert fan_order.status == OrderStatus.REFUNDED
    request = RefundRequest.objects.get(order=fan_order)
    assert (request.fee, request.amount, request.initiator) == (
        D("0.00"),
        D("380.00"),
        Initiator.FAN,
    )
    assert ledger_sum(fan_order) == D("0.00")

    # not twice, not someone else's order, not after the deadline
    before = world(session)
    with pytest.raises(NoRefundOffered):
        changes.refund_after_change(order=fan_order, user=fan_order.user, now=now)
    with pytest.raises(OrderNotFound):
        changes.refund_after_change(order=paid[0], user=fan_order.user, now=now)
    with pytest.raises(NoRefundOffered):
        changes.refund_after_change(
            order=paid[0], user=paid[0].user, now=refund_until + timedelta(seconds=1)
        )
    assert world(session) == before
    assert payments.check_ledgers(now=now).differences == 0


def test_a_postponement_to_a_date_to_be_announced_keeps_the_tickets(sale, organizer, now):
    paid_orders(sale, now)
    session = sale.session
    versions = dict(Ticket.objects.filter(session=session).values_list("pk", "version"))
    change = changes.start_postponement(
        session=session,
        actor=organizer,
        reason="Venue repairs",
        new_starts_at=None,
        refund_until=now + timedelta(days=14),
        now=now,
    )
    run_all(change, now)
    session.refresh_from_db()
    assert session.status == SessionStatus.POSTPONED
    assert not session.is_on_sale(now)
    assert dict(Ticket.objects.filter(session=session).values_list("pk", "version")) == versions
    assert set(
        SessionChangeOrder.objects.filter(change=change).values_list("outcome", flat=True)
    ) == {"kept"}
    assert change.is_date_to_be_announced

    # and the date announced later re-dates them (a second change, once the first is done)
    later = changes.start_postponement(
        session=session,
        actor=organizer,
        reason="New date",
        new_starts_at=now + timedelta(days=60),
        refund_until=None,
        now=now,
    )
    run_all(later, now)
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED
    assert {
        pk: version - versions[pk]
        for pk, version in Ticket.objects.filter(session=session).values_list("pk", "version")
    } == dict.fromkeys(versions, 1)


def test_a_postponement_is_refused_for_dates_in_the_past_or_while_a_change_runs(
    sale, organizer, now
):
    paid_orders(sale, now)
    before = world(sale.session)
    bad = [
        {"new_starts_at": now - timedelta(days=1), "refund_until": None},
        {"new_starts_at": now + timedelta(days=3), "refund_until": now - timedelta(hours=1)},
        {"new_starts_at": "2030-01-01", "refund_until": None},
        {"new_starts_at": (now + timedelta(days=3)).replace(tzinfo=None), "refund_until": None},
    ]
    for values in bad:
        with pytest.raises(ChangeDateInvalid):
            changes.start_postponement(
                session=sale.session, actor=organizer, reason="x", now=now, **values
            )
    assert world(sale.session) == before

    # a change still running: no second one until it is done
    changes.start_postponement(
        session=sale.session,
        actor=organizer,
        reason="x",
        new_starts_at=now + timedelta(days=40),
        refund_until=None,
        now=now,
    )
    with pytest.raises(ChangeNotAllowed):
        changes.start_cancellation(session=sale.session, actor=organizer, reason="y", now=now)


# -- the fans' notices (the notifications' hook) ------------------------------------------------


def test_notify_fans_hands_each_fan_one_notice_and_marks_it_sent(sale, organizer, now, settings):
    settings.SESSION_CHANGE_NOTIFIER = None  # the job's own batches tell nobody here
    paid = paid_orders(sale, now)
    change = changes.start_cancellation(
        session=sale.session, actor=organizer, reason="Storm", now=now
    )
    run_all(change, now)
    sent = []

    assert changes.notify_fans(send=sent.append, now=now) == 3
    assert changes.notify_fans(send=sent.append, now=now) == 0
    assert sorted((n.recipient_id, n.kind, n.context["order"]) for n in sent) == sorted(
        (o.user_id, "session_cancelled_refunded", o.number) for o in paid
    )
    assert {n.key for n in sent} == {f"session-change:{change.pk}:{o.pk}" for o in paid}
    assert AuditEntry.objects.filter(action="session.change.finished").count() == 1


def test_a_ticket_without_a_version_left_fails_its_order_only(sale, organizer, now):
    from tessera.tickets import credentials

    paid = paid_orders(sale, now)
    stuck = Ticket.objects.get(order_line__order=paid[1])
    Ticket.objects.filter(pk=stuck.pk).update(version=credentials.MAX_VERSION)
    change = changes.start_postponement(
        session=sale.session,
        actor=organizer,
        reason="x",
        new_starts_at=sale.session.starts_at + timedelta(days=3),
        refund_until=None,
        now=now,
    )
    run_all(change, now)

    state = changes.progress(change)
    assert (state["status"], state["done"], state["failed"]) == ("failed", 2, 1)
    assert [(f["order"], f["code"]) for f in state["failures"]] == [
        (paid[1].number, "too_many_reissues")
    ]
    assert Ticket.objects.get(pk=stuck.pk).version == credentials.MAX_VERSION
    assert Revocation.objects.filter(ticket_id=stuck.pk).count() == 0
    assert Revocation.objects.filter(session=sale.session).count() == 5


def test_the_fans_of_a_cancelled_session_find_the_notice_in_their_outbox_once(sale, organizer, now):
    from tessera.notifications.models import Message

    paid = paid_orders(sale, now)
    change = changes.start_cancellation(
        session=sale.session, actor=organizer, reason="Storm", now=now
    )
    run_all(change, now)
    # every fan with a paid order is told once per channel (inbox, email), in the job's batches
    told = Message.objects.filter(kind="session_cancelled")
    assert sorted({m.user_id for m in told}) == sorted({o.user_id for o in paid})
    assert told.filter(channel="inbox").count() == len(paid)
    assert {m.context["reason"] for m in told} == {"Storm"}
    before = told.count()
    # telling them again records nothing more
    assert changes.notify_fans(send=lambda notice: None, now=now) == 0
    run_all(change, now)
    assert Message.objects.filter(kind="session_cancelled").count() == before
