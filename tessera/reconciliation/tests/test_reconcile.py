"""A clean day reconciles with no mismatch; each seeded difference is found as its kind and
nothing else; resolutions and re-runs."""

import dataclasses
import uuid
from decimal import Decimal

import pytest

from tessera.checkin.models import Direction, Scan
from tessera.core.models import AuditEntry
from tessera.reconciliation import generators, services
from tessera.reconciliation.errors import ActionNotAllowed, MismatchClosed, NoteRequired
from tessera.reconciliation.models import (
    Action,
    DayStatus,
    Mismatch,
    MismatchKind,
    MismatchStatus,
    ProviderStatement,
)
from tessera.reconciliation.parsers import CHARGE, REFUND
from tessera.reconciliation.tests.factories import AFTERNOON, DAY, EVENING, MORNING, make_day
from tessera.tickets.models import Ticket, TicketStatus
from tessera.tickets.services import revoke_tickets

pytestmark = pytest.mark.django_db


def open_kinds(day_record) -> list[str]:
    return sorted(
        day_record.mismatches.filter(status=MismatchStatus.OPEN).values_list("kind", flat=True)
    )


@pytest.mark.parametrize("provider", ["alipay", "wechat", "sandbox"])
def test_a_clean_day_has_no_mismatch_and_is_reconciled(provider):
    day = make_day(provider)
    record = day.reconcile()
    assert open_kinds(record) == []
    assert (record.status, record.open_count) == (DayStatus.RECONCILED, 0)
    assert record.reconciled_at == EVENING
    assert record.figures["orders_paid"] == 2
    assert record.figures["orders_refunded"] == 1
    assert record.figures["our_charges"] == "1140.00"
    assert record.figures["provider_charges"] == "1140.00"
    assert record.figures["provider_refunds"] == "380.00"
    assert (record.figures["tickets_issued"], record.figures["tickets_revoked"]) == (3, 1)


def test_the_sandbox_gateways_own_statement_reconciles_clean():
    day = make_day("sandbox")
    lines = generators.lines_from_sandbox(day_on=DAY)
    assert sorted((line.kind, line.amount) for line in lines) == [
        (CHARGE, Decimal("380")),
        (CHARGE, Decimal("760")),
        (REFUND, Decimal("380")),
    ]
    record = day.reconcile(generators.write_alipay(lines, day_on=DAY))
    assert open_kinds(record) == []
    assert record.status == DayStatus.RECONCILED


def test_running_a_day_again_changes_nothing():
    day = make_day()
    first = day.reconcile()
    again = services.reconcile_day(provider="alipay", day_on=DAY, now=EVENING)
    assert (again.pk, again.status, again.open_count) == (first.pk, DayStatus.RECONCILED, 0)
    assert Mismatch.objects.count() == 0


def _lines_without(day, predicate):
    return [line for line in day.lines() if not predicate(line)]


def _seed(day, kind):
    """The day's statement with one difference of ``kind`` seeded; returns the file."""
    lines = day.lines()
    paid_no = day.payments["paid"].id.hex
    if kind == MismatchKind.ORDER_PAID_MISSING_AT_PROVIDER:
        lines = [ln for ln in lines if not (ln.kind == CHARGE and ln.merchant_order_no == paid_no)]
    elif kind == MismatchKind.AMOUNT_DIFFERS:
        lines = [
            dataclasses.replace(ln, amount=Decimal("759.00"), order_amount=Decimal("759.00"))
            if ln.kind == CHARGE and ln.merchant_order_no == paid_no
            else ln
            for ln in lines
        ]
    elif kind == MismatchKind.FEE_DIFFERS:
        lines = [
            dataclasses.replace(ln, fee=Decimal("9.99"))
            if ln.kind == CHARGE and ln.merchant_order_no == paid_no
            else ln
            for ln in lines
        ]
    elif kind == MismatchKind.PROVIDER_CHARGE_WITHOUT_ORDER:
        lines.append(
            dataclasses.replace(
                lines[0],
                merchant_order_no=uuid.uuid4().hex,
                trade_no="2026112222001999",
                amount=Decimal("100.00"),
                order_amount=Decimal("100.00"),
                fee=Decimal("0.60"),
            )
        )
    elif kind == MismatchKind.REFUND_MISSING_AT_PROVIDER:
        lines = [ln for ln in lines if ln.kind != REFUND]
    elif kind == MismatchKind.PROVIDER_REFUND_WITHOUT_OURS:
        lines.append(
            dataclasses.replace(
                next(ln for ln in lines if ln.kind == REFUND),
                refund_no=uuid.uuid4().hex,
                merchant_order_no=paid_no,
                amount=Decimal("10.00"),
                occurred_at=AFTERNOON,
            )
        )
    elif kind == MismatchKind.DUPLICATE_CHARGE:
        lines.append(next(ln for ln in lines if ln.merchant_order_no == paid_no))
    return day.file(lines)


@pytest.mark.parametrize(
    "kind",
    [
        MismatchKind.ORDER_PAID_MISSING_AT_PROVIDER,
        MismatchKind.AMOUNT_DIFFERS,
        MismatchKind.FEE_DIFFERS,
        MismatchKind.PROVIDER_CHARGE_WITHOUT_ORDER,
        MismatchKind.REFUND_MISSING_AT_PROVIDER,
        MismatchKind.PROVIDER_REFUND_WITHOUT_OURS,
        MismatchKind.DUPLICATE_CHARGE,
    ],
)
@pytest.mark.parametrize("provider", ["alipay", "wechat"])
def test_each_seeded_money_difference_is_found_as_its_kind_and_nothing_else(provider, kind):
    day = make_day(provider)
    record = day.reconcile(_seed(day, kind))
    assert open_kinds(record) == [kind]
    assert record.status == DayStatus.OPEN
    assert record.open_count == 1
    mismatch = record.mismatches.get()
    assert mismatch.organization_id in (None, day.organization.pk)


def test_a_missing_charge_names_the_order_and_amount():
    day = make_day()
    record = day.reconcile(_seed(day, MismatchKind.ORDER_PAID_MISSING_AT_PROVIDER))
    mismatch = record.mismatches.get()
    assert (mismatch.order, mismatch.our_amount, mismatch.provider_amount) == (
        day.paid,
        Decimal("760.00"),
        None,
    )
    assert mismatch.merchant_order_no == day.payments["paid"].id.hex
    assert mismatch.organization == day.organization


def test_a_different_amount_shows_both():
    day = make_day("wechat")
    mismatch = day.reconcile(_seed(day, MismatchKind.AMOUNT_DIFFERS)).mismatches.get()
    assert (mismatch.our_amount, mismatch.provider_amount) == (Decimal("760.00"), Decimal("759.00"))


def test_a_foreign_charge_belongs_to_no_organization():
    day = make_day()
    mismatch = day.reconcile(
        _seed(day, MismatchKind.PROVIDER_CHARGE_WITHOUT_ORDER)
    ).mismatches.get()
    assert (mismatch.order, mismatch.organization, mismatch.provider_amount) == (
        None,
        None,
        Decimal("100.00"),
    )
    assert mismatch.detail == "no payment of ours"


def test_a_charge_recorded_on_the_neighbouring_day_is_a_timing_difference():
    day = make_day()
    paid_no = day.payments["paid"].id.hex
    moved = [ln for ln in day.lines() if ln.merchant_order_no == paid_no and ln.kind == CHARGE]
    rest = [ln for ln in day.lines() if ln not in moved]
    next_day = DAY.replace(day=23)
    services.import_statement(
        provider="alipay",
        day_on=next_day,
        data=generators.write_alipay(
            [
                dataclasses.replace(
                    moved[0],
                    occurred_at=moved[0].occurred_at.replace(day=22, hour=16, minute=0, second=1),
                )
            ],
            day_on=next_day,
        ),
        now=EVENING,
    )
    record = day.reconcile(day.file(rest))
    assert open_kinds(record) == []


def test_revoked_tickets_of_a_paid_order_are_found():
    day = make_day()
    from django.db import transaction

    with transaction.atomic():
        revoke_tickets(
            ticket_ids=list(
                Ticket.objects.filter(order_line__order=day.paid).values_list("pk", flat=True)
            ),
            reason="test",
            now=AFTERNOON,
        )
    assert open_kinds(day.reconcile()) == [MismatchKind.PAID_WITHOUT_TICKETS]


def test_live_tickets_of_a_refunded_order_are_found_and_revoked():
    day = make_day()
    from django.db import transaction

    from tessera.orders import services as orders

    with transaction.atomic():
        orders.refund_lines(
            order=day.paid,
            fees=dict.fromkeys(day.paid.lines.values_list("pk", flat=True), Decimal(0)),
            reference="x",
            reason="lines refunded, tickets forgotten",
            now=AFTERNOON,
        )
    record = day.reconcile()
    assert open_kinds(record) == [MismatchKind.REFUNDED_BUT_TICKETS_LIVE]
    mismatch = record.mismatches.get()
    tickets = sorted(Ticket.objects.filter(order_line__order=day.paid).values_list("pk", flat=True))
    assert sorted(mismatch.ticket_ids) == tickets
    services.resolve_mismatch(
        mismatch=mismatch, action=Action.REVOKE_TICKETS, actor=None, now=EVENING
    )
    assert set(Ticket.objects.filter(pk__in=tickets).values_list("status", flat=True)) == {
        TicketStatus.REVOKED
    }
    record.refresh_from_db()
    assert record.status == DayStatus.RECONCILED
    again = services.reconcile_day(provider="alipay", day_on=DAY, now=EVENING)
    assert open_kinds(again) == []
    assert again.mismatches.get().status == MismatchStatus.RESOLVED


def test_tickets_of_an_unpaid_order_are_found():
    day = make_day()
    for line in day.unpaid.lines.all():
        Ticket.objects.create(
            order_line=line, session=day.sale.session, unit=line.unit, issued_at=AFTERNOON
        )
    record = day.reconcile()
    assert open_kinds(record) == [MismatchKind.TICKETS_WITHOUT_PAYMENT]
    assert record.mismatches.get().order == day.unpaid


def test_a_refunded_ticket_admitted_at_the_gate_is_found():
    day = make_day()
    ticket = Ticket.objects.get(order_line__order=day.refunded)
    Scan.objects.create(
        session=day.sale.session,
        ticket_id=ticket.pk,
        version=1,
        direction=Direction.ENTRY,
        scanned_at=AFTERNOON,
        received_at=AFTERNOON,
        is_offline=True,
        is_accepted=True,
        reason="ok",
    )
    record = day.reconcile()
    assert open_kinds(record) == [MismatchKind.REFUNDED_BUT_SCANNED]
    assert record.figures["tickets_scanned"] == 1


def test_missing_tickets_are_issued_by_the_resolution():
    day = make_day()
    Ticket.objects.filter(order_line__order=day.paid).delete()
    record = day.reconcile()
    mismatch = record.mismatches.get()
    assert mismatch.kind == MismatchKind.PAID_WITHOUT_TICKETS
    assert services.actions_for(mismatch) == [Action.ISSUE_TICKETS, Action.EXPLAIN]
    services.resolve_mismatch(
        mismatch=mismatch, action=Action.ISSUE_TICKETS, actor=None, now=EVENING
    )
    assert Ticket.objects.filter(order_line__order=day.paid, status=TicketStatus.VALID).count() == 2
    record.refresh_from_db()
    assert record.status == DayStatus.RECONCILED
    assert AuditEntry.objects.filter(action="reconciliation.mismatch_resolved").count() == 1


def test_revoked_tickets_cannot_be_issued_again_and_nothing_changes():
    day = make_day()
    from django.db import transaction

    with transaction.atomic():
        revoke_tickets(
            ticket_ids=list(
                Ticket.objects.filter(order_line__order=day.paid).values_list("pk", flat=True)
            ),
            reason="test",
            now=AFTERNOON,
        )
    mismatch = day.reconcile().mismatches.get()
    with pytest.raises(ActionNotAllowed):
        services.resolve_mismatch(
            mismatch=mismatch, action=Action.ISSUE_TICKETS, actor=None, now=EVENING
        )
    mismatch.refresh_from_db()
    assert (mismatch.status, mismatch.action) == (MismatchStatus.OPEN, "")


def test_explaining_needs_a_note_and_survives_a_rerun():
    day = make_day()
    record = day.reconcile(_seed(day, MismatchKind.FEE_DIFFERS))
    mismatch = record.mismatches.get()
    with pytest.raises(NoteRequired):
        services.resolve_mismatch(mismatch=mismatch, action=Action.EXPLAIN, actor=None, now=EVENING)
    mismatch.refresh_from_db()
    assert mismatch.status == MismatchStatus.OPEN
    with pytest.raises(ActionNotAllowed):
        services.resolve_mismatch(
            mismatch=mismatch, action=Action.REFUND_CHARGE, actor=None, now=EVENING
        )
    services.resolve_mismatch(
        mismatch=mismatch,
        action=Action.EXPLAIN,
        note="promotional rate agreed for November",
        actor=None,
        now=EVENING,
    )
    record.refresh_from_db()
    assert record.status == DayStatus.RECONCILED
    with pytest.raises(MismatchClosed):
        services.resolve_mismatch(
            mismatch=mismatch, action=Action.EXPLAIN, note="x", actor=None, now=EVENING
        )
    again = services.reconcile_day(provider="alipay", day_on=DAY, now=EVENING)
    assert again.status == DayStatus.RECONCILED
    assert again.mismatches.get().status == MismatchStatus.EXPLAINED


def test_a_mismatch_no_longer_found_is_cleared_when_a_corrected_file_arrives():
    day = make_day()
    record = day.reconcile(_seed(day, MismatchKind.ORDER_PAID_MISSING_AT_PROVIDER))
    assert record.open_count == 1
    record = day.reconcile(day.file())
    assert record.status == DayStatus.RECONCILED
    assert record.mismatches.get().status == MismatchStatus.CLEARED
    assert ProviderStatement.objects.filter(statement_on=DAY).count() == 2
    assert AuditEntry.objects.filter(action="reconciliation.statement_replaced").count() == 1


def test_a_day_without_a_statement_stays_open_and_compares_nothing():
    make_day()
    record = services.reconcile_day(provider="alipay", day_on=DAY, now=EVENING)
    assert (record.status, record.statement, record.mismatches.count()) == (DayStatus.OPEN, None, 0)


def test_the_periodic_task_reconciles_days_whose_statement_arrived():
    day = make_day()
    services.import_statement(provider="alipay", day_on=DAY, data=day.file(), now=EVENING)
    from datetime import timedelta

    next_morning = MORNING + timedelta(days=1)
    [done] = services.reconcile_due_days(now=next_morning)
    assert (done.day_on, done.status) == (DAY, DayStatus.RECONCILED)
    assert services.reconcile_due_days(now=next_morning) == []


def test_a_second_charge_of_a_paid_order_is_refunded_by_the_resolution():
    from datetime import timedelta

    from tessera.orders import services as orders
    from tessera.payments import services as payments
    from tessera.payments.models import Payment, PaymentStatus
    from tessera.payments.providers import use_provider
    from tessera.reconciliation.tests.factories import AcceptingGateway

    day = make_day()
    extra = Payment.objects.create(
        order=day.paid,
        provider="alipay",
        amount=day.paid.total,
        currency="CNY",
        created_at=AFTERNOON,
    )
    orders.book_extra_payment(
        order=day.paid,
        payment_id=extra.pk,
        amount=extra.amount,
        currency="CNY",
        memo="x",
        now=AFTERNOON,
    )
    Payment.objects.filter(pk=extra.pk).update(
        status=PaymentStatus.SUCCEEDED, completed_at=AFTERNOON, provider_reference="2026112222009"
    )
    record = day.reconcile()
    assert open_kinds(record) == [MismatchKind.DUPLICATE_CHARGE]
    mismatch = record.mismatches.get()
    assert (mismatch.payment_id, mismatch.provider_amount, mismatch.our_amount) == (
        extra.pk,
        Decimal("760.00"),
        Decimal("0"),
    )
    from django.test import TestCase

    next_day = EVENING + timedelta(hours=12)
    with TestCase.captureOnCommitCallbacks(execute=False):
        services.resolve_mismatch(
            mismatch=mismatch, action=Action.REFUND_CHARGE, actor=None, now=next_day
        )
    [refund] = extra.refunds.all()
    assert refund.amount == Decimal("760.00")
    with use_provider(AcceptingGateway()):
        payments.execute_refund(refund_id=refund.pk, now=next_day)
    again = services.reconcile_day(provider="alipay", day_on=DAY, now=next_day)
    assert open_kinds(again) == []
    assert again.status == DayStatus.RECONCILED


def test_a_refund_the_provider_made_while_ours_waits_for_an_operator_is_booked():
    from django.db import transaction
    from django.test import TestCase

    from tessera.payments import services as payments
    from tessera.payments.models import Refund, RefundStatus
    from tessera.reconciliation.generators import StatementLine

    day = make_day()
    with TestCase.captureOnCommitCallbacks(execute=False), transaction.atomic():
        [refund] = payments.open_refunds(
            order=day.paid,
            amount=Decimal("100.00"),
            reason="goodwill",
            now=AFTERNOON,
            is_booked=False,
        )
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.STUCK, attempts=8)
    lines = day.lines()
    paid_no = day.payments["paid"].id.hex
    lines.append(
        StatementLine(
            kind=REFUND,
            trade_no=day.payments["paid"].provider_reference,
            merchant_order_no=paid_no,
            amount=Decimal("100.00"),
            fee=Decimal("0.00"),
            occurred_at=AFTERNOON,
            order_amount=Decimal("760.00"),
            refund_no=refund.pk.hex,
        )
    )
    record = day.reconcile(day.file(lines))
    assert open_kinds(record) == [MismatchKind.PROVIDER_REFUND_WITHOUT_OURS]
    mismatch = record.mismatches.get()
    assert mismatch.refund_id == refund.pk and mismatch.detail_text == "our refund is stuck"
    services.resolve_mismatch(mismatch=mismatch, action=Action.BOOK_REFUND, actor=None, now=EVENING)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert day.paid.ledger.filter(kind="refund").values_list("amount", flat=True).get() == Decimal(
        "-100.00"
    )
    again = services.reconcile_day(provider="alipay", day_on=DAY, now=EVENING)
    assert open_kinds(again) == []
