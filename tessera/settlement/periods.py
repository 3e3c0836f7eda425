"""Settlement periods: weekly (Monday to Sunday) or monthly, in Asia/Shanghai dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tessera.partners.models import SettlementCycle

SETTLEMENT_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Period:
    cycle: str
    starts_on: date
    ends_on: date  # inclusive

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.starts_on, time(0), SETTLEMENT_ZONE)

    @property
    def end_at(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return datetime.combine(self.ends_on + timedelta(days=1), time(0), SETTLEMENT_ZONE)

    def previous(self) -> Period:
        return period_containing_day(self.starts_on - timedelta(days=1), self.cycle)

    def next(self) -> Period:
        return period_containing_day(self.ends_on + timedelta(days=1), self.cycle)

    def contains(self, moment: datetime) -> bool:
        return self.start_at <= moment < self.end_at


def local_day(moment: datetime) -> date:
    return moment.astimezone(SETTLEMENT_ZONE).date()


def period_containing_day(day: date, cycle: str) -> Period:
    if cycle == SettlementCycle.WEEKLY:
        start = day - timedelta(days=day.weekday())
        return Period(cycle, start, start + timedelta(days=6))
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period(SettlementCycle.MONTHLY, start, following - timedelta(days=1))


def period_containing(moment: datetime, cycle: str) -> Period:
    return period_containing_day(local_day(moment), cycle)


def period_starting(starts_on: date, cycle: str) -> Period | None:
    """The period that starts on ``starts_on``, or None when none does (not a Monday / not
    the 1st)."""
    period = period_containing_day(starts_on, cycle)
    return period if period.starts_on == starts_on else None


def last_ended(now: datetime, cycle: str) -> Period:
    """The latest period whose end has passed at ``now``."""
    return period_containing(now, cycle).previous()
