"""The whole purchase core under random sequences of buyer, gateway and housekeeping actions.

A hypothesis ``RuleBasedStateMachine`` drives the real services (inventory holds, orders,
sandbox payments with genuinely signed and forged callbacks, tickets, refunds) over one small
session — two blocks of 2 rows x 4 seats and a standing area of 6 — with three buyers and a
clock that moves on by 0–15 minutes, so holds expire and payments arrive late. Every call's
outcome is predicted from the rows before it (success, or which refusal) and checked; a
refused call must change no row, a successful one only the rows it owns. After every step
the invariants of ``sm_world.check_invariants`` hold: one place, one owner; sold places ==
valid tickets; the ledger == order totals; one charge per payment; money that could not buy
anything went back in full; no account above its limit; an unpaid order may be paid as
long as its hold lives.

Each example runs inside a savepoint rolled back afterwards, so every example starts from an
empty database; on-commit work (the refund after a lost sale) runs when each call's
transaction would have committed.
"""

import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from django.db import transaction
from django.test import TestCase
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tessera.aftersales import services as aftersales
from tessera.aftersales.errors import FeeChanged, LinesUnknown, OrderNotRefundable
from tessera.catalog.services import set_policy
from tessera.core.errors import DomainError
from tessera.inventory import services as inventory
from tessera.inventory.errors import (
    ExtensionUsed,
    HoldExpired,
    HoldNotFound,
    HoldNotReleasable,
    HoldOrdered,
    LimitExceeded,
    PlacesUnavailable,
)
from tessera.inventory.models import HoldStatus, InventoryUnit, UnitStatus
from tessera.inventory.selectors import clear_geometry_cache, count_account_units
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders import services as orders
from tessera.orders.models import LedgerKind, LineStatus, OrderStatus
from tessera.orders.tests.sm_world import (
    PAID_STATES,
    HoldRow,
    World,
    WorldReader,
    assert_changed_only,
    assert_unchanged,
    check_invariants,
    payment_event,
    signed,
    signed_with_wrong_secret,
)
from tessera.payments.models import CallbackLog, CallbackOutcome, PaymentStatus, RefundStatus
from tessera.payments.services import handle_callback, start_payment
from tessera.payments.testing import decide, pay_locally
from tessera.sandbox import services as gateway
from tessera.sandbox.errors import TradeClosed
from tessera.sandbox.signing import SIGNATURE_HEADER
from tessera.tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
HOLD_MINUTES = 10
MAX_PER_ORDER = 4
MAX_PER_ACCOUNT = 6
SEATS = 2 * 2 * 4
STANDING = 6
CAPACITY = SEATS + STANDING
BUYERS = 3
FEE_RATE = Decimal("0.05")
CENT = Decimal("0.01")

BUYER = st.integers(0, BUYERS - 1)
# Mostly the owner acts; sometimes another buyer tries the owner's hold or order.
INTRUDER = st.sampled_from([False, False, False, False, True])
# Which item of a list the machine keeps: 0 the latest, 1 the one before, … (wrapping).
PICK_ANY = 63
PICK = st.integers(0, PICK_ANY)
ZONE = st.sampled_from([None, "A", "B", "GA"])
PLACES = st.lists(st.integers(0, CAPACITY - 1), min_size=1, max_size=MAX_PER_ORDER + 1, unique=True)
SWITCHES = st.fixed_dictionaries(
    {
        "fail": st.sampled_from([False, False, False, True]),
        "duplicates": st.integers(1, 3),
        "out_of_order": st.booleans(),
    }
)

# How often each kind of outcome happened over a run (see the test at the bottom).
OUTCOMES: Counter[str] = Counter()


def new_sale(now: datetime):
    return make_sale(
        sections=2,
        rows=2,
        seats_per_row=4,
        standing_capacity=STANDING,
        now=now,
        starts_at=now + timedelta(days=30),
        hold_minutes=HOLD_MINUTES,
        max_tickets_per_order=MAX_PER_ORDER,
        max_tickets_per_account=MAX_PER_ACCOUNT,
    )


def attempt(fn, **kwargs):
    """Call a service as a request would: on-commit work runs when its transaction ends.
    Returns (result, None), or (None, the DomainError it raised)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        try:
            result = fn(**kwargs)
        except DomainError as exc:
            OUTCOMES[f"{fn.__name__}: {type(exc).__name__}"] += 1
            return None, exc
    OUTCOMES[f"{fn.__name__}: ok"] += 1
    return result, None


@dataclass(frozen=True, eq=False)
class Callback:
    """A callback as it travels: headers and the exact body bytes."""

    headers: dict
    body: bytes

    def __repr__(self) -> str:
        event = json.loads(self.body)
        return f"<{event['status']} #{event['sequence']} for {event['payment_id'][:8]}>"


class PurchaseMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.savepoint = transaction.savepoint()
        clear_geometry_cache()
        self.now = BASE
        self.sale = new_sale(BASE)
        self.session = self.sale.session
        self.buyers = [make_buyer(preferred_language="en") for _ in range(BUYERS)]
        units = list(self.sale.units().values_list("id", "seat_id", "zone_id", "zone__price"))
        assert len(units) == CAPACITY
        self.unit_ids = [u for u, _seat, _zone, _price in units]
        self.standing_ids = [u for u, seat, _zone, _price in units if seat is None]
        self.price_of_zone = {zone: price for _u, _seat, zone, price in units}
        self.holds: list = []  # every hold made, in order
        self.places_of: dict = {}  # hold id → the places it took
        self.placed: list = []  # every order placed, in order
        self.payments: list = []  # every payment started, in order
        self.sent: list[Callback] = []  # every callback the gateway built, in order
        self.refunded_lines: set[int] = set()
        self.fees_kept: Counter = Counter()
        set_policy(
            event=self.session.event,
            actor=None,
            now=BASE,
            is_refundable=True,
            tiers=[(0, FEE_RATE * 100)],
        )
        self.cached: World | None = None
        self.reader = WorldReader(self.session)

    def teardown(self):
        transaction.savepoint_rollback(self.savepoint)

    # -- helpers -------------------------------------------------------------------------------

    def world(self) -> World:
        """The session's rows, read again only after a service call may have written."""
        if self.cached is None:
            self.cached = self.reader.read()
        return self.cached

    def attempt(self, fn, **kwargs):
        self.cached = None
        return attempt(fn, **kwargs)

    @staticmethod
    def pick(items: list, pick: int):
        """The latest item for pick 0, the one before for 1, … (wrapping around)."""
        return items[-1 - pick % len(items)]

    def pay_before(self, order_row) -> datetime:
        """Until when the buyer may pay: as long as the order's hold lives, extension
        included (``extend_order``; the invariants check the order says the same)."""
        return self.world().holds[order_row.hold_id].expires_at

    def waiting_payments(self) -> list:
        """Payments whose buyer has not decided: the gateway has no trade for them yet."""
        trades = self.world().trades
        return [p for p in self.payments if p.pk not in trades]

    def acting(self, owner_id: int, intruder: bool):
        """The owner, or (intruder) another buyer."""
        return next(b for b in self.buyers if (b.pk == owner_id) != intruder)

    def limit_error(self, world: World, user, quantity: int):
        over_order = quantity > MAX_PER_ORDER
        over_account = world.account_units(user.pk, self.now) + quantity > MAX_PER_ACCOUNT
        return LimitExceeded if over_order or over_account else None

    def check_new_hold(
        self,
        before,
        hold,
        error,
        *,
        user,
        quantity,
        expected_error,
        exact=None,
        within=None,
        required=True,
    ):
        """A hold call's outcome: the predicted refusal with nothing changed, or a new active
        hold of ``quantity`` places that were free — ``exact`` ones, or some of ``within``.
        Returns the hold, or None."""
        after = self.world()
        if expected_error is not None or (error is not None and not required):
            assert isinstance(error, expected_error or PlacesUnavailable), repr(error)
            assert_unchanged(before, after)
            return None
        assert error is None, repr(error)
        taken = after.held_by(hold.pk)
        assert len(taken) == quantity
        assert taken == set(exact) if exact is not None else taken <= set(within)
        assert_changed_only(before, after, units=taken, holds={hold.pk})
        assert after.holds[hold.pk] == HoldRow(
            user.pk, HoldStatus.ACTIVE, quantity, self.now + timedelta(minutes=HOLD_MINUTES), 0
        )
        self.places_of[hold.pk] = sorted(taken)
        self.holds.append(hold)
        return hold

    def hold_chosen(self, user, unit_ids: list[int]):
        before = self.world()
        expected = self.limit_error(before, user, len(unit_ids))
        if expected is None and not all(before.holdable(u, self.now) for u in unit_ids):
            expected = PlacesUnavailable
        hold, error = self.attempt(
            inventory.hold_units,
            session=self.session,
            user=user,
            unit_ids=unit_ids,
            now=self.now,
        )
        return self.check_new_hold(
            before,
            hold,
            error,
            user=user,
            quantity=len(unit_ids),
            expected_error=expected,
            exact=unit_ids,
        )

    def hold_best(self, user, quantity: int, zone: str | None, accept_split: bool):
        before = self.world()
        zone_obj = self.sale.zones[zone] if zone else None
        scope = [
            u
            for u in self.unit_ids
            if (
                before.units[u].seat_id is not None
                if zone_obj is None
                else before.units[u].zone_id == zone_obj.pk
            )
        ]
        free = [u for u in scope if before.holdable(u, self.now)]  # in id (seating) order
        expected = self.limit_error(before, user, quantity)
        if expected is None and len(free) < quantity:
            expected = PlacesUnavailable
        hold, error = self.attempt(
            inventory.hold_best_available,
            session=self.session,
            user=user,
            quantity=quantity,
            now=self.now,
            zone=zone_obj,
            accept_split=accept_split,
        )
        # Standing places are taken first come (lowest id first). Enough free seats always
        # give a hold when a split is acceptable or one seat is asked for; without consent
        # to a split, "no adjacent block" is a fair refusal.
        return self.check_new_hold(
            before,
            hold,
            error,
            user=user,
            quantity=quantity,
            expected_error=expected,
            exact=free[:quantity] if zone == "GA" else None,
            within=free,
            required=zone == "GA" or accept_split or quantity == 1,
        )

    def order_hold(self, hold, intruder: bool):
        """place_order; returns a new order, or None (refused, or the hold's existing order)."""
        before = self.world()
        row = before.holds[hold.pk]
        user = self.acting(row.user_id, intruder)
        existing = [o for o, order in before.orders.items() if order.hold_id == hold.pk]
        order, error = self.attempt(orders.place_order, hold=hold, user=user, now=self.now)
        after = self.world()
        if not intruder and row.status in (HoldStatus.ORDERED, HoldStatus.SOLD):
            assert error is None and [order.pk] == existing, (error, existing)
            assert_unchanged(before, after)
            return None
        if intruder or row.status != HoldStatus.ACTIVE or row.expires_at <= self.now:
            assert isinstance(error, orders.HoldNotUsable), repr(error)
            assert_unchanged(before, after)
            return None
        assert error is None, repr(error)
        held = before.held_by(hold.pk)
        new_lines = set(after.lines_of(order.pk))
        assert_changed_only(before, after, orders={order.pk}, lines=new_lines, holds={hold.pk})
        assert {after.lines[n].unit_id for n in new_lines} == held
        assert len(new_lines) == row.quantity
        total = sum(self.price_of_zone[before.units[u].zone_id] for u in held)
        placed = after.orders[order.pk]
        assert (placed.status, placed.total, placed.user_id, placed.expires_at) == (
            OrderStatus.PENDING_PAYMENT,
            total,
            user.pk,
            row.expires_at,
        )
        assert after.holds[hold.pk].status == HoldStatus.ORDERED
        self.placed.append(order)
        return order

    def pay_for(self, order, intruder: bool, switches: dict):
        """start_payment at the sandbox; returns the payment, or None when refused."""
        before = self.world()
        row = before.orders[order.pk]
        user = self.acting(row.user_id, intruder)
        payment, error = self.attempt(
            start_payment,
            order=order,
            provider="sandbox",
            user=user,
            now=self.now,
            options=switches,
        )
        after = self.world()
        if intruder:
            expected = orders.OrderNotFound
        elif row.status != OrderStatus.PENDING_PAYMENT or self.pay_before(row) <= self.now:
            expected = orders.OrderNotPayable
        else:
            expected = None
        if expected is not None:
            assert isinstance(error, expected), repr(error)
            assert_unchanged(before, after)
            return None
        assert error is None, repr(error)
        assert_changed_only(before, after, payments={payment.pk})
        assert (after.payments[payment.pk].status, after.payments[payment.pk].amount) == (
            PaymentStatus.CREATED,
            row.total,
        )
        assert payment.pk not in after.trades  # the trade starts when the buyer decides
        self.payments.append(payment)
        return payment

    # -- the clock -----------------------------------------------------------------------------

    @rule(
        minutes=st.integers(0, 15),
        then_run=st.sampled_from([None, None, "tidy_expired_holds", "expire_overdue_orders"]),
    )
    def time_passes(self, minutes, then_run):
        """The clock moves on; sometimes a periodic task runs then (correctness never depends
        on them, but they must not harm)."""
        self.now += timedelta(minutes=minutes)
        if then_run:
            getattr(self, then_run)()

    # -- holds ---------------------------------------------------------------------------------

    @rule(buyer=BUYER, places=PLACES)
    def hold_places(self, buyer, places):
        self.hold_chosen(self.buyers[buyer], sorted(self.unit_ids[i] for i in places))

    @precondition(lambda self: self.holds)
    @rule(pick=PICK, buyer=BUYER)
    def hold_places_of_another_hold(self, pick, buyer):
        """Go for exactly the places an earlier hold took (expired ones are fair game)."""
        hold = self.pick(self.holds, pick)
        self.hold_chosen(self.buyers[buyer], self.places_of[hold.pk])

    @rule(buyer=BUYER, quantity=st.integers(1, MAX_PER_ORDER + 1))
    def hold_standing(self, buyer, quantity):
        user = self.buyers[buyer]
        before = self.world()
        free = [u for u in self.standing_ids if before.holdable(u, self.now)]
        expected = self.limit_error(before, user, quantity)
        if expected is None and len(free) < quantity:
            expected = PlacesUnavailable
        hold, error = self.attempt(
            inventory.hold_quantity,
            session=self.session,
            user=user,
            zone=self.sale.zones["GA"],
            quantity=quantity,
            now=self.now,
        )
        self.check_new_hold(
            before,
            hold,
            error,
            user=user,
            quantity=quantity,
            expected_error=expected,
            exact=free[:quantity],
        )

    @rule(
        buyer=BUYER,
        quantity=st.integers(1, MAX_PER_ORDER + 1),
        zone=ZONE,
        accept_split=st.booleans(),
    )
    def hold_best_available(self, buyer, quantity, zone, accept_split):
        self.hold_best(self.buyers[buyer], quantity, zone, accept_split)

    @precondition(lambda self: self.holds)
    @rule(pick=PICK, intruder=INTRUDER)
    def extend_hold(self, pick, intruder):
        hold = self.pick(self.holds, pick)
        before = self.world()
        row = before.holds[hold.pk]
        user = self.acting(row.user_id, intruder)
        expected = None
        if intruder:
            expected = HoldNotFound
        elif (
            row.status not in (HoldStatus.ACTIVE, HoldStatus.ORDERED) or row.expires_at <= self.now
        ):
            expected = HoldExpired
        elif row.status == HoldStatus.ORDERED:
            expected = HoldOrdered  # the order's pay-before time moves too: extend_order
        elif row.extensions:
            expected = ExtensionUsed
        _result, error = self.attempt(inventory.extend_hold, hold=hold, user=user, now=self.now)
        after = self.world()
        if expected is not None:
            assert isinstance(error, expected), repr(error)
            assert_unchanged(before, after)
            return
        assert error is None, repr(error)
        self.check_extended(before, after, hold.pk)

    def check_extended(self, before: World, after: World, hold_id, order_id=None):
        """One extension of hold_minutes: the hold, its places and its order (if any)."""
        row = before.holds[hold_id]
        held = before.held_by(hold_id)
        assert_changed_only(before, after, units=held, holds={hold_id}, orders={order_id} - {None})
        new_expiry = row.expires_at + timedelta(minutes=HOLD_MINUTES)
        assert after.holds[hold_id] == row._replace(expires_at=new_expiry, extensions=1)
        assert after.held_by(hold_id) == held
        assert {after.units[u].hold_expires_at for u in held} <= {new_expiry}
        if order_id is not None:
            assert after.orders[order_id] == before.orders[order_id]._replace(expires_at=new_expiry)

    @precondition(lambda self: self.placed)
    @rule(pick=PICK, intruder=INTRUDER)
    def extend_order(self, pick, intruder):
        """The buyer asks for more time while paying: the order's hold, once."""
        order = self.pick(self.placed, pick)
        before = self.world()
        row = before.orders[order.pk]
        hold = before.holds[row.hold_id]
        user = self.acting(row.user_id, intruder)
        expected = None
        if intruder:
            expected = orders.OrderNotFound
        elif row.status != OrderStatus.PENDING_PAYMENT:
            expected = orders.OrderNotPayable
        elif hold.status not in (HoldStatus.ACTIVE, HoldStatus.ORDERED) or (
            hold.expires_at <= self.now
        ):
            expected = HoldExpired
        elif hold.extensions:
            expected = ExtensionUsed
        _result, error = self.attempt(orders.extend_order, order=order, user=user, now=self.now)
        after = self.world()
        if expected is not None:
            assert isinstance(error, expected), repr(error)
            assert_unchanged(before, after)
            return
        assert error is None, repr(error)
        self.check_extended(before, after, row.hold_id, order.pk)

    @precondition(lambda self: self.holds)
    @rule(pick=PICK, intruder=INTRUDER)
    def release_hold(self, pick, intruder):
        hold = self.pick(self.holds, pick)
        before = self.world()
        row = before.holds[hold.pk]
        user = self.acting(row.user_id, intruder)
        expected = None
        if intruder:
            expected = HoldNotFound
        elif row.status in (HoldStatus.SOLD, HoldStatus.ORDERED):
            expected = HoldNotReleasable  # sold, or an order awaits payment: cancel that
        _result, error = self.attempt(inventory.release_hold, hold=hold, user=user, now=self.now)
        after = self.world()
        if expected is not None:
            assert isinstance(error, expected), repr(error)
            assert_unchanged(before, after)
            return
        assert error is None, repr(error)
        if row.status == HoldStatus.RELEASED:  # releasing twice changes nothing
            assert_unchanged(before, after)
            return
        held = before.held_by(hold.pk)
        assert_changed_only(before, after, units=held, holds={hold.pk})
        assert after.holds[hold.pk].status == HoldStatus.RELEASED
        assert {after.units[u].status for u in held} <= {UnitStatus.AVAILABLE}

    def tidy_expired_holds(self):
        before = self.world()
        grace_end = self.now - inventory.ORDERED_GRACE
        expired = {
            h
            for h, row in before.holds.items()
            if (row.status == HoldStatus.ACTIVE and row.expires_at < self.now)
            or (row.status == HoldStatus.ORDERED and row.expires_at < grace_end)
        }
        freed = {
            u
            for u, unit in before.units.items()
            if unit.status == UnitStatus.HELD and unit.hold_id in expired
        }
        count, error = self.attempt(inventory.tidy_expired_holds, now=self.now)
        after = self.world()
        assert error is None and count == len(freed), (error, count, len(freed))
        assert_changed_only(before, after, units=freed, holds=expired)
        assert {after.units[u].status for u in freed} <= {UnitStatus.AVAILABLE}
        assert {after.holds[h].status for h in expired} <= {HoldStatus.RELEASED}

    # -- orders --------------------------------------------------------------------------------

    @precondition(lambda self: self.holds)
    @rule(pick=PICK, intruder=INTRUDER)
    def place_order(self, pick, intruder):
        self.order_hold(self.pick(self.holds, pick), intruder)

    @rule(
        buyer=BUYER,
        quantity=st.integers(1, MAX_PER_ORDER),
        zone=ZONE,
        switches=SWITCHES,
        cashier_twice=st.sampled_from([False, False, True]),
        then=st.sampled_from(["pay", "pay", "fail", "leave", "leave", "late"]),
        late_by=st.integers(0, 75),
        rival=st.sampled_from([None, None, 0, 1, 2]),
    )
    def checkout(self, buyer, quantity, zone, switches, cashier_twice, then, late_by, rival):
        """The quick path, each step checked: best available, order, payment at the sandbox
        (sometimes twice: the buyer opened the cashier in two tabs), and then maybe the buyer
        pays or fails at once, or pays late (see ``buyer_pays_late``), with the callbacks
        delivered as the gateway sends them."""
        hold = self.hold_best(self.buyers[buyer], quantity, zone, accept_split=True)
        order = self.order_hold(hold, intruder=False) if hold else None
        if order is None:
            return
        payment = self.pay_for(order, intruder=False, switches=switches)
        if cashier_twice:
            self.pay_for(order, intruder=False, switches={})
        if then == "late":
            self.pay_late(payment, late_by, rival)
        elif then != "leave":
            self.buyer_decides(payment, then, deliver_now=True)

    @precondition(lambda self: self.placed)
    @rule(pick=PICK, intruder=INTRUDER)
    def cancel_order(self, pick, intruder):
        order = self.pick(self.placed, pick)
        before = self.world()
        row = before.orders[order.pk]
        actor = self.acting(row.user_id, intruder)
        _result, error = self.attempt(
            orders.cancel_order, order=order, actor=actor, reason="changed my mind", now=self.now
        )
        after = self.world()
        if row.status == OrderStatus.CANCELLED:
            assert error is None, repr(error)
            assert_unchanged(before, after)
            return
        if row.status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED):
            assert isinstance(error, orders.OrderNotCancellable), repr(error)
            assert_unchanged(before, after)
            return
        assert error is None, repr(error)
        held = before.held_by(row.hold_id)
        hold_was_released = before.holds[row.hold_id].status == HoldStatus.RELEASED
        assert_changed_only(
            before,
            after,
            orders={order.pk},
            holds=set() if hold_was_released else {row.hold_id},
            units=held,
        )
        cancelled = after.orders[order.pk]
        assert (cancelled.status, cancelled.closed_at) == (OrderStatus.CANCELLED, self.now)
        assert after.holds[row.hold_id].status == HoldStatus.RELEASED
        assert {after.units[u].status for u in held} <= {UnitStatus.AVAILABLE}

    def expire_overdue_orders(self):
        before = self.world()
        overdue = {
            o
            for o, row in before.orders.items()
            if row.status == OrderStatus.PENDING_PAYMENT and self.pay_before(row) <= self.now
        }
        count, error = self.attempt(orders.expire_overdue_orders, now=self.now)
        after = self.world()
        assert error is None and count == len(overdue)
        assert_changed_only(before, after, orders=overdue)
        assert {after.orders[o].status for o in overdue} <= {OrderStatus.EXPIRED}

    @precondition(lambda self: self.placed)
    @rule(
        order_pick=PICK,
        pick=PICK,
        variant=st.sampled_from(
            ["line", "whole", "whole", "again", "stranger", "tampered", "tampered", "unpaid"]
        ),
    )
    def refund_line(self, order_pick, pick, variant):
        """After-sales: the buyer asks to refund one line (or the whole order) of a paid
        order under the session's policy (5 % fee this far before the start). "again" asks
        for a line already refunded, "stranger" is another buyer asking, "tampered" confirms
        a fee the fan was never shown, "unpaid" tries an order that was never paid."""
        before = self.world()
        paid = [o for o in self.placed if before.orders[o.pk].status in PAID_STATES]
        unpaid = [o for o in self.placed if o not in paid]
        candidates = (unpaid if variant == "unpaid" else paid) or self.placed
        order = self.pick(candidates, order_pick)
        row = before.orders[order.pk]
        lines = sorted(before.lines_of(order.pk))
        active = [n for n in lines if before.lines[n].status == LineStatus.ACTIVE]
        if variant == "whole":
            chosen = active
        elif variant == "again" and self.refunded_lines & set(lines):
            chosen = [min(self.refunded_lines & set(lines))]
        else:
            chosen = [self.pick(lines, pick)]
        owner = next(b for b in self.buyers if b.pk == row.user_id)
        asking = owner
        if variant == "stranger":
            asking = next(b for b in self.buyers if b.pk != row.user_id)
        fee = sum((FEE_RATE * before.lines[n].price).quantize(CENT) for n in chosen)
        shown = fee + CENT if variant == "tampered" else fee
        request, error = self.attempt(
            aftersales.request_refund,
            order=order,
            user=asking,
            line_ids=None if variant == "whole" else chosen,
            expected_fee=str(shown),
            now=self.now,
        )
        after = self.world()
        if asking is not owner:
            assert isinstance(error, orders.OrderNotFound), repr(error)
        elif row.status not in PAID_STATES:
            assert isinstance(error, OrderNotRefundable), repr(error)
        elif not chosen or any(before.lines[n].status != LineStatus.ACTIVE for n in chosen):
            assert isinstance(error, (LinesUnknown, OrderNotRefundable)), repr(error)
        elif variant == "tampered":
            assert isinstance(error, FeeChanged), repr(error)
            price = sum(before.lines[n].price for n in chosen)
            assert error.details == {"fee": str(fee), "amount": str(price - fee)}
        else:
            assert error is None, repr(error)
        if error is not None:
            assert_unchanged(before, after)
            return
        assert request.stage == "refunded", request.stage
        self.refunded_lines.update(chosen)
        self.fees_kept[order.pk] += fee
        tickets = {t for t, ticket in before.tickets.items() if ticket.order_line_id in chosen}
        units = {before.lines[n].unit_id for n in chosen}
        new_ledger = set(after.ledger) - set(before.ledger)
        new_refunds = set(after.refunds) - set(before.refunds)
        [payment_id] = [
            p
            for p, pay in before.payments.items()
            if pay.order_id == order.pk and pay.status == PaymentStatus.SUCCEEDED
        ]
        assert_changed_only(
            before,
            after,
            units=units,
            lines=set(chosen),
            ledger=new_ledger,
            orders={order.pk},
            tickets=tickets,
            revocations={(t, before.tickets[t].version) for t in tickets},
            refunds=new_refunds,
            trades={payment_id},
        )
        price = sum(before.lines[n].price for n in chosen)
        assert sorted((after.ledger[e].kind, after.ledger[e].amount) for e in new_ledger) == sorted(
            [(LedgerKind.REFUND, -price)] + ([(LedgerKind.FEE, fee)] if fee else [])
        )
        assert [(after.refunds[r].amount, after.refunds[r].status) for r in new_refunds] == [
            (price - fee, RefundStatus.SUCCEEDED)
        ]
        assert all(after.units[u].status == UnitStatus.AVAILABLE for u in units)
        assert all(after.lines[n].status == LineStatus.REFUNDED for n in chosen)
        assert all(after.tickets[t].status == TicketStatus.REVOKED for t in tickets)
        still_active = set(active) - set(chosen)
        assert after.orders[order.pk].status == (
            OrderStatus.PARTIALLY_REFUNDED if still_active else OrderStatus.REFUNDED
        )
        OUTCOMES["refund: whole order" if not still_active else "refund: some lines"] += 1

    # -- payments ------------------------------------------------------------------------------

    @precondition(lambda self: self.placed)
    @rule(pick=PICK, intruder=INTRUDER, switches=SWITCHES)
    def start_payment(self, pick, intruder, switches):
        self.pay_for(self.pick(self.placed, pick), intruder, switches)

    def buyer_decides(self, payment, choice: str, deliver_now: bool):
        """The buyer presses a button on the sandbox cashier; the gateway builds its signed
        callbacks (with the payment's switches: failure, duplicates, out of order)."""
        before = self.world()
        trade, error = self.attempt(decide, payment=payment, choice=choice, now=self.now)
        after = self.world()
        if payment.pk in before.trades:
            assert isinstance(error, TradeClosed), repr(error)
            assert_unchanged(before, after)
            return
        assert error is None, repr(error)
        assert_changed_only(before, after, trades={payment.pk})
        sent = [Callback(cb.headers, cb.body) for cb in gateway.build_callbacks(trade)]
        self.sent.extend(sent)
        if deliver_now:
            for callback in sent:
                self.deliver_one(callback)

    @precondition(lambda self: self.payments)
    @rule(
        pick=PICK,
        choice=st.sampled_from(["pay", "pay", "pay", "fail"]),
        deliver_now=st.sampled_from([True, True, False]),
    )
    def buyer_pays_or_fails(self, pick, choice, deliver_now):
        """Mostly a payment still waiting at the gateway; the last pick value any payment
        (pressing a button of a decided trade is refused)."""
        waiting = self.waiting_payments()
        candidates = waiting if waiting and pick != PICK_ANY else self.payments
        self.buyer_decides(self.pick(candidates, pick), choice, deliver_now)

    @precondition(lambda self: self.payments)
    @rule(pick=PICK, minutes=st.integers(0, 75), rival=st.sampled_from([None, None, 0, 1, 2]))
    def buyer_pays_late(self, pick, minutes, rival):
        waiting = self.waiting_payments()
        if waiting:
            self.pay_late(self.pick(waiting, pick), minutes, rival)

    def pay_late(self, payment, minutes: int, rival: int | None):
        """The clock passes the order's pay-before time (by up to 75 minutes, beyond the
        ordered-hold grace); a rival may grab one of its places; then the buyer pays and the
        callbacks arrive."""
        world = self.world()
        order = world.orders[payment.order_id]
        self.now = max(self.now, self.pay_before(order) + timedelta(minutes=minutes))
        if rival is not None:
            first_place = min(line.unit_id for line in world.lines_of(payment.order_id).values())
            self.hold_chosen(self.buyers[rival], [first_place])
        self.buyer_decides(payment, "pay", deliver_now=True)

    @precondition(lambda self: self.sent)
    @rule(pick=PICK)
    def deliver_again(self, pick):
        """Deliver a callback the gateway built (again, late, or out of order)."""
        self.deliver_one(self.pick(self.sent, pick))

    @precondition(lambda self: self.payments)
    @rule(pick=PICK, offset=st.integers(-2, 1))
    def deliver_genuine_failure(self, pick, offset):
        """A genuinely signed "failed" event at the trade's sequence + ``offset``: after a
        success, a stale out-of-order delivery."""
        payment = self.pick(self.payments, pick)
        body = payment_event(
            payment, status="failed", offset=offset, at=self.now - timedelta(seconds=1)
        )
        self.deliver_one(Callback(signed(body), body))

    def deliver_one(self, callback: Callback):
        before = self.world()
        event = json.loads(callback.body)
        payment_id = UUID(event["payment_id"])
        payment = before.payments[payment_id]
        order = before.orders[payment.order_id]
        log, error = self.attempt(
            handle_callback,
            provider="sandbox",
            headers=callback.headers,
            body=callback.body,
            now=self.now,
        )
        assert error is None, repr(error)
        after = self.world()
        assert (log.signature_valid, log.payment_id) == (True, payment_id)
        OUTCOMES[f"{event['status']} callback: {log.outcome}"] += 1
        if log.outcome == CallbackOutcome.REFUNDED:
            OUTCOMES[f"refunded: {log.detail}"] += 1
        if event["status"] == "failed":
            if payment.status == PaymentStatus.FAILED:
                expected = CallbackOutcome.DUPLICATE
            elif (
                payment.status != PaymentStatus.CREATED
                or event["sequence"] <= payment.callback_sequence
            ):
                expected = CallbackOutcome.STALE
            else:
                expected = CallbackOutcome.APPLIED
            assert log.outcome == expected, (log.outcome, log.detail)
            if expected != CallbackOutcome.APPLIED:
                assert_unchanged(before, after)
                return
            assert_changed_only(before, after, payments={payment_id})
            assert after.payments[payment_id] == payment._replace(
                status=PaymentStatus.FAILED, callback_sequence=event["sequence"]
            )
            return
        if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
            assert log.outcome == CallbackOutcome.DUPLICATE, (log.outcome, log.detail)
            assert_unchanged(before, after)
            return
        if order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED):
            places = {line.unit_id for line in before.lines_of(payment.order_id).values()}
            if before.held_by(order.hold_id) == places and self.within_limit(before, order):
                self.check_sale(before, after, log, payment_id, event["sequence"])
                return
        self.check_refunded(before, after, log, payment_id)

    def within_limit(self, world: World, order) -> bool:
        """May the order's places be sold to its buyer now? A payment in time always may
        (its hold was counted when made); a late one only while the buyer's other live holds
        and bought places leave room for them under the per-account limit."""
        hold = world.holds[order.hold_id]
        if hold.expires_at > self.now:
            return True
        own = world.held_by(order.hold_id)
        others = sum(
            1
            for u, unit in world.units.items()
            if u not in own
            and unit.hold_id is not None
            and world.holds[unit.hold_id].user_id == order.user_id
            and (
                unit.status == UnitStatus.SOLD
                or (unit.status == UnitStatus.HELD and unit.hold_expires_at >= self.now)
            )
        )
        return others + hold.quantity <= MAX_PER_ACCOUNT

    def check_sale(self, before: World, after: World, log, payment_id, sequence: int):
        """Paid in time, or late while nobody took its places: sold, charged, ticketed."""
        assert log.outcome == CallbackOutcome.APPLIED, (log.outcome, log.detail)
        payment = before.payments[payment_id]
        order_id = payment.order_id
        order = before.orders[order_id]
        if self.pay_before(order) <= self.now:
            OUTCOMES["sale after the hold expired"] += 1
        lines = before.lines_of(order_id)
        new_ledger = set(after.ledger) - set(before.ledger)
        new_tickets = set(after.tickets) - set(before.tickets)
        assert_changed_only(
            before,
            after,
            units={line.unit_id for line in lines.values()},
            holds={order.hold_id},
            orders={order_id},
            ledger=new_ledger,
            tickets=new_tickets,
            payments={payment_id},
        )
        assert (after.orders[order_id].status, after.orders[order_id].paid_at) == (
            OrderStatus.FULFILLED,
            self.now,
        )
        for line_id, line in lines.items():
            unit = after.units[line.unit_id]
            assert (unit.status, unit.order_line_id) == (UnitStatus.SOLD, line_id)
        assert sorted(after.tickets[t].order_line_id for t in new_tickets) == sorted(lines)
        assert [(after.ledger[e].kind, after.ledger[e].amount) for e in new_ledger] == [
            (LedgerKind.CHARGE, order.total)
        ]
        assert after.payments[payment_id] == payment._replace(
            status=PaymentStatus.SUCCEEDED,
            callback_sequence=max(payment.callback_sequence, sequence),
        )

    def check_refunded(self, before: World, after: World, log, payment_id):
        """Money that cannot buy the order (places lost, order closed, or already paid by
        another payment) goes back in full; nobody's places or tickets change."""
        assert log.outcome == CallbackOutcome.REFUNDED, (log.outcome, log.detail)
        payment = before.payments[payment_id]
        order_id = payment.order_id
        order = before.orders[order_id]
        new_ledger = set(after.ledger) - set(before.ledger)
        new_refunds = set(after.refunds) - set(before.refunds)
        already_paid = order.status not in (
            OrderStatus.PENDING_PAYMENT,
            OrderStatus.EXPIRED,
            OrderStatus.CANCELLED,
        )
        assert_changed_only(
            before,
            after,
            payments={payment_id},
            refunds=new_refunds,
            trades={payment_id},
            orders=set() if already_paid else {order_id},
            lines=set() if already_paid else set(before.lines_of(order_id)),
            ledger=new_ledger,
        )
        assert after.payments[payment_id].status == PaymentStatus.REFUNDED
        assert [(after.refunds[r].amount, after.refunds[r].status) for r in new_refunds] == [
            (payment.amount, RefundStatus.SUCCEEDED)
        ]
        trade = after.trades[payment_id]
        assert trade.refunded_minor == trade.amount_minor
        if already_paid:  # booked as received, and given back
            assert sorted((after.ledger[e].kind, after.ledger[e].amount) for e in new_ledger) == [
                (LedgerKind.CHARGE, payment.amount),
                (LedgerKind.REFUND, -payment.amount),
            ]
            return
        assert sorted((after.ledger[e].kind, after.ledger[e].amount) for e in new_ledger) == [
            (LedgerKind.CHARGE, payment.amount),
            (LedgerKind.REFUND, -payment.amount),
        ]
        assert after.orders[order_id].status == OrderStatus.CANCELLED
        assert {line.status for line in after.lines_of(order_id).values()} == {LineStatus.VOID}

    @precondition(lambda self: self.payments)
    @rule(
        pick=PICK,
        status=st.sampled_from(["succeeded", "failed"]),
        how=st.sampled_from(["flip_body", "flip_signature", "wrong_secret", "unsigned"]),
        position=st.integers(0, 10_000),
    )
    def deliver_forged(self, pick, status, how, position):
        """A callback the gateway did not sign: one byte changed, or another secret."""
        payment = self.pick(self.payments, pick)
        body = payment_event(payment, status=status, offset=1, at=self.now)
        headers = signed(body)
        header = SIGNATURE_HEADER
        if how == "flip_body":
            tampered = bytearray(body)
            tampered[position % len(body)] ^= 0x01
            body = bytes(tampered)
        elif how == "flip_signature":
            signature = headers[header]
            i = position % len(signature)
            swapped = "0" if signature[i] != "0" else "1"
            headers = {**headers, header: signature[:i] + swapped + signature[i + 1 :]}
        elif how == "wrong_secret":
            headers = signed_with_wrong_secret(body)
        else:
            headers = {"Content-Type": "application/json"}
        before = self.world()
        logs_before = CallbackLog.objects.count()
        log, error = self.attempt(
            handle_callback, provider="sandbox", headers=headers, body=body, now=self.now
        )
        assert error is None, repr(error)
        assert_unchanged(before, self.world())
        assert CallbackLog.objects.count() == logs_before + 1
        assert (log.signature_valid, log.outcome, log.payment_id) == (
            False,
            CallbackOutcome.REJECTED,
            None,
        )
        OUTCOMES["forged callback: rejected"] += 1

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def purchase_rules_hold(self):
        check_invariants(
            self.world(),
            now=self.now,
            capacity=CAPACITY,
            max_per_account=MAX_PER_ACCOUNT,
            refunded_lines=self.refunded_lines,
            fees_kept=self.fees_kept,
        )


# Paths every run must have taken, so the machine cannot pass by doing nothing useful.
EXERCISED = [
    "hold_units: ok",
    "hold_units: PlacesUnavailable",
    "hold_units: LimitExceeded",
    "hold_quantity: ok",
    "hold_best_available: ok",
    "extend_hold: ok",
    "extend_order: ok",
    "release_hold: ok",
    "place_order: ok",
    "cancel_order: ok",
    "start_payment: ok",
    "tidy_expired_holds: ok",
    "expire_overdue_orders: ok",
    "succeeded callback: applied",
    "succeeded callback: duplicate",
    "sale after the hold expired",
    "refunded: places_lost",
    "refunded: order_closed",
    "failed callback: applied",
    "failed callback: stale",
    "forged callback: rejected",
    "request_refund: ok",
    "request_refund: OrderNotFound",
    "request_refund: FeeChanged",
    "request_refund: OrderNotRefundable",
    "refund: some lines",
    "refund: whole order",
]


def test_the_purchase_core_keeps_its_invariants_under_random_use():
    """60 runs of up to 30 steps, the same ones every time (derandomized, so CI is
    repeatable); TESSERA_SM_EXAMPLES=500 searches that many fresh random runs instead."""
    deeper = os.environ.get("TESSERA_SM_EXAMPLES")
    OUTCOMES.clear()
    run_state_machine_as_test(
        PurchaseMachine,
        settings=settings(
            max_examples=int(deeper or 60),
            derandomize=not deeper,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    missing = [path for path in EXERCISED if not OUTCOMES[path]]
    assert not missing, f"paths never taken: {missing}; taken: {dict(OUTCOMES)}"


# -- bugs found while building the machine (fixed since), as plain tests ----------------------


def _units_of(hold) -> list[int]:
    return list(InventoryUnit.objects.filter(hold=hold).values_list("id", flat=True))


def _order_seats(sale, buyer, section: str, seats, now: datetime):
    units = sale.seat_units(section, "A", seats)
    hold = inventory.hold_units(
        session=sale.session, user=buyer, unit_ids=[u.pk for u in units], now=now
    )
    return hold, orders.place_order(hold=hold, user=buyer, now=now)


def test_a_late_payment_that_would_pass_the_account_limit_is_refunded():
    # given a fan (at most 6 places per account) whose order of 4 seats is being paid
    sale = new_sale(BASE)
    fan = make_buyer(preferred_language="en")
    first_hold, first = _order_seats(sale, fan, "S1", [1, 2, 3, 4], BASE)
    payment = start_payment(order=first, provider="sandbox", user=fan, now=BASE)
    # and who, once that hold ran out, holds 4 more seats
    later = BASE + timedelta(minutes=HOLD_MINUTES + 1)
    second_hold, _second = _order_seats(sale, fan, "S2", [1, 2, 3, 4], later)

    # when the first payment arrives late, its places still free
    with TestCase.captureOnCommitCallbacks(execute=True):
        logs = pay_locally(payment_id=payment.pk, now=later)

    # then it buys nothing and goes back in full; the fan keeps the 4 places of the new hold
    assert [(log.outcome, log.detail) for log in logs] == [("refunded", "places_lost")]
    first.refresh_from_db()
    payment.refresh_from_db()
    assert (first.status, payment.status) == (OrderStatus.CANCELLED, PaymentStatus.REFUNDED)
    assert count_account_units(session=sale.session, user=fan, now=later) == 4
    assert list(first.ledger.order_by("id").values_list("kind", "amount")) == [
        (LedgerKind.CHARGE, Decimal("1520.00")),
        (LedgerKind.REFUND, Decimal("-1520.00")),
    ]
    assert not InventoryUnit.objects.filter(hold=first_hold, status=UnitStatus.SOLD).exists()
    assert len(_units_of(second_hold)) == 4


def test_a_payment_arriving_at_the_very_moment_the_hold_ends_buys_its_places():
    # given a fan's order of all 4 seats of a row: 4 places, well under the limit of 6
    sale = new_sale(BASE)
    fan = make_buyer(preferred_language="en")
    hold, order = _order_seats(sale, fan, "S1", [1, 2, 3, 4], BASE)
    payment = start_payment(order=order, provider="sandbox", user=fan, now=BASE)

    # when the payment arrives exactly when the hold ends (nobody could take its places)
    with TestCase.captureOnCommitCallbacks(execute=True):
        logs = pay_locally(payment_id=payment.pk, now=hold.expires_at)

    # then the sale completes: the fan's own 4 places must not count twice against the limit
    order.refresh_from_db()
    assert [(log.outcome, log.detail) for log in logs] == [("applied", "succeeded")]
    assert order.status == OrderStatus.FULFILLED
    assert Ticket.objects.filter(order_line__order=order, status=TicketStatus.VALID).count() == 4
