"""The settlement rules on fixed examples: commission tiers, event rules, reversal in the
refund's period, the organizer's platform fee and net payable, the venue's statement."""

from decimal import Decimal

import pytest
from django.utils import timezone

from tessera.aftersales import services as aftersales
from tessera.orders.models import LedgerEntry
from tessera.settlement import services
from tessera.settlement.figures import tie_to_ledger
from tessera.settlement.models import PartnerRole
from tessera.settlement.periods import period_containing
from tessera.settlement.tests.factories import at, make_world, monday_weeks_ago

pytestmark = pytest.mark.django_db

D = Decimal
TIERED = [("percent", "5", 0, None), ("percent", "8", 3, None)]


def statement(org, day):
    period = period_containing(at(day), org.contract.settlement_cycle)
    return services.generate_statement(
        organization=org, starts_on=period.starts_on, now=timezone.now()
    )


def test_percent_commission_takes_the_tier_the_weeks_net_tickets_reach():
    # given a distributor earning 5 % from the first ticket, 8 % from the third in a week
    world = make_world(distributor_rules=TIERED)
    week1, week2 = monday_weeks_ago(4), monday_weeks_ago(3)
    # when it sells 2 tickets of ¥380 in week 1 and 3 in week 2
    world.sell(at(week1), 2)
    world.sell(at(week2), 1)
    world.sell(at(week2, 15), 2)
    # then week 1 earns 2 × 19.00 and week 2 3 × 30.40
    first, second = statement(world.distributor, week1), statement(world.distributor, week2)
    assert (first.role, first.tickets_sold, first.commission) == ("distributor", 2, D("38.00"))
    assert (second.orders, second.tickets_sold, second.commission) == (2, 3, D("91.20"))
    # and it owes what it collected less what it earned
    assert first.gross == D("760.00") and first.net_payable == D("722.00")
    assert second.net_payable == D("1140.00") - D("91.20")
    assert tie_to_ledger(first) and tie_to_ledger(second)


def test_refunding_inside_the_week_does_not_buy_a_tier():
    world = make_world(distributor_rules=TIERED)
    week = monday_weeks_ago(4)
    # 3 tickets sold, one refunded the same week: 2 net tickets, so 5 %
    order = world.sell(at(week), 3)
    world.refund(order, at(week, 18), {world.active_lines(order)[0].pk: D("0")})
    s = statement(world.distributor, week)
    assert (s.tickets_sold, s.tickets_refunded) == (3, 1)
    assert s.commission == D("38.00")  # 3 × 19.00 earned − 19.00 reversed
    assert s.refunds == D("380.00") and s.net_payable == D("1140.00") - D("380.00") - D("38.00")


def test_an_event_rule_overrides_the_general_rules_per_ticket():
    world = make_world()
    contract = world.distributor.contract
    contract.commission_rules.create(basis="percent", value=D("10"), min_tickets=0)
    contract.commission_rules.create(
        basis="per_ticket", value=D("12.50"), min_tickets=0, event=world.sale.session.event
    )
    week = monday_weeks_ago(4)
    world.sell(at(week), 2, zone="B")  # ¥280 each
    s = statement(world.distributor, week)
    assert s.commission == D("25.00")
    line = s.lines.get()
    assert (line.session_id, line.tickets_sold, line.commission) == (
        world.sale.session.pk,
        2,
        D("25.00"),
    )


def test_a_refund_reverses_its_commission_at_the_sales_rate_in_the_refunds_week():
    # given 3 tickets sold in week 1 (8 % tier: 30.40 each)
    world = make_world(distributor_rules=TIERED)
    week1, week2 = monday_weeks_ago(5), monday_weeks_ago(4)
    order = world.sell(at(week1), 3)
    # when one is refunded in week 2 with a ¥20 fee kept, and week 2 sells one more (5 %)
    world.refund(order, at(week2, 10), {world.active_lines(order)[0].pk: D("20.00")})
    world.sell(at(week2, 11), 1)
    first, second = statement(world.distributor, week1), statement(world.distributor, week2)
    # then week 1 keeps its 91.20; week 2 earns 19.00 and gives back 30.40
    assert first.commission == D("91.20")
    assert second.commission == D("19.00") - D("30.40")
    assert (second.refunds, second.fees, second.tickets_refunded) == (D("380.00"), D("20.00"), 1)
    # the distributor collected 380, refunded 360, and is owed its net commission back
    assert second.net_payable == D("380.00") - D("380.00") + D("20.00") - D("-11.40")
    assert tie_to_ledger(second)


def test_the_organizer_gets_gross_less_refunds_plus_fees_less_platform_fee_and_commission():
    # given an organizer paying a 5 % platform fee; a distributor at 5 %
    world = make_world(distributor_rules=[("percent", "5", 0, None)], organizer_fee="5")
    day = monday_weeks_ago(8)
    # a fan buys 2 seats (¥760, sandbox), the channel 1 ticket (¥380); one fan seat refunded
    public = world.sell_public(at(day), [1, 2])
    world.sell(at(day, 13), 1)
    world.refund(public, at(day, 14), {world.active_lines(public)[0].pk: D("38.00")})
    s = statement(world.organizer, day)
    assert s.role == PartnerRole.ORGANIZER
    assert (s.orders, s.tickets_sold, s.tickets_refunded) == (2, 3, 1)
    assert (s.gross, s.refunds, s.fees) == (D("1140.00"), D("380.00"), D("38.00"))
    assert s.platform_fee == D("38.00")  # 5 % of 760
    assert s.commission == D("19.00")
    assert s.net_payable == D("1140.00") - D("380.00") + D("38.00") - D("38.00") - D("19.00")
    assert tie_to_ledger(s)


def test_the_venue_operator_sees_its_venues_sales_and_owes_nothing():
    world = make_world(distributor_rules=[("percent", "5", 0, None)])
    day = monday_weeks_ago(8)
    world.sell(at(day), 2)
    s = statement(world.venue_operator, day)
    assert (s.role, s.gross, s.commission, s.net_payable) == (
        "venue",
        D("760.00"),
        D("0"),
        D("0"),
    )
    assert tie_to_ledger(s)


def test_a_distributor_without_rules_or_without_a_contract_earns_nothing():
    world = make_world()
    day = monday_weeks_ago(4)
    world.sell(at(day), 1)
    assert statement(world.distributor, day).commission == 0
    world.distributor.contract.delete()
    world.distributor.refresh_from_db()
    s = services.generate_statement(
        organization=world.distributor,
        starts_on=period_containing(at(day), "monthly").starts_on,
        now=timezone.now(),
    )
    assert (s.cycle, s.gross, s.commission) == ("monthly", D("380.00"), 0)


def test_an_organizers_full_refund_through_after_sales_counts_its_tickets():
    # given a fan's paid order of 2 seats, refunded in full by the organizer the next week
    world = make_world(organizer_fee="0")
    week1, week2 = monday_weeks_ago(9), monday_weeks_ago(8)
    order = world.sell_public(at(week1), [1, 2])
    aftersales.refund_order_in_full(order=order, actor=None, reason="rain", now=at(week2, 9))
    assert LedgerEntry.objects.filter(order=order, kind="refund").count() == 1
    # then the month of the refund shows 2 tickets refunded and ties to the ledger
    s = statement(world.organizer, week2)
    if period_containing(at(week1), "monthly") == period_containing(at(week2), "monthly"):
        assert (s.tickets_sold, s.gross) == (2, D("760.00"))
    assert (s.tickets_refunded, s.refunds, s.fees) == (2, D("760.00"), D("0"))
    assert tie_to_ledger(s)
