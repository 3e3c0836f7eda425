"""The figures of a statement, computed from the ledger (the rules: the package docstring).

Reads only; ``services`` writes what this computes. ``tie_to_ledger`` is the independent
check: one aggregate query over the same ledger rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import F, Q, Sum

from tessera.accounts.models import Organization, OrganizationKind
from tessera.core.models import AuditEntry
from tessera.core.money import round_money
from tessera.orders.models import LedgerEntry, LedgerKind, Order, OrderLine
from tessera.partners.models import CommissionBasis, Contract, SettlementCycle
from tessera.settlement.models import PartnerRole
from tessera.settlement.periods import Period, period_containing

ZERO = Decimal("0")
MONEY_FIELDS = ("gross", "refunds", "fees", "platform_fee", "commission", "net_payable")
COUNT_FIELDS = ("orders", "tickets_sold", "tickets_refunded")


def _chunks(ids: list, size: int = 2000):
    """Ids in slices small enough for any database's limit on query parameters."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _zero(name: str):
    return ZERO if name in MONEY_FIELDS else 0


_ROLE_OF_KIND = {
    OrganizationKind.ORGANIZER: PartnerRole.ORGANIZER,
    OrganizationKind.DISTRIBUTOR: PartnerRole.DISTRIBUTOR,
    OrganizationKind.VENUE_OPERATOR: PartnerRole.VENUE,
}


def role_of(organization: Organization) -> str | None:
    """The statement a partner organization gets (None: not a partner)."""
    return _ROLE_OF_KIND.get(organization.kind)


def contract_of(organization_id: int) -> Contract | None:
    return (
        Contract.objects.filter(organization_id=organization_id)
        .prefetch_related("commission_rules")
        .first()
    )


def terms_of(organization: Organization) -> tuple[str, str, Decimal]:
    """(cycle, currency, platform fee %) of the organization's contract; monthly, CNY and 0
    without one."""
    contract = contract_of(organization.pk)
    if contract is None:
        return SettlementCycle.MONTHLY, "CNY", ZERO
    return contract.settlement_cycle, contract.currency, contract.platform_fee_percent


def ledger_scope(organization_id: int, role: str) -> Q:
    """The ledger entries that belong in this partner's statements."""
    if role == PartnerRole.DISTRIBUTOR:
        return Q(order__channel__organization_id=organization_id)
    if role == PartnerRole.ORGANIZER:
        return Q(order__session__event__organization_id=organization_id)
    return Q(order__session__layout__venue__organization_id=organization_id)


def ledger_entries(organization_id: int, role: str, period: Period, currency: str):
    return LedgerEntry.objects.filter(
        ledger_scope(organization_id, role),
        at__gte=period.start_at,
        at__lt=period.end_at,
        currency=currency,
    )


def refunded_lines(order_ids) -> dict[tuple[int, str], list[int]]:
    """(order id, reference) → the order lines that refund gave back, from the audit entry
    ``orders.refund_lines`` writes in the refund's own transaction."""
    found: dict[tuple[int, str], list[int]] = {}
    rows = (
        row
        for chunk in _chunks(sorted(set(order_ids)))
        for row in AuditEntry.objects.filter(
            action="order.lines_refunded",
            object_type="orders.order",
            object_id__in=[str(pk) for pk in chunk],
        ).values_list("object_id", "data")
    )
    for object_id, data in rows:
        reference = str((data or {}).get("reference", ""))
        lines = [int(pk) for pk in (data or {}).get("lines", []) if str(pk).isdigit()]
        if reference:
            found.setdefault((int(object_id), reference), []).extend(lines)
    return found


class CommissionBook:
    """What distributors earn per ticket: rules of their contracts, tiers per period
    (cached for one computation)."""

    def __init__(self) -> None:
        self._contracts: dict[int, Contract | None] = {}
        self._tiers: dict[tuple[int, str, object], int] = {}

    def contract(self, distributor_id: int) -> Contract | None:
        if distributor_id not in self._contracts:
            contract = contract_of(distributor_id)
            if contract is not None and contract.organization.kind != OrganizationKind.DISTRIBUTOR:
                contract = None
            self._contracts[distributor_id] = contract
        return self._contracts[distributor_id]

    def tier_count(self, distributor_id: int, period: Period) -> int:
        """The distributor's net tickets of ``period``: sold through its channels in the
        period and not refunded before the period's end."""
        key = (distributor_id, period.cycle, period.starts_on)
        if key not in self._tiers:
            sold_orders = set(
                LedgerEntry.objects.filter(
                    kind=LedgerKind.CHARGE,
                    order__channel__organization_id=distributor_id,
                    at__gte=period.start_at,
                    at__lt=period.end_at,
                    at=F("order__paid_at"),
                ).values_list("order_id", flat=True)
            )
            sold = {
                pk
                for chunk in _chunks(sorted(sold_orders))
                for pk in OrderLine.objects.filter(order_id__in=chunk).values_list("pk", flat=True)
            }
            refunds = [
                row
                for chunk in _chunks(sorted(sold_orders))
                for row in LedgerEntry.objects.filter(
                    kind=LedgerKind.REFUND, order_id__in=chunk, at__lt=period.end_at
                ).values_list("order_id", "reference")
            ]
            mapped = refunded_lines(sold_orders)
            given_back = {
                line
                for order_id, reference in refunds
                for line in mapped.get((order_id, reference), ())
            }
            self._tiers[key] = len(sold - given_back)
        return self._tiers[key]

    def rule_for(self, distributor_id: int, event_id: int, sold_at: datetime):
        contract = self.contract(distributor_id)
        if contract is None:
            return None
        rules = list(contract.commission_rules.all())
        own = [r for r in rules if r.event_id == event_id]
        candidates = own or [r for r in rules if r.event_id is None]
        if not candidates:
            return None
        reached = self.tier_count(
            distributor_id, period_containing(sold_at, contract.settlement_cycle)
        )
        tiers = [r for r in candidates if r.min_tickets <= reached]
        return max(tiers, key=lambda r: r.min_tickets) if tiers else None

    def of_ticket(
        self, distributor_id: int, event_id: int, price: Decimal, sold_at: datetime
    ) -> Decimal:
        """What one ticket of ``price`` sold at ``sold_at`` earns, rounded to the cent."""
        rule = self.rule_for(distributor_id, event_id, sold_at)
        if rule is None:
            return ZERO
        if rule.basis == CommissionBasis.PERCENT:
            return round_money(price * rule.value / Decimal(100))
        return round_money(rule.value)


@dataclass
class LineFigures:
    session_id: int
    event_name: str
    event_name_en: str
    session_starts_at: datetime
    orders: int = 0
    tickets_sold: int = 0
    tickets_refunded: int = 0
    gross: Decimal = ZERO
    refunds: Decimal = ZERO
    fees: Decimal = ZERO
    platform_fee: Decimal = ZERO
    commission: Decimal = ZERO
    net_payable: Decimal = ZERO

    def values(self) -> dict:
        return {name: getattr(self, name) for name in COUNT_FIELDS + MONEY_FIELDS}


@dataclass
class StatementFigures:
    organization_id: int
    role: str
    period: Period
    currency: str
    platform_fee_percent: Decimal
    lines: list[LineFigures] = field(default_factory=list)

    def totals(self) -> dict:
        return {
            name: sum((getattr(line, name) for line in self.lines), _zero(name))
            for name in COUNT_FIELDS + MONEY_FIELDS
        }


def compute(
    organization: Organization,
    period: Period,
    *,
    role: str | None = None,
    currency: str | None = None,
    platform_fee_percent: Decimal | None = None,
    book: CommissionBook | None = None,
) -> StatementFigures:
    """The statement figures of ``organization`` for ``period`` from the ledger."""
    role = role or role_of(organization)
    _cycle, contract_currency, contract_fee = terms_of(organization)
    currency = currency or contract_currency
    fee_percent = contract_fee if platform_fee_percent is None else platform_fee_percent
    if role != PartnerRole.ORGANIZER:
        fee_percent = ZERO
    book = book or CommissionBook()
    entries = list(
        ledger_entries(organization.pk, role, period, currency)
        .select_related("order__session__event", "order__channel__organization")
        .order_by("at", "id")
    )
    orders: dict[int, Order] = {e.order_id: e.order for e in entries}
    # the sale charge of an order: its first charge booked at the moment it was paid
    sale_charge: dict[int, int] = {}
    for e in entries:
        is_sale = e.kind == LedgerKind.CHARGE and e.at == e.order.paid_at
        if is_sale and e.order_id not in sale_charge:
            sale_charge[e.order_id] = e.pk
    lines_of: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    refunds = [e for e in entries if e.kind == LedgerKind.REFUND and e.reference]
    wanted_lines = set(sale_charge)
    mapped = refunded_lines({e.order_id for e in refunds}) if refunds else {}
    refunded_ids = {pk for e in refunds for pk in mapped.get((e.order_id, e.reference), ())}
    line_rows = {
        row[0]: row
        for chunks, field in (
            (_chunks(sorted(wanted_lines)), "order_id__in"),
            (_chunks(sorted(refunded_ids)), "pk__in"),
        )
        for chunk in chunks
        for row in OrderLine.objects.filter(**{field: chunk}).values_list("pk", "order_id", "price")
    }.values()
    price_of: dict[int, Decimal] = {}
    for pk, order_id, price in line_rows:
        price_of[pk] = price
        if order_id in wanted_lines:
            lines_of[order_id].append((pk, price))

    def distributor(order: Order) -> int | None:
        if role == PartnerRole.VENUE or order.channel_id is None:
            return None
        dist = order.channel.organization
        if dist.kind != OrganizationKind.DISTRIBUTOR or book.contract(dist.pk) is None:
            return None
        return dist.pk

    by_session: dict[int, LineFigures] = {}
    for e in entries:
        order = orders[e.order_id]
        session = order.session
        line = by_session.get(session.pk)
        if line is None:
            line = by_session[session.pk] = LineFigures(
                session_id=session.pk,
                event_name=session.event.name,
                event_name_en=session.event.name_en,
                session_starts_at=session.starts_at,
            )
        dist = distributor(order)
        if e.kind == LedgerKind.CHARGE:
            line.gross += e.amount
            if sale_charge.get(e.order_id) == e.pk:
                line.orders += 1
                line.tickets_sold += len(lines_of[e.order_id])
                if dist is not None:
                    line.commission += sum(
                        (
                            book.of_ticket(dist, session.event_id, price, order.paid_at)
                            for _pk, price in lines_of[e.order_id]
                        ),
                        ZERO,
                    )
        elif e.kind == LedgerKind.REFUND:
            line.refunds -= e.amount
            given_back = mapped.get((e.order_id, e.reference), []) if e.reference else []
            line.tickets_refunded += len(given_back)
            if dist is not None and order.paid_at is not None:
                line.commission -= sum(
                    (
                        book.of_ticket(dist, session.event_id, price_of[pk], order.paid_at)
                        for pk in given_back
                        if pk in price_of
                    ),
                    ZERO,
                )
        elif e.kind == LedgerKind.FEE:
            line.fees += e.amount
    for line in by_session.values():
        collected = line.gross - line.refunds + line.fees
        if role == PartnerRole.ORGANIZER:
            line.platform_fee = round_money((line.gross - line.refunds) * fee_percent / 100)
            line.net_payable = collected - line.platform_fee - line.commission
        elif role == PartnerRole.DISTRIBUTOR:
            line.net_payable = collected - line.commission
        else:
            line.commission = ZERO
            line.net_payable = ZERO
    return StatementFigures(
        organization_id=organization.pk,
        role=role,
        period=period,
        currency=currency,
        platform_fee_percent=fee_percent,
        lines=sorted(by_session.values(), key=lambda ln: (ln.session_starts_at, ln.session_id)),
    )


@dataclass
class TieCheck:
    ok: bool
    ledger: dict
    statement: dict
    lines_add_up: bool

    def __bool__(self) -> bool:
        return self.ok


def tie_to_ledger(statement) -> TieCheck:
    """Whether ``statement``'s gross, refunds and fees equal the ledger's sums for its
    partner, period and currency to the cent, and its lines add up to its totals."""
    period = Period(statement.cycle, statement.starts_on, statement.ends_on)
    sums = ledger_entries(
        statement.organization_id, statement.role, period, statement.currency
    ).aggregate(
        charges=Sum("amount", filter=Q(kind=LedgerKind.CHARGE)),
        refunds=Sum("amount", filter=Q(kind=LedgerKind.REFUND)),
        fees=Sum("amount", filter=Q(kind=LedgerKind.FEE)),
    )
    ledger = {
        "gross": sums["charges"] or ZERO,
        "refunds": -(sums["refunds"] or ZERO),
        "fees": sums["fees"] or ZERO,
    }
    shown = {name: getattr(statement, name) for name in ledger}
    lines = list(statement.lines.all())
    lines_add_up = all(
        sum((getattr(line, name) for line in lines), _zero(name)) == getattr(statement, name)
        for name in COUNT_FIELDS + MONEY_FIELDS
    )
    ok = lines_add_up and all(ledger[name] == shown[name] for name in ledger)
    return TieCheck(ok=ok, ledger=ledger, statement=shown, lines_add_up=lines_add_up)
