"""A small sold-out session: one seated zone of ``seats`` places, every place held or
bought, and helpers to hold places as an ordinary buyer."""

from datetime import timedelta

from django.utils import timezone

from tessera.catalog import services as catalog
from tessera.inventory import services as inventory
from tessera.inventory.tests.factories import make_buyer, make_sale


def now_():
    return timezone.now().replace(microsecond=0)


def make_soldout(*, now, seats: int = 6, sections: int = 1, **session_fields):
    """A session ten days ahead, refundable without a fee, whose places are all held by
    buyers as many at a time as one account may (returned: the setup and those holds)."""
    session_fields.setdefault("max_tickets_per_order", seats)
    session_fields.setdefault("max_tickets_per_account", seats)
    sale = make_sale(
        sections=sections,
        rows=1,
        seats_per_row=seats,
        starts_at=now + timedelta(days=10),
        **session_fields,
    )
    catalog.set_policy(event=sale.session.event, actor=None, now=now, is_refundable=True)
    holds = []
    step = min(sale.session.max_tickets_per_order, sale.session.max_tickets_per_account)
    for code in sale.sections:
        ids = list(sale.units(code).values_list("id", flat=True))
        for start in range(0, len(ids), step):
            holder = make_buyer(display_name=f"占座{code}{start}")
            holds.append(
                inventory.hold_units(
                    session=sale.session, user=holder, unit_ids=ids[start : start + step], now=now
                )
            )
    return sale, holds


def fan(**fields):
    fields.setdefault("preferred_language", "en")
    return make_buyer(**fields)
