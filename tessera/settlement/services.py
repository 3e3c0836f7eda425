"""Settlement statements: generate, approve, mark paid. One transaction each, audited.

Locks: a statement row (``select_for_update``) is the only lock; generation takes it after
inserting the row if missing (``get_or_create`` on the unique organization/cycle/period), so
two workers generating the same statement at once give one statement.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import IntegrityError, transaction

from tessera.accounts.models import Membership, Organization, Role
from tessera.accounts.selectors import is_platform_operator
from tessera.core import audit
from tessera.partners.models import Contract
from tessera.settlement import figures
from tessera.settlement.errors import (
    NotAllowedToSettle,
    NotAPartner,
    PaymentDetailsInvalid,
    PeriodInvalid,
    StatementNotApprovable,
    StatementNotPayable,
)
from tessera.settlement.models import Statement, StatementLine, StatementStatus
from tessera.settlement.periods import Period, last_ended, local_day, period_starting

APPROVER_ROLES = (Role.FINANCE, Role.OWNER)


def may_settle(user, organization_id: int) -> bool:
    """Finance members and owners of the organization, and platform operators."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if is_platform_operator(user):
        return True
    return Membership.objects.filter(
        user=user, organization_id=organization_id, role__in=APPROVER_ROLES
    ).exists()


def _write_figures(statement: Statement, computed: figures.StatementFigures, now) -> None:
    for name, value in computed.totals().items():
        setattr(statement, name, value)
    statement.platform_fee_percent = computed.platform_fee_percent
    statement.generated_at = now
    statement.save()
    statement.lines.all().delete()
    StatementLine.objects.bulk_create(
        StatementLine(
            statement=statement,
            session_id=line.session_id,
            event_name=line.event_name[:200],
            event_name_en=(line.event_name_en or "")[:200],
            session_starts_at=line.session_starts_at,
            **line.values(),
        )
        for line in computed.lines
    )


def generate_statement(
    *, organization: Organization, starts_on: date, now: datetime, actor=None
) -> Statement:
    """The statement of ``organization`` for its period (its contract's cycle) that starts on
    ``starts_on``: created, or its figures replaced while it is a draft; an approved or paid
    statement is returned unchanged. Raises NotAPartner, PeriodInvalid (not a period's first
    day, or the period has not ended)."""
    role = figures.role_of(organization)
    if role is None:
        raise NotAPartner()
    cycle, currency, _fee = figures.terms_of(organization)
    period = period_starting(starts_on, cycle)
    if period is None or period.end_at > now:
        raise PeriodInvalid(details={"starts_on": str(starts_on), "cycle": cycle})
    with transaction.atomic(durable=True):
        try:
            with transaction.atomic():
                statement, created = Statement.objects.get_or_create(
                    organization=organization,
                    cycle=cycle,
                    starts_on=period.starts_on,
                    defaults={
                        "role": role,
                        "ends_on": period.ends_on,
                        "currency": currency,
                        "generated_at": now,
                    },
                )
        except IntegrityError:
            statement, created = (
                Statement.objects.get(
                    organization=organization, cycle=cycle, starts_on=period.starts_on
                ),
                False,
            )
        statement = Statement.objects.select_for_update().get(pk=statement.pk)
        if statement.is_frozen:
            return statement
        computed = figures.compute(organization, period, role=role, currency=currency)
        _write_figures(statement, computed, now)
        audit.record(
            action="statement.generated" if created else "statement.regenerated",
            obj=statement,
            actor=actor,
            organization_id=organization.pk,
            now=now,
            data={
                "period": [str(period.starts_on), str(period.ends_on)],
                "gross": str(statement.gross),
                "net_payable": str(statement.net_payable),
            },
        )
    return statement


def regenerate_statement(*, statement: Statement, now: datetime, actor=None) -> Statement:
    return generate_statement(
        organization=statement.organization, starts_on=statement.starts_on, now=now, actor=actor
    )


def approve_statement(*, statement: Statement, actor, now: datetime) -> Statement:
    """Draft → approved, by a finance member or owner of the statement's organization or a
    platform operator. The figures are recomputed first; a statement that does not tie to
    the ledger is refused. Raises NotAllowedToSettle, StatementNotApprovable."""
    if not may_settle(actor, statement.organization_id):
        raise NotAllowedToSettle()
    with transaction.atomic(durable=True):
        locked = Statement.objects.select_for_update().get(pk=statement.pk)
        if locked.status != StatementStatus.DRAFT:
            raise StatementNotApprovable(details={"status": locked.status})
        check = figures.tie_to_ledger(locked)
        if not check:
            raise StatementNotApprovable(details={k: str(v) for k, v in check.ledger.items()})
        locked.status = StatementStatus.APPROVED
        locked.approved_at = now
        locked.approved_by = actor
        locked.save(update_fields=["status", "approved_at", "approved_by"])
        audit.record(
            action="statement.approved",
            obj=locked,
            actor=actor,
            organization_id=locked.organization_id,
            now=now,
            data={"net_payable": str(locked.net_payable), "currency": locked.currency},
        )
    return locked


def mark_statement_paid(
    *, statement: Statement, actor, reference: str, paid_on: date, now: datetime
) -> Statement:
    """Approved → paid, with the payment's reference and date. Raises NotAllowedToSettle,
    StatementNotPayable, PaymentDetailsInvalid."""
    if not may_settle(actor, statement.organization_id):
        raise NotAllowedToSettle()
    reference = (reference or "").strip()
    if (
        not reference
        or len(reference) > 80
        or any(ord(ch) < 32 for ch in reference)
        or not isinstance(paid_on, date)
        or paid_on > local_day(now)
    ):
        raise PaymentDetailsInvalid()
    with transaction.atomic(durable=True):
        locked = Statement.objects.select_for_update().get(pk=statement.pk)
        if locked.status != StatementStatus.APPROVED:
            raise StatementNotPayable(details={"status": locked.status})
        locked.status = StatementStatus.PAID
        locked.paid_on = paid_on
        locked.payment_reference = reference
        locked.paid_by = actor
        locked.save(update_fields=["status", "paid_on", "payment_reference", "paid_by"])
        audit.record(
            action="statement.paid",
            obj=locked,
            actor=actor,
            organization_id=locked.organization_id,
            now=now,
            data={"reference": reference, "paid_on": str(paid_on)},
        )
    return locked


def generate_due_statements(*, now: datetime) -> int:
    """Draft the last ended period's statement of every active partner with a contract that
    has none yet. Idempotent; returns how many it made."""
    made = 0
    contracts = Contract.objects.select_related("organization").filter(organization__is_active=True)
    for contract in contracts:
        organization = contract.organization
        if figures.role_of(organization) is None:
            continue
        period: Period = last_ended(now, contract.settlement_cycle)
        if contract.starts_on > period.ends_on:
            continue
        if Statement.objects.filter(
            organization=organization, cycle=contract.settlement_cycle, starts_on=period.starts_on
        ).exists():
            continue
        generate_statement(organization=organization, starts_on=period.starts_on, now=now)
        made += 1
    return made
