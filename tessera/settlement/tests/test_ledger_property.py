"""Property tests over random histories of channel sales, fans' sales and partial or full
refunds with fees, spread over several weeks: every statement ties to the ledger to the cent;
the distributor's commission per week is what a plain model of the rules says (tiers by the
week's net tickets, event rules, reversal at the sale's rate in the refund's week); over all
weeks a refunded ticket's commission is reversed exactly; the organizer pays out the same
commission the distributor earns, and its net payable follows the formula."""

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.core.money import round_money
from tessera.inventory.errors import PlacesUnavailable
from tessera.orders.models import LedgerEntry
from tessera.settlement import services
from tessera.settlement.figures import ledger_scope, tie_to_ledger
from tessera.settlement.periods import period_containing
from tessera.settlement.tests.factories import at, make_world, monday_weeks_ago

pytestmark = pytest.mark.django_db
D = Decimal

rule = st.tuples(
    st.sampled_from(["percent", "per_ticket"]),
    st.integers(1, 2000),  # hundredths: 0.01–20.00 (% or yuan)
)
rules_strategy = st.fixed_dictionaries(
    {
        # tiers: min_tickets → rule; 0 may be missing (nothing earned below the first tier)
        "general": st.dictionaries(st.sampled_from([0, 1, 2, 4]), rule, min_size=1, max_size=3),
        "event": st.one_of(
            st.none(), st.dictionaries(st.sampled_from([0, 3]), rule, min_size=1, max_size=2)
        ),
        "fee": st.integers(0, 1000),  # organizer's platform fee, hundredths of a percent
    }
)
step = st.one_of(
    st.tuples(st.just("sell"), st.integers(1, 3), st.sampled_from(["A", "B"])),
    st.tuples(st.just("public"), st.integers(1, 2)),
    st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 7), st.integers(0, 100)),
)
history = st.lists(st.tuples(step, st.integers(1, 96 * 60)), min_size=2, max_size=12)


@dataclass
class Ticket:
    line_id: int
    price: Decimal
    sold_at: object
    by_channel: bool
    refunded_at: object = None


class Model:
    """The rules written plainly, over the tickets the history made."""

    def __init__(self, general, event_rules):
        self.general = general
        self.event = event_rules
        self.tickets: list[Ticket] = []

    def tier_count(self, week) -> int:
        return sum(
            1
            for t in self.tickets
            if t.by_channel
            and week.contains(t.sold_at)
            and not (t.refunded_at is not None and t.refunded_at < week.end_at)
        )

    def earns(self, t: Ticket) -> Decimal:
        rules = self.event if self.event else self.general
        reached = self.tier_count(period_containing(t.sold_at, "weekly"))
        tiers = [m for m in rules if m <= reached]
        if not tiers:
            return D("0")
        basis, hundredths = rules[max(tiers)]
        value = D(hundredths) / 100
        if basis == "percent":
            return round_money(t.price * value / 100)
        return round_money(value)

    def commission(self, week) -> Decimal:
        total = D("0")
        for t in self.tickets:
            if not t.by_channel:
                continue
            if week.contains(t.sold_at):
                total += self.earns(t)
            if t.refunded_at is not None and week.contains(t.refunded_at):
                total -= self.earns(t)
        return total


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rules=rules_strategy, steps=history)
def test_statements_tie_to_the_ledger_and_commission_follows_the_rules(rules, steps):
    # given a distributor's tiers (general, maybe the event's own) and an organizer's fee
    world = make_world(organizer_fee=str(D(rules["fee"]) / 100))
    contract = world.distributor.contract
    event = world.sale.session.event
    for min_tickets, (basis, hundredths) in rules["general"].items():
        contract.commission_rules.create(
            basis=basis, value=D(hundredths) / 100, min_tickets=min_tickets
        )
    for min_tickets, (basis, hundredths) in (rules["event"] or {}).items():
        contract.commission_rules.create(
            basis=basis, value=D(hundredths) / 100, min_tickets=min_tickets, event=event
        )
    model = Model(rules["general"], rules["event"])
    by_line: dict[int, Ticket] = {}
    orders = []
    public_seats = iter(range(1, 13))
    when = at(monday_weeks_ago(9), 0, 30)

    # when the history happens
    for (kind, *args), minutes in steps:
        when += timedelta(minutes=minutes)
        if kind == "sell":
            quantity, zone = args
            try:
                order = world.sell(when, quantity, zone)
            except PlacesUnavailable:
                continue
            channel = True
        elif kind == "public":
            seats = list(itertools.islice(public_seats, args[0]))
            if not seats:
                continue
            order = world.sell_public(when, seats, section="S3")
            channel = False
        else:
            index, mask, fee_percent = args
            candidates = [o for o in orders if world.active_lines(o)]
            if not candidates:
                continue
            order = candidates[index % len(candidates)]
            lines = world.active_lines(order)
            chosen = [ln for i, ln in enumerate(lines) if mask & (1 << i)] or lines[:1]
            fees = {ln.pk: round_money(ln.price * fee_percent / 100) for ln in chosen}
            world.refund(order, when, fees)
            for ln in chosen:
                by_line[ln.pk].refunded_at = when
            continue
        orders.append(order)
        for line in order.lines.all():
            ticket = Ticket(line.pk, line.price, when, channel)
            by_line[line.pk] = ticket
            model.tickets.append(ticket)

    now = timezone.now()
    first_week = period_containing(at(monday_weeks_ago(9)), "weekly")
    weeks = [first_week]
    while weeks[-1].end_at <= when:
        weeks.append(weeks[-1].next())
    months = sorted(
        {period_containing(w.start_at, "monthly") for w in weeks}
        | {period_containing(w.end_at - timedelta(seconds=1), "monthly") for w in weeks},
        key=lambda p: p.starts_on,
    )

    # then each distributor week ties to the ledger and earns what the model says
    earned = D("0")
    for week in weeks:
        s = services.generate_statement(
            organization=world.distributor, starts_on=week.starts_on, now=now
        )
        assert tie_to_ledger(s), week
        assert s.commission == model.commission(week), week
        assert s.net_payable == s.gross - s.refunds + s.fees - s.commission
        earned += s.commission
    # a refunded ticket's commission is reversed exactly: what remains is the kept tickets'
    kept = sum(
        (model.earns(t) for t in model.tickets if t.by_channel and t.refunded_at is None), D(0)
    )
    assert earned == kept

    # and the organizer's months tie, pay the same commission and follow the formula
    paid_out = D("0")
    money = defaultdict(lambda: D("0"))
    for month in months:
        s = services.generate_statement(
            organization=world.organizer, starts_on=month.starts_on, now=now
        )
        v = services.generate_statement(
            organization=world.venue_operator, starts_on=month.starts_on, now=now
        )
        assert tie_to_ledger(s) and tie_to_ledger(v)
        assert (v.gross, v.refunds, v.fees, v.net_payable) == (s.gross, s.refunds, s.fees, 0)
        for line in s.lines.all():
            fee = round_money((line.gross - line.refunds) * s.platform_fee_percent / 100)
            assert line.platform_fee == fee
            assert line.net_payable == (
                line.gross - line.refunds + line.fees - line.platform_fee - line.commission
            )
        paid_out += s.commission
        money["tickets_sold"] += s.tickets_sold
        money["tickets_refunded"] += s.tickets_refunded
        money["collected"] += s.gross - s.refunds + s.fees
    assert paid_out == earned
    assert money["tickets_sold"] == len(model.tickets)
    assert money["tickets_refunded"] == sum(1 for t in model.tickets if t.refunded_at)
    ledger_total = sum(
        LedgerEntry.objects.filter(ledger_scope(world.organizer.pk, "organizer")).values_list(
            "amount", flat=True
        ),
        D("0"),
    )
    assert money["collected"] == ledger_total
