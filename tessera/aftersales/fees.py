"""The fee of a refund: one pure function of the policy's terms, the ticket's price, the time
left before the start and the session's demand. No database, no clock: callers pass all of it.

The schedule is a list of steps (hours before the start, percent). The step that applies is
the one with the most hours that are still at most the hours left; closer to the start than
every step, the last step applies. So (168, 0 %), (72, 10 %), (0, 20 %) reads "7 days or more
before the start: 0 %; from 72 hours: 10 %; under 72 hours: 20 %".

A demand fee, when the policy has one, rises from its floor to its cap with the session's
heat: 0 while fewer than ``from_sold`` percent of the places are sold and nobody waits, 1 when
the session is sold out or as many fans wait (in the waiting room, on the waitlist) as there
are places. The fee's percentage is the larger of the schedule's and the demand's.

The fee is that percentage of the price, rounded to the currency's minor unit, then raised to
the policy's minimum and lowered to its maximum, and never more than the price. Properties
(tested with random inputs): never negative, never above the price, refund + fee = price,
non-decreasing as the start approaches when the schedule's percentages rise toward the start,
non-decreasing with demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tessera.core.money import round_money

HUNDRED = Decimal(100)
_HOUR_SECONDS = Decimal(3600)

# Why a refund is refused by the policy (the services add refusals of their own).
NOT_REFUNDABLE = "not_refundable"
TOO_LATE = "too_late"


@dataclass(frozen=True)
class DemandRule:
    floor: Decimal  # percent
    cap: Decimal  # percent
    from_sold: Decimal  # percent of places sold from which demand counts


@dataclass(frozen=True)
class Terms:
    """What the fee depends on in a policy (``catalog.AfterSalesPolicy``)."""

    is_refundable: bool
    cutoff_hours: int = 0
    tiers: tuple[tuple[int, Decimal], ...] = ()
    fee_min: Decimal = Decimal(0)
    fee_max: Decimal | None = None
    demand: DemandRule | None = None

    @classmethod
    def of(cls, policy) -> Terms:
        return cls(
            is_refundable=policy.is_refundable,
            cutoff_hours=policy.refund_cutoff_hours,
            tiers=tuple(
                sorted(
                    ((tier.hours_before, Decimal(tier.percent)) for tier in policy.tiers.all()),
                    reverse=True,
                )
            )
            if policy.pk
            else (),
            fee_min=Decimal(policy.fee_min),
            fee_max=None if policy.fee_max is None else Decimal(policy.fee_max),
            demand=DemandRule(
                floor=Decimal(policy.demand_fee_floor),
                cap=Decimal(policy.demand_fee_cap),
                from_sold=Decimal(policy.demand_from_sold),
            )
            if policy.has_demand_fee
            else None,
        )


@dataclass(frozen=True)
class Demand:
    """A session's demand when the fee is quoted."""

    sold: int = 0
    capacity: int = 0
    waiting: int = 0

    @property
    def sold_percent(self) -> Decimal:
        if self.capacity <= 0:
            return Decimal(0)
        return (Decimal(self.sold) * HUNDRED / Decimal(self.capacity)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Fee:
    """A quoted fee, with what it was made of (for the explanation the fan reads)."""

    allowed: bool
    refusal: str  # "" when allowed, else NOT_REFUNDABLE or TOO_LATE
    price: Decimal
    fee: Decimal
    refund: Decimal
    percent: Decimal  # the percentage applied, before the minimum and maximum
    schedule_percent: Decimal
    # (from hours, until hours, is the last step) of the step that applies; None: no steps
    step: tuple[int, int | None, bool] | None
    demand_percent: Decimal | None  # None: the policy has no demand fee
    heat: Decimal  # 0..1
    hours_left: Decimal
    adjusted: str  # "" | "minimum" | "maximum" | "price"


def schedule_step(
    tiers: tuple[tuple[int, Decimal], ...], hours_left: Decimal
) -> tuple[Decimal, tuple[int, int | None, bool] | None]:
    """(percent, (from hours, until hours, is last)) of the step that applies; 0 % without
    steps. ``until`` is the previous step's hours (None for the first step)."""
    ordered = sorted(tiers, reverse=True)
    if not ordered:
        return Decimal(0), None
    last = len(ordered) - 1
    for index, (hours, percent) in enumerate(ordered):
        if hours <= hours_left:
            return percent, (hours, ordered[index - 1][0] if index else None, index == last)
    hours, percent = ordered[-1]
    return percent, (hours, ordered[-2][0] if last else None, True)


def heat_of(rule: DemandRule, demand: Demand) -> Decimal:
    """0..1: how hot the session is by the rule."""
    if demand.capacity <= 0:
        return Decimal(0)
    sold = Decimal(demand.sold) * HUNDRED / Decimal(demand.capacity)
    span = HUNDRED - rule.from_sold
    by_sales = (sold - rule.from_sold) / span if span > 0 else Decimal(1 if sold >= 100 else 0)
    by_waiting = Decimal(max(demand.waiting, 0)) / Decimal(demand.capacity)
    heat = max(by_sales, by_waiting)
    return min(max(heat, Decimal(0)), Decimal(1))


def refund_fee(
    terms: Terms,
    *,
    price: Decimal,
    currency: str,
    starts_at: datetime,
    now: datetime,
    demand: Demand = Demand(),
) -> Fee:
    """The fee of refunding one ticket of ``price`` at ``now``; see the module's docstring."""
    price = round_money(price, currency)
    hours_left = Decimal((starts_at - now).total_seconds()) / _HOUR_SECONDS
    hours_left = hours_left.quantize(Decimal("0.01"))
    schedule_percent, step = schedule_step(terms.tiers, hours_left)
    heat = Decimal(0)
    demand_percent = None
    if terms.demand is not None:
        heat = heat_of(terms.demand, demand)
        rule = terms.demand
        demand_percent = (rule.floor + (rule.cap - rule.floor) * heat).quantize(Decimal("0.01"))
    percent = max(schedule_percent, demand_percent or Decimal(0))
    refusal = ""
    if not terms.is_refundable:
        refusal = NOT_REFUNDABLE
    elif hours_left < terms.cutoff_hours or hours_left <= 0:
        refusal = TOO_LATE
    fee = round_money(price * percent / HUNDRED, currency)
    adjusted = ""
    if fee < terms.fee_min:
        fee, adjusted = round_money(terms.fee_min, currency), "minimum"
    if terms.fee_max is not None and fee > terms.fee_max:
        fee, adjusted = round_money(terms.fee_max, currency), "maximum"
    if fee > price:
        fee, adjusted = price, "price"
    return Fee(
        allowed=not refusal,
        refusal=refusal,
        price=price,
        fee=fee,
        refund=price - fee,
        percent=percent,
        schedule_percent=schedule_percent,
        step=step,
        demand_percent=demand_percent,
        heat=heat.quantize(Decimal("0.001")),
        hours_left=hours_left,
        adjusted=adjusted,
    )
