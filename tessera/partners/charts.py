"""Bar charts drawn on the server as SVG geometry (no script: the page's policy allows none
without a nonce, and a chart needs none). ``bar_chart`` gives the coordinates a template
draws: bars, the axis' gridlines with their labels, and date labels every few days."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

WIDTH = 480
HEIGHT = 180
LEFT = 44  # room for the axis' labels
RIGHT = 16  # half a date label past the last bar
TOP = 8
BOTTOM = 22  # room for the date labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Grid:
    y: float
    label: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    baseline: float
    bars: list[Bar]
    grid: list[Grid]
    ticks: list[Tick]
    total: str
    is_empty: bool


def nice_ceiling(value: Decimal, *, integer: bool = False) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above ``value`` (an axis' top); for counts
    (``integer``) without 2.5, so the middle line is a whole number from 4 up."""
    if value <= 0:
        return Decimal("2") if integer else Decimal("1")
    exponent = value.adjusted()
    steps = (Decimal("1"), Decimal("2"), Decimal("2.5"), Decimal("5"), Decimal("10"))
    for step in steps:
        if integer and step == Decimal("2.5"):
            continue
        top = step.scaleb(exponent)
        if top >= value:
            return top
    return Decimal("10").scaleb(exponent)  # pragma: no cover - the loop ends at 10ⁿ⁺¹


def _short(value: Decimal) -> str:
    if value >= 10_000 and value % 1000 == 0:
        return f"{value / 1000:,.0f}k"
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def bar_chart(
    values, labels, *, titles, every: int = 5, total: str = "", integer: bool = False
) -> Chart:
    """A chart of ``values`` (numbers ≥ 0) with a date label every ``every`` bars (and the
    last); ``titles`` are the bars' hover texts; ``integer``: counts, whole gridlines only."""
    numbers = [Decimal(str(v)) for v in values]
    top = nice_ceiling(max(numbers, default=Decimal("0")), integer=integer)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(numbers), 1)
    gap = min(2.0, slot * 0.2)
    bars = []
    for i, (value, title) in enumerate(zip(numbers, titles, strict=True)):
        h = float(value / top) * plot_h if value > 0 else 0.0
        h = max(h, 1.5) if value > 0 else 0.0
        bars.append(
            Bar(
                x=round(LEFT + i * slot + gap / 2, 2),
                y=round(TOP + plot_h - h, 2),
                width=round(slot - gap, 2),
                height=round(h, 2),
                title=title,
            )
        )
    grid = [
        Grid(y=round(TOP + plot_h - plot_h * fraction, 2), label=_short(top * Decimal(fraction)))
        for fraction in (0, 0.5, 1)
        if not (integer and top * Decimal(fraction) % 1)
    ]
    count = len(labels)
    ticks = [
        Tick(x=round(LEFT + (i + 0.5) * slot, 2), label=str(label))
        for i, label in enumerate(labels)
        if (count - 1 - i) % every == 0
    ]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        baseline=TOP + plot_h,
        bars=bars,
        grid=grid,
        ticks=ticks,
        total=total,
        is_empty=not any(numbers),
    )
