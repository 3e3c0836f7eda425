"""The refund fee: one pure function, checked on examples a fan would meet and on random
policies, prices, times and demand (hypothesis)."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.aftersales.fees import (
    NOT_REFUNDABLE,
    TOO_LATE,
    Demand,
    DemandRule,
    Terms,
    heat_of,
    refund_fee,
    schedule_step,
)

START = datetime(2027, 3, 1, 19, 30, tzinfo=UTC)
D = Decimal
STEPS = ((168, D(0)), (72, D(10)), (0, D(20)))  # 7 days+ 0 %, 72 h–7 days 10 %, under 72 h 20 %


NO_DEMAND = Demand()


def fee_at(terms, hours_before, price="380.00", demand=NO_DEMAND, currency="CNY"):
    return refund_fee(
        terms,
        price=D(price),
        currency=currency,
        starts_at=START,
        now=START - timedelta(hours=hours_before),
        demand=demand,
    )


# -- examples ----------------------------------------------------------------------------------


def test_the_schedule_applies_the_step_of_the_time_left():
    terms = Terms(is_refundable=True, cutoff_hours=2, tiers=STEPS)
    assert fee_at(terms, 200).fee == D("0.00")
    assert fee_at(terms, 168).fee == D("0.00")
    assert fee_at(terms, 167.5).fee == D("38.00")
    assert fee_at(terms, 72).fee == D("38.00")
    assert fee_at(terms, 71).fee == D("76.00")
    assert (fee_at(terms, 3).fee, fee_at(terms, 3).refund) == (D("76.00"), D("304.00"))
    assert fee_at(terms, 3).step == (0, 72, True)
    assert fee_at(terms, 100).step == (72, 168, False)
    assert fee_at(terms, 200).step == (168, None, False)


def test_refunds_close_at_the_cutoff_and_at_the_start():
    terms = Terms(is_refundable=True, cutoff_hours=2, tiers=STEPS)
    assert fee_at(terms, 2.5).allowed
    late = fee_at(terms, 1.5)
    assert (late.allowed, late.refusal) == (False, TOO_LATE)
    no_cutoff = Terms(is_refundable=True)
    assert fee_at(no_cutoff, 0.01).allowed
    assert fee_at(no_cutoff, 0).refusal == TOO_LATE
    assert fee_at(no_cutoff, -5).refusal == TOO_LATE
    assert fee_at(Terms(is_refundable=False), 500).refusal == NOT_REFUNDABLE


def test_minimum_and_maximum_bound_the_fee_and_the_price_bounds_both():
    terms = Terms(is_refundable=True, tiers=((0, D(10)),), fee_min=D(5), fee_max=D(30))
    assert (fee_at(terms, 10, "20.00").fee, fee_at(terms, 10, "20.00").adjusted) == (
        D("5.00"),
        "minimum",
    )
    assert (fee_at(terms, 10, "1000.00").fee, fee_at(terms, 10, "1000.00").adjusted) == (
        D("30.00"),
        "maximum",
    )
    assert (fee_at(terms, 10, "3.00").fee, fee_at(terms, 10, "3.00").adjusted) == (
        D("3.00"),
        "price",
    )
    assert fee_at(terms, 10, "3.00").refund == D("0.00")


def test_the_fee_is_rounded_to_the_currency_minor_unit():
    terms = Terms(is_refundable=True, tiers=((0, D("12.5")),))
    assert fee_at(terms, 10, "99.99").fee == D("12.50")
    assert fee_at(terms, 10, "999", currency="JPY").fee == D("125")


def test_a_hot_session_raises_the_fee_from_its_floor_to_its_cap():
    rule = DemandRule(floor=D(5), cap=D(40), from_sold=D(80))
    terms = Terms(is_refundable=True, tiers=((0, D(10)),), demand=rule)
    quiet = fee_at(terms, 100, demand=Demand(sold=100, capacity=1000))
    assert (quiet.heat, quiet.demand_percent, quiet.percent, quiet.fee) == (
        D("0.000"),
        D("5.00"),
        D(10),
        D("38.00"),
    )
    half = fee_at(terms, 100, demand=Demand(sold=900, capacity=1000))
    assert (half.heat, half.demand_percent, half.fee) == (D("0.500"), D("22.50"), D("85.50"))
    sold_out = fee_at(terms, 100, demand=Demand(sold=1000, capacity=1000))
    assert (sold_out.heat, sold_out.percent, sold_out.fee) == (D("1.000"), D("40.00"), D("152.00"))
    # as many fans waiting as places: full heat even when sales are slow
    queue = fee_at(terms, 100, demand=Demand(sold=10, capacity=1000, waiting=1000))
    assert queue.heat == D("1.000")
    assert heat_of(rule, Demand()) == 0


def test_no_steps_means_no_fee():
    assert schedule_step((), D(10)) == (D(0), None)
    assert fee_at(Terms(is_refundable=True), 10).fee == D("0.00")


# -- properties --------------------------------------------------------------------------------

percents = st.decimals(min_value=0, max_value=100, places=2)
money = st.decimals(min_value=D("0.00"), max_value=D("99999.99"), places=2)
hours = st.integers(min_value=0, max_value=24 * 120)


@st.composite
def policies(draw):
    tiers = draw(st.dictionaries(hours, percents, max_size=5))
    fee_min = draw(st.one_of(st.just(D(0)), money))
    fee_max = draw(st.one_of(st.none(), money))
    demand = draw(
        st.one_of(
            st.none(),
            st.builds(
                lambda a, b, s: DemandRule(floor=min(a, b), cap=max(a, b), from_sold=s),
                percents,
                percents,
                st.decimals(min_value=0, max_value=100, places=0),
            ),
        )
    )
    return Terms(
        is_refundable=True,
        cutoff_hours=draw(st.integers(0, 72)),
        tiers=tuple(sorted(tiers.items(), reverse=True)),
        fee_min=fee_min,
        fee_max=fee_max,
        demand=demand,
    )


demands = st.builds(
    lambda capacity, sold, waiting: Demand(
        sold=min(sold, capacity), capacity=capacity, waiting=waiting
    ),
    st.integers(0, 60000),
    st.integers(0, 60000),
    st.integers(0, 100000),
)
times = st.floats(min_value=-48, max_value=24 * 150, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(terms=policies(), price=money, before=times, demand=demands)
def test_the_fee_is_never_negative_never_above_the_price_and_adds_up(terms, price, before, demand):
    quoted = fee_at(terms, before, price=price, demand=demand)
    assert D(0) <= quoted.fee <= quoted.price == price
    assert quoted.refund + quoted.fee == price
    assert quoted.refund >= 0
    assert quoted.fee == quoted.fee.quantize(D("0.01"))
    if quoted.adjusted == "":
        assert quoted.percent >= quoted.schedule_percent


def _rising(tiers) -> bool:
    """The schedule's percentages do not fall as the start approaches."""
    ordered = [percent for _hours, percent in sorted(tiers, reverse=True)]
    return all(a <= b for a, b in itertools.pairwise(ordered))


@settings(max_examples=400, deadline=None)
@given(
    terms=policies(),
    price=money,
    early=times,
    later_by=st.floats(min_value=0, max_value=24 * 30, allow_nan=False),
    demand=demands,
)
def test_a_rising_schedule_never_charges_less_closer_to_the_start(
    terms, price, early, later_by, demand
):
    if not _rising(terms.tiers):
        return
    first = fee_at(terms, early, price=price, demand=demand)
    second = fee_at(terms, early - later_by, price=price, demand=demand)
    assert second.fee >= first.fee


@settings(max_examples=400, deadline=None)
@given(
    terms=policies(),
    price=money,
    before=times,
    capacity=st.integers(1, 5000),
    sold=st.integers(0, 5000),
    more_sold=st.integers(0, 5000),
    waiting=st.integers(0, 5000),
    more_waiting=st.integers(0, 5000),
)
def test_more_demand_never_lowers_the_fee(
    terms, price, before, capacity, sold, more_sold, waiting, more_waiting
):
    low = Demand(sold=min(sold, capacity), capacity=capacity, waiting=waiting)
    high = Demand(
        sold=min(sold + more_sold, capacity), capacity=capacity, waiting=waiting + more_waiting
    )
    assert heat_of_terms(terms, low) <= heat_of_terms(terms, high)
    assert (
        fee_at(terms, before, price=price, demand=high).fee
        >= fee_at(terms, before, price=price, demand=low).fee
    )


def heat_of_terms(terms: Terms, demand: Demand) -> Decimal:
    return heat_of(terms.demand, demand) if terms.demand else D(0)
