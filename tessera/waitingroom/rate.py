"""How many fans to let in: pure functions, no Django."""

from __future__ import annotations

import math


def automatic_rate(
    *,
    max_active: int,
    active: int,
    places_free: int,
    places_held: int,
    tickets_per_fan: int = 2,
) -> int:
    """Fans per minute in automatic mode: follow capacity.

    - nothing once no place is free;
    - at most the shopper headroom (``max_active - active``) and no more fans than the free
      places can serve (``tickets_per_fan`` each);
    - scaled down by the share of the remaining places that already sit in holds: as holds
      pile up, fewer fans come in (they may still free those places or buy them).
    """
    if places_free <= 0:
        return 0
    headroom = max(0, max_active - active)
    serviceable = math.ceil(places_free / max(1, tickets_per_fan))
    # × (1 - held / (free + held)) in whole numbers
    return min(headroom, serviceable) * places_free // (places_free + max(0, places_held))


def admissions_due(
    *,
    rate_per_minute: int,
    elapsed_seconds: float,
    headroom: int,
    queued: int,
) -> int:
    """How many positions to admit now: ``rate × elapsed``, never more than the shopper
    headroom nor than the fans waiting."""
    if rate_per_minute <= 0 or elapsed_seconds <= 0:
        return 0
    due = math.floor(rate_per_minute * elapsed_seconds / 60.0)
    return max(0, min(due, headroom, queued))
