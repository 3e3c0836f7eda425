"""Demand per section, for the seat map's heat map.

Two signals the platform records, over the last ``window_minutes`` (default
HEAT_WINDOW_MINUTES):

* *taken*: places of the section held or bought through holds created in the window (units
  whose hold's ``created_at`` is in the window and that are still held or sold by it);
* *views*: how often fans opened the section's seat view (``SectionViewCount``, one row per
  session, section and UTC minute, incremented by ``record_section_view``).

The heat of a section is ``(taken / scale taken + views / scale views) / 2``, rounded to two
decimals, where a scale is the busiest section's figure but never less than
``HEAT_FULL_TAKEN`` places or ``HEAT_FULL_VIEWS`` views in the window: 1.00 is the section
selling fastest *and* looked at most in a sale that is really busy, while two tickets sold
in a quiet sale stay cool (0.05) instead of making their section the "hottest".
``taken_per_minute`` is ``taken / window_minutes`` rounded to two decimals.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum

from tessera.catalog.models import Session
from tessera.inventory import seatmap
from tessera.inventory.models import InventoryUnit, SectionViewCount, UnitStatus
from tessera.venues.models import Section

HEAT_WINDOW_MINUTES = 15
# Below these figures in the window no section is "hot", however it compares to the others.
HEAT_FULL_TAKEN = 20  # places held or sold
HEAT_FULL_VIEWS = 20  # openings of the section's seat view
_CENT = Decimal("0.01")


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def record_section_view(*, session: Session, section: Section, now: datetime) -> None:
    """Count one opening of ``section``'s seat view in ``session`` at ``now``'s minute.

    One conditional UPDATE; the first view of a minute inserts the row (a racing insert
    falls back to the UPDATE). Not audited: a counter, not a decision.
    """
    minute = _minute(now)
    match = SectionViewCount.objects.filter(session=session, section=section, minute=minute)
    if match.update(views=F("views") + 1):
        return
    try:
        with transaction.atomic():
            SectionViewCount.objects.create(
                session=session, section=section, minute=minute, views=1
            )
    except IntegrityError:
        match.update(views=F("views") + 1)


def _ratio(value: int, top: int) -> Fraction:
    return Fraction(value, top) if top else Fraction(0)


def _round(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        _CENT, rounding=ROUND_HALF_UP
    )


def section_heat(
    *, session: Session, now: datetime, window_minutes: int = HEAT_WINDOW_MINUTES
) -> dict[int, dict]:
    """Section id → ``{"taken", "views", "taken_per_minute", "heat"}`` for every section of
    the session's layout that has places (see the module docstring for the figures)."""
    since = now - timedelta(minutes=window_minutes)
    order = seatmap.seat_order(session)  # cached: no scan of every unit per request
    section_ids = [*order.unit_ids, *order.standing]
    taken = dict(
        InventoryUnit.objects.filter(
            session=session,
            hold__created_at__gt=since,
            hold__created_at__lte=now,
            status__in=[UnitStatus.HELD, UnitStatus.SOLD],
        )
        .order_by()
        .values("section_id")
        .annotate(n=Count("id"))
        .values_list("section_id", "n")
    )
    views = dict(
        SectionViewCount.objects.filter(session=session, minute__gt=since, minute__lte=now)
        .order_by()
        .values("section_id")
        .annotate(n=Sum("views"))
        .values_list("section_id", "n")
    )
    top_taken = max([HEAT_FULL_TAKEN, *taken.values()])
    top_views = max([HEAT_FULL_VIEWS, *views.values()])
    result = {}
    for section_id in sorted(section_ids):
        t, v = taken.get(section_id, 0), views.get(section_id, 0)
        result[section_id] = {
            "taken": t,
            "views": v,
            "taken_per_minute": _round(Fraction(t, window_minutes)),
            "heat": _round((_ratio(t, top_taken) + _ratio(v, top_views)) / 2),
        }
    return result
