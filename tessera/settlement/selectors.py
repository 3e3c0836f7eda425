"""Reads of settlement shared by the console and the back office."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tessera.accounts.models import Organization
from tessera.partners.models import SettlementCycle
from tessera.settlement import figures
from tessera.settlement.models import PartnerRole, Statement
from tessera.settlement.periods import Period, period_containing


def list_statements(*, organization_ids) -> list[Statement]:
    return list(
        Statement.objects.filter(organization_id__in=list(organization_ids))
        .select_related("organization")
        .order_by("-starts_on", "organization_id")
    )


def get_statement(*, pk, organization_ids) -> Statement | None:
    """The statement ``pk`` if it belongs to one of ``organization_ids`` (else None)."""
    if not isinstance(pk, int) or pk <= 0 or pk > 2**62:
        return None
    return (
        Statement.objects.filter(pk=pk, organization_id__in=list(organization_ids))
        .select_related("organization", "approved_by", "paid_by")
        .prefetch_related("lines")
        .first()
    )


@dataclass
class WeekBar:
    period: Period
    commission: Decimal


def commission_by_week(*, organization: Organization, now: datetime, weeks: int = 12):
    """The distributor's commission per week (Monday to Sunday, Asia/Shanghai) for the last
    ``weeks`` weeks, the current one included, from the ledger (tiers of its own cycle)."""
    if figures.role_of(organization) != PartnerRole.DISTRIBUTOR:
        return []
    book = figures.CommissionBook()
    period = period_containing(now, SettlementCycle.WEEKLY)
    periods = [period]
    for _ in range(weeks - 1):
        periods.insert(0, periods[0].previous())
    return [
        WeekBar(
            period=p,
            commission=figures.compute(organization, p, book=book).totals()["commission"],
        )
        for p in periods
    ]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: Decimal
    negative: bool


def chart_geometry(bars: list[WeekBar], *, width: int = 720, height: int = 220) -> dict:
    """Coordinates of an SVG bar chart of ``bars`` (the zero line where it belongs when
    reversals make a week negative)."""
    top, bottom, left = 16, 28, 8
    plot_h = height - top - bottom
    values = [b.commission for b in bars]
    high = max([v for v in values if v > 0] or [Decimal(0)])
    low = min([v for v in values if v < 0] or [Decimal(0)])
    span = (high - low) or Decimal(1)
    zero_y = top + float(high / span) * plot_h
    slot = (width - 2 * left) / max(len(bars), 1)
    out = []
    for i, bar in enumerate(bars):
        h = float(abs(bar.commission) / span) * plot_h
        y = zero_y - h if bar.commission >= 0 else zero_y
        out.append(
            Bar(
                x=round(left + i * slot + slot * 0.15, 1),
                y=round(y, 1),
                width=round(slot * 0.7, 1),
                height=round(max(h, 0.5 if bar.commission else 0), 1),
                label=f"{bar.period.starts_on:%m-%d}",
                value=bar.commission,
                negative=bar.commission < 0,
            )
        )
    return {
        "width": width,
        "height": height,
        "zero_y": round(zero_y, 1),
        "label_y": height - 10,
        "bars": out,
        "left": left,
        "right": width - left,
    }
