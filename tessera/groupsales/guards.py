"""Guards the box sales add to other apps' flows: a box's tickets go back together."""

from __future__ import annotations

from datetime import datetime

from tessera.groupsales.errors import BoxSplit
from tessera.groupsales.models import BoxSale
from tessera.tickets.models import Ticket


def refuse_partial_box_returns(*, ticket_ids, now: datetime) -> None:
    """``settings.TICKET_RETURN_GUARDS``: a refund or an exchange takes every ticket of a box
    or none (a box's places return to sale only as a whole box)."""
    wanted = set(ticket_ids)
    if not wanted:
        return
    orders = set(
        BoxSale.objects.filter(
            order_id__in=Ticket.objects.filter(pk__in=wanted).values("order_line__order_id")
        ).values_list("order_id", flat=True)
    )
    if not orders:
        return
    whole = set(Ticket.objects.filter(order_line__order_id__in=orders).values_list("pk", flat=True))
    if not whole <= wanted:
        raise BoxSplit(details={"tickets": sorted(whole - wanted)})
