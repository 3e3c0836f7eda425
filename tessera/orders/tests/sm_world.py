"""The state machine's view of one session's purchase data, and the invariants over it.

``World.read`` loads every row of the session that the purchase core writes (units, holds,
orders, lines, ledger, tickets, revocations, payments, refunds, sandbox trades) in a dozen
queries; ``check_invariants`` checks the rules that must hold after any sequence of service
calls; ``changes`` says which rows differ between two worlds, so a refused call can be shown
to have changed nothing and a successful one to have changed only what it should.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.db import connections

from tessera.core.money import to_minor_units
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.orders.models import LedgerEntry, LedgerKind, LineStatus, Order, OrderLine, OrderStatus
from tessera.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from tessera.sandbox.models import SandboxTrade
from tessera.sandbox.signing import SIGNATURE_HEADER, sign
from tessera.tickets.models import Revocation, Ticket, TicketStatus

PAID_STATES = (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED)
UNPAID_STATES = (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED, OrderStatus.CANCELLED)
ZERO = Decimal("0.00")


class UnitRow(NamedTuple):
    status: str
    hold_id: object
    hold_expires_at: datetime | None
    order_line_id: int | None
    zone_id: int
    seat_id: int | None


class HoldRow(NamedTuple):
    user_id: int
    status: str
    quantity: int
    expires_at: datetime
    extensions: int


class OrderRow(NamedTuple):
    user_id: int
    hold_id: object
    status: str
    total: Decimal
    currency: str
    expires_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None


class LineRow(NamedTuple):
    order_id: int
    unit_id: int
    status: str
    price: Decimal


class LedgerRow(NamedTuple):
    order_id: int
    kind: str
    amount: Decimal
    payment_id: object
    reference: str


class TicketRow(NamedTuple):
    order_line_id: int
    unit_id: int
    status: str
    version: int


class PaymentRow(NamedTuple):
    order_id: int
    status: str
    amount: Decimal
    callback_sequence: int


class RefundRow(NamedTuple):
    payment_id: object
    amount: Decimal
    status: str


class TradeRow(NamedTuple):
    status: str
    sequence: int
    amount_minor: int
    refunded_minor: int


@dataclass(frozen=True)
class World:
    units: dict[int, UnitRow]
    holds: dict[object, HoldRow]
    orders: dict[int, OrderRow]
    lines: dict[int, LineRow]
    ledger: dict[int, LedgerRow]
    tickets: dict[int, TicketRow]
    revocations: dict[tuple[int, int], str]
    payments: dict[object, PaymentRow]
    refunds: dict[object, RefundRow]
    trades: dict[object, TradeRow]

    @classmethod
    def read(cls, session) -> World:
        return WorldReader(session).read()

    # -- reads the rules and the predictions share ------------------------------------------

    def holdable(self, unit_id: int, now: datetime) -> bool:
        """What the hold statement takes: available, or held by an expired hold."""
        unit = self.units[unit_id]
        return unit.status == UnitStatus.AVAILABLE or (
            unit.status == UnitStatus.HELD and unit.hold_expires_at < now
        )

    def account_units(self, user_id: int, now: datetime) -> int:
        """Places the user holds (live) or bought: the per-account limit's count."""
        return sum(
            1
            for unit in self.units.values()
            if unit.hold_id is not None
            and self.holds[unit.hold_id].user_id == user_id
            and (
                unit.status == UnitStatus.SOLD
                or (unit.status == UnitStatus.HELD and unit.hold_expires_at >= now)
            )
        )

    def held_by(self, hold_id) -> set[int]:
        return {
            u
            for u, unit in self.units.items()
            if unit.hold_id == hold_id and unit.status == UnitStatus.HELD
        }

    def lines_of(self, order_id: int) -> dict[int, LineRow]:
        return {n: line for n, line in self.lines.items() if line.order_id == order_id}

    def ledger_sum(self, order_id: int) -> Decimal:
        return sum((e.amount for e in self.ledger.values() if e.order_id == order_id), ZERO)

    def charge_of(self, payment_id) -> LedgerRow | None:
        charges = [
            e
            for e in self.ledger.values()
            if e.kind == LedgerKind.CHARGE and e.payment_id == payment_id
        ]
        assert len(charges) <= 1, f"payment {payment_id} charged {len(charges)} times"
        return charges[0] if charges else None


class _Compiled:
    """One values_list query, compiled to SQL once and run many times.

    A step reads ten tables; letting the ORM build and compile the same ten queries at
    every step cost half of the machine's run time. The compiler's own converters still
    turn the rows into Python values (aware datetimes, Decimals, UUIDs, JSON)."""

    def __init__(self, queryset):
        self.compiler = queryset.query.get_compiler(queryset.db)
        self.sql, self.params = self.compiler.as_sql()

    def rows(self) -> list[tuple]:
        with connections[self.compiler.using].cursor() as cursor:
            cursor.execute(self.sql, self.params)
            fetched = cursor.fetchall()
        return list(self.compiler.results_iter(results=[fetched]))


class WorldReader:
    """Reads the World of one session, again and again."""

    def __init__(self, session):
        payments = Payment.objects.filter(order__session=session)
        self.queries = {
            "units": InventoryUnit.objects.filter(session=session).values_list(
                "id",
                "status",
                "hold_id",
                "hold_expires_at",
                "order_line_id",
                "zone_id",
                "seat_id",
            ),
            "holds": Hold.objects.filter(session=session).values_list(
                "id", "user_id", "status", "quantity", "expires_at", "extensions"
            ),
            "orders": Order.objects.filter(session=session).values_list(
                "id",
                "user_id",
                "hold_id",
                "status",
                "total",
                "currency",
                "expires_at",
                "paid_at",
                "closed_at",
            ),
            "lines": OrderLine.objects.filter(order__session=session).values_list(
                "id", "order_id", "unit_id", "status", "price"
            ),
            "ledger": LedgerEntry.objects.filter(order__session=session).values_list(
                "id", "order_id", "kind", "amount", "payment_id", "reference"
            ),
            "tickets": Ticket.objects.filter(session=session).values_list(
                "id", "order_line_id", "unit_id", "status", "version"
            ),
            "revocations": Revocation.objects.filter(session=session).values_list(
                "ticket_id", "version", "reason"
            ),
            "payments": payments.values_list(
                "id", "order_id", "status", "amount", "callback_sequence"
            ),
            "refunds": Refund.objects.filter(payment__order__session=session).values_list(
                "id", "payment_id", "amount", "status"
            ),
            "trades": SandboxTrade.objects.filter(payment_id__in=payments.values("id")).values_list(
                "payment_id", "status", "sequence", "amount_minor", "refunds"
            ),
        }
        self.compiled = {name: _Compiled(qs) for name, qs in self.queries.items()}

    def read(self) -> World:
        rows = {name: query.rows() for name, query in self.compiled.items()}
        row_types = {
            "units": UnitRow,
            "holds": HoldRow,
            "orders": OrderRow,
            "lines": LineRow,
            "ledger": LedgerRow,
            "tickets": TicketRow,
            "payments": PaymentRow,
            "refunds": RefundRow,
        }
        tables = {
            name: {key: row_type(*rest) for key, *rest in rows[name]}
            for name, row_type in row_types.items()
        }
        return World(
            **tables,
            revocations={(t, v): reason for t, v, reason in rows["revocations"]},
            trades={
                payment_id: TradeRow(
                    status, sequence, amount_minor, sum(int(v) for v in refunds.values())
                )
                for payment_id, status, sequence, amount_minor, refunds in rows["trades"]
            },
        )


def changes(before: World, after: World) -> dict[str, set]:
    """Table name → keys of rows added, removed or changed between two worlds."""
    changed = {}
    for table in fields(World):
        old, new = getattr(before, table.name), getattr(after, table.name)
        keys = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
        if keys:
            changed[table.name] = keys
    return changed


def assert_changed_only(before: World, after: World, **allowed: set) -> dict[str, set]:
    """Every changed row is one of ``allowed[table]``; returns what changed."""
    changed = changes(before, after)
    unexpected = {
        table: sorted(map(str, keys - set(allowed.get(table, ()))))
        for table, keys in changed.items()
        if keys - set(allowed.get(table, ()))
    }
    assert not unexpected, f"rows changed that this call must not touch: {unexpected}"
    return changed


def assert_unchanged(before: World, after: World) -> None:
    assert_changed_only(before, after)


# -- invariants ----------------------------------------------------------------------------------


def check_invariants(
    world: World,
    *,
    now: datetime,
    capacity: int,
    max_per_account: int,
    refunded_lines: set[int],
    fees_kept: dict[int, Decimal],
) -> None:
    """The rules of the purchase core, over one session's rows.

    ``refunded_lines`` are the lines the refund rule refunded (line refunded, place back on
    sale, ticket revoked, ledger refund of the price); ``fees_kept`` the refund fees the
    policy says each order keeps.
    """
    _check_units_and_holds(world, now=now, capacity=capacity, refunded_lines=refunded_lines)
    _check_tickets(world, refunded_lines=refunded_lines)
    _check_money(world, refunded_lines=refunded_lines, fees_kept=fees_kept)
    _check_account_limit(world, now=now, max_per_account=max_per_account)


def _paid_order_states(world: World, order_id: int, refunded_lines: set[int]) -> tuple:
    """Order states in which an order owns sold places: paid, fulfilled, partially refunded,
    and refunded once every line was refunded by the refund rule."""
    lines = set(world.lines_of(order_id))
    if lines and lines <= refunded_lines:
        return (*PAID_STATES, OrderStatus.REFUNDED)
    return PAID_STATES


def _check_units_and_holds(
    world: World, *, now: datetime, capacity: int, refunded_lines: set[int]
) -> None:
    assert len(world.units) == capacity
    sold_lines: Counter[int] = Counter()
    for unit_id, unit in world.units.items():
        if unit.status == UnitStatus.HELD:
            hold = world.holds.get(unit.hold_id)
            assert hold is not None, f"held unit {unit_id} has no hold of this session"
            assert hold.status in (HoldStatus.ACTIVE, HoldStatus.ORDERED), (
                f"unit {unit_id} still held by {hold.status} hold {unit.hold_id}"
            )
            assert unit.hold_expires_at == hold.expires_at, f"unit {unit_id}: stale expiry"
            assert unit.order_line_id is None, f"held unit {unit_id} points at a line"
        elif unit.status == UnitStatus.SOLD:
            line = world.lines.get(unit.order_line_id)
            assert line is not None, f"sold unit {unit_id} has no order line"
            assert line.unit_id == unit_id, f"sold unit {unit_id}: its line is for {line.unit_id}"
            assert line.status == LineStatus.ACTIVE, f"sold unit {unit_id}: line {line.status}"
            order = world.orders[line.order_id]
            assert order.status in _paid_order_states(world, line.order_id, refunded_lines), (
                f"sold unit {unit_id} belongs to a {order.status} order"
            )
            assert unit.hold_id == order.hold_id, f"sold unit {unit_id}: not its order's hold"
            assert world.holds[order.hold_id].status == HoldStatus.SOLD
            assert unit.hold_expires_at is None
            sold_lines[unit.order_line_id] += 1
        else:  # available (blocked places are not part of this machine)
            assert unit.status == UnitStatus.AVAILABLE
            assert (unit.hold_id, unit.hold_expires_at, unit.order_line_id) == (None, None, None)
    assert all(n == 1 for n in sold_lines.values()), "one order line sold two places"
    assert sum(sold_lines.values()) <= capacity

    # Every active line of an order that owns places has exactly its place, sold to it; a
    # refunded line has none (its place went back on sale).
    owning = Counter()
    for line_id, line in world.lines.items():
        order = world.orders[line.order_id]
        if line_id in refunded_lines:
            assert line.status == LineStatus.REFUNDED, f"refunded line {line_id} is {line.status}"
            unit = world.units[line.unit_id]
            assert unit.order_line_id != line_id, f"refunded line {line_id} still owns its place"
            continue
        if order.status in PAID_STATES or order.status == OrderStatus.REFUNDED:
            assert line.status == LineStatus.ACTIVE, f"line {line_id} of a paid order is void"
            unit = world.units[line.unit_id]
            assert (unit.status, unit.order_line_id) == (UnitStatus.SOLD, line_id), (
                f"line {line_id} of paid order {line.order_id} does not own unit {line.unit_id}"
            )
            owning[line.unit_id] += 1
    assert all(n == 1 for n in owning.values()), "a place is sold to two order lines"

    for order_id, order in world.orders.items():
        if order.status == OrderStatus.PENDING_PAYMENT:
            # The pay-before time is the hold's expiry, extension included.
            assert order.expires_at == world.holds[order.hold_id].expires_at, (
                f"order {order_id} must be paid by {order.expires_at}, its hold runs to "
                f"{world.holds[order.hold_id].expires_at}"
            )

    for hold_id, hold in world.holds.items():
        units_of_hold = [u for u in world.units.values() if u.hold_id == hold_id]
        if hold.status == HoldStatus.SOLD:
            returned = sum(
                1
                for n in refunded_lines
                if world.orders[world.lines[n].order_id].hold_id == hold_id
            )
            assert len(units_of_hold) == hold.quantity - returned
            assert all(u.status == UnitStatus.SOLD for u in units_of_hold)
        elif hold.status == HoldStatus.RELEASED:
            assert not units_of_hold, f"released hold {hold_id} still holds places"
        elif hold.expires_at > now:  # live: nobody else can have taken its places
            assert len(units_of_hold) == hold.quantity, f"live hold {hold_id} lost places"
            assert all(u.status == UnitStatus.HELD for u in units_of_hold)


def _check_tickets(world: World, *, refunded_lines: set[int]) -> None:
    per_line = Counter(t.order_line_id for t in world.tickets.values())
    assert all(n == 1 for n in per_line.values()), "an order line has two tickets"
    valid_units: Counter[int] = Counter()
    for ticket_id, ticket in world.tickets.items():
        line = world.lines[ticket.order_line_id]
        assert ticket.unit_id == line.unit_id
        if ticket.status == TicketStatus.VALID:
            assert ticket.order_line_id not in refunded_lines, (
                f"ticket {ticket_id} of a refunded line is still valid"
            )
            unit = world.units[ticket.unit_id]
            assert (unit.status, unit.order_line_id) == (UnitStatus.SOLD, ticket.order_line_id), (
                f"valid ticket {ticket_id} for a place not sold to its line"
            )
            valid_units[ticket.unit_id] += 1
        else:
            assert ticket.order_line_id in refunded_lines, f"ticket {ticket_id} revoked unasked"
            assert (ticket_id, ticket.version - 1) in world.revocations
    assert all(n == 1 for n in valid_units.values()), "a place has two valid tickets"
    sold_unrefunded = {
        u
        for u, unit in world.units.items()
        if unit.status == UnitStatus.SOLD and unit.order_line_id not in refunded_lines
    }
    assert set(valid_units) == sold_unrefunded, (
        f"sold places without a valid ticket: {sorted(sold_unrefunded - set(valid_units))}, "
        f"valid tickets for unsold places: {sorted(set(valid_units) - sold_unrefunded)}"
    )
    for line_id in refunded_lines:
        revoked = [t for t in world.tickets.values() if t.order_line_id == line_id]
        assert [t.status for t in revoked] == [TicketStatus.REVOKED]


def _check_money(world: World, *, refunded_lines: set[int], fees_kept: dict[int, Decimal]) -> None:
    charges = Counter(e.payment_id for e in world.ledger.values() if e.kind == LedgerKind.CHARGE)
    assert all(n == 1 for n in charges.values()), "a payment was charged twice"
    for entry in world.ledger.values():
        if entry.kind == LedgerKind.CHARGE:
            payment = world.payments[entry.payment_id]
            assert payment.order_id == entry.order_id, "a charge booked on another order"
            assert entry.amount == payment.amount > 0
        elif entry.kind == LedgerKind.FEE:
            assert entry.amount > 0
        else:
            assert entry.kind == LedgerKind.REFUND and entry.amount < 0

    refunded_by_order: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line_id in refunded_lines:
        line = world.lines[line_id]
        refunded_by_order[line.order_id] += line.price
    for order_id, order in world.orders.items():
        total = world.ledger_sum(order_id)
        paying = [
            p
            for p, row in world.payments.items()
            if row.order_id == order_id and row.status == PaymentStatus.SUCCEEDED
        ]
        fees = fees_kept.get(order_id, ZERO)
        booked_fees = sum(
            (e.amount for e in world.ledger.values() if e.order_id == order_id and e.kind == "fee"),
            ZERO,
        )
        assert booked_fees == fees, f"order {order_id}: fees booked {booked_fees}, kept {fees}"
        if order.status in (OrderStatus.PAID, OrderStatus.FULFILLED):
            expected = order.total
            assert len(paying) == 1 and not refunded_by_order[order_id]
        elif order.status == OrderStatus.PARTIALLY_REFUNDED:
            expected = order.total - refunded_by_order[order_id] + fees
            assert len(paying) == 1 and 0 < refunded_by_order[order_id] < order.total
        elif order.status == OrderStatus.REFUNDED:
            expected = fees
            assert len(paying) == 1
            assert refunded_by_order[order_id] == order.total
        else:  # never paid, or paid for places it could not get and refunded in full
            expected = ZERO
        assert total == expected, (
            f"order {order_id} ({order.status}, total {order.total}): ledger sums to {total}, "
            f"expected {expected}"
        )
        if order.status in UNPAID_STATES:
            assert not [n for n in refunded_lines if world.lines[n].order_id == order_id]

    for payment_id, payment in world.payments.items():
        order = world.orders[payment.order_id]
        trade = world.trades.get(payment_id)
        charge = world.charge_of(payment_id)
        refunds = [r for r in world.refunds.values() if r.payment_id == payment_id]
        assert all(r.status == RefundStatus.SUCCEEDED for r in refunds), "a refund is stuck"
        given_back = sum((r.amount for r in refunds), ZERO)
        if payment.status == PaymentStatus.SUCCEEDED:
            # The money bought the order: charged on it, the order owns its places; what
            # after-sales refunded went back at the gateway, the fees kept.
            assert charge is not None
            assert order.status in (*PAID_STATES, OrderStatus.REFUNDED)
            expected_back = refunded_by_order[payment.order_id] - fees_kept.get(
                payment.order_id, ZERO
            )
            assert given_back == expected_back, (payment_id, given_back, expected_back)
            assert trade.status == "paid"
            assert trade.refunded_minor == to_minor_units(
                given_back, payment_currency(world, payment)
            )
        elif payment.status == PaymentStatus.REFUNDED:
            # The money could not buy anything: all of it went back at the gateway.
            assert given_back == payment.amount
            assert trade.status == "paid" and trade.refunded_minor == trade.amount_minor
        else:
            assert payment.status in (PaymentStatus.CREATED, PaymentStatus.FAILED)
            assert charge is None and not refunds
    for order_id, order in world.orders.items():
        if order.status in (*PAID_STATES, OrderStatus.REFUNDED):
            winners = [
                p
                for p, row in world.payments.items()
                if row.order_id == order_id and row.status == PaymentStatus.SUCCEEDED
            ]
            assert len(winners) == 1, f"order {order_id} paid by {len(winners)} payments"


def payment_currency(world: World, payment: PaymentRow) -> str:
    return world.orders[payment.order_id].currency


def _check_account_limit(world: World, *, now: datetime, max_per_account: int) -> None:
    for user_id in {h.user_id for h in world.holds.values()}:
        count = world.account_units(user_id, now)
        assert count <= max_per_account, (
            f"buyer {user_id} holds or bought {count} places; the limit is {max_per_account}"
        )


# -- sandbox callbacks ------------------------------------------------------------------------


def sandbox_event(
    *,
    payment_id,
    reference: str,
    amount_minor: int,
    currency: str,
    status: str,
    sequence: int,
    at: datetime,
) -> bytes:
    """A callback body as the sandbox gateway writes it (same fields, same JSON layout)."""
    return json.dumps(
        {
            "payment_id": str(payment_id),
            "reference": reference,
            "status": status,
            "amount": amount_minor,
            "currency": currency,
            "event_at": at.isoformat(),
            "sequence": sequence,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def payment_event(payment: Payment, *, status: str, offset: int, at: datetime) -> bytes:
    """A callback body about ``payment`` at its trade's sequence + ``offset`` (from the
    opening sequence 1 while the buyer has not decided and the gateway has no trade)."""
    trade = SandboxTrade.objects.filter(payment_id=payment.pk).first()
    return sandbox_event(
        payment_id=payment.pk,
        reference=trade.reference if trade else "",
        amount_minor=to_minor_units(payment.amount, payment.currency),
        currency=payment.currency,
        status=status,
        sequence=(trade.sequence if trade else 1) + offset,
        at=at,
    )


def signed(body: bytes) -> dict[str, str]:
    """Headers of a genuine callback: signed with the sandbox gateway's own function."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body),
    }


def signed_with_wrong_secret(body: bytes) -> dict[str, str]:
    wrong = hmac.new(b"not the merchant secret", body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", SIGNATURE_HEADER: wrong}
