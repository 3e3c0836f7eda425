"""Getting a fan's places back after their hold ran out or a late payment lost a seat.

First the very same places, all or none; when any of them has gone, the nearest alternative
of the same quantity in the same price zone: the best block of adjacent seats (best
available), split seats when no block is left, or any standing places, all through the
sale's one hold-request service (``sale.hold_places``). The old order, if one still awaits
payment, is cancelled first so its places are free to take again; a lost-sale order is
already closed and its refund runs on its own.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from tessera.catalog.models import Session
from tessera.inventory import services as inventory
from tessera.inventory.errors import PlacesUnavailable, PlacesUnknown
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit
from tessera.limits import services as limits
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderStatus
from tessera.sale import services as sale
from tessera.sale.choices import PlaceChoice


class NothingToRecover(inventory.HoldNotFound):
    code = "nothing_to_recover"


@dataclass(frozen=True)
class Recovered:
    hold: Hold
    same_places: bool


def places_of_hold(hold: Hold, *, remembered: list[int] | None = None) -> list[int]:
    """The unit ids a hold was for, in seating order: its order's lines, else the units it
    still carries, else the ids the checkout remembered (a tidied hold carries none)."""
    order = Order.objects.filter(hold=hold).first()
    if order is not None:
        ids = list(
            order.lines.exclude(unit_id=None).order_by("id").values_list("unit_id", flat=True)
        )
        if ids:
            return ids
    ids = list(
        InventoryUnit.objects.filter(hold=hold)
        .order_by("section__sort_order", "seat__row__sort_order", "seat__position", "id")
        .values_list("id", flat=True)
    )
    if len(ids) == hold.quantity:
        return ids
    return [int(i) for i in (remembered or [])][: hold.quantity]


def _close_old(*, hold: Hold, order: Order | None, user, now: datetime) -> None:
    if order is not None:
        if order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED):
            orders.cancel_order(
                order=order, actor=user, reason="hold expired; places taken again", now=now
            )
    elif hold.status == HoldStatus.ACTIVE:
        inventory.release_hold(hold=hold, user=user, now=now)


def recover_places(
    *,
    hold: Hold,
    user,
    unit_ids: list[int],
    now: datetime,
    admission_pass: str | None = None,
    buyer: limits.Buyer | None = None,
) -> Recovered:
    """Hold again, for ``user``, the places of the expired or lost ``hold`` (``unit_ids``)
    or the nearest alternative: same quantity, same zone (the zone most of them were in).

    Raises NothingToRecover for a hold that is still live, sold or has no places, and the
    hold services' errors (PlacesUnavailable when no alternative is left, NotOnSale,
    LimitExceeded …); the old order is closed even then, since its time is over.
    """
    if hold.user_id != user.pk or not unit_ids:
        raise NothingToRecover
    order = Order.objects.filter(hold=hold).first()
    lost_sale = order is not None and order.status == OrderStatus.CANCELLED
    if (hold.is_live(now) or hold.status == HoldStatus.SOLD) and not lost_sale:
        raise NothingToRecover
    session = Session.objects.select_related("event").get(pk=hold.session_id)
    _close_old(hold=hold, order=order, user=user, now=now)
    common = {
        "session": session,
        "user": user,
        "now": now,
        "admission_pass": admission_pass,
        "buyer": buyer,
    }
    try:
        new_hold = sale.hold_places(choice=PlaceChoice(unit_ids=tuple(unit_ids)), **common)
        return Recovered(hold=new_hold, same_places=True)
    except (PlacesUnavailable, PlacesUnknown):
        pass
    units = list(
        InventoryUnit.objects.filter(session=session, id__in=unit_ids).select_related("zone")
    )
    if not units:
        raise PlacesUnavailable
    by_zone = Counter(unit.zone_id for unit in units)
    first_index = {unit.zone_id: unit_ids.index(unit.pk) for unit in reversed(units)}
    zone_id = max(by_zone, key=lambda z: (by_zone[z], -first_index[z]))
    zone = next(unit.zone for unit in units if unit.zone_id == zone_id)
    quantity = len(unit_ids)
    if any(unit.seat_id for unit in units if unit.zone_id == zone_id):
        # best available takes adjacent seats first, split ones only when no block is left
        choice = PlaceChoice(
            zone_id=zone.pk, quantity=quantity, best_available=True, accept_split=True
        )
    else:
        choice = PlaceChoice(zone_id=zone.pk, quantity=quantity)
    new_hold = sale.hold_places(choice=choice, **common)
    return Recovered(hold=new_hold, same_places=False)
