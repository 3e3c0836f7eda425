"""``{% order_exchanges order as box %}``: the order page's exchange box."""

from django import template

from tessera.aftersales import exchanges
from tessera.core import clock
from tessera.core.errors import DomainError

register = template.Library()


@register.simple_tag
def order_exchanges(order) -> dict:
    now = clock.now()
    try:
        exchanges.check_exchangeable(order, now)
        can_exchange = order.lines.filter(status="active").exists()
    except DomainError:
        can_exchange = False
    found = list(exchanges.exchanges_of_order(order))
    for item in found:
        item.stage_label = exchanges.stage_label(item.stage_at(now))
    return {"can_exchange": can_exchange, "exchanges": found}
