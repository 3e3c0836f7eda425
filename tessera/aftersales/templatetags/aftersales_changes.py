"""``{% order_change_notice order as notice %}`` and ``{% session_change_notices sessions as
notices %}``: what the fan pages show of an organizer's change (``aftersales.changes``)."""

from django import template

from tessera.aftersales import changes
from tessera.core import clock

register = template.Library()


@register.simple_tag
def order_change_notice(order):
    return changes.order_notice(order, clock.now())


@register.simple_tag
def session_change_notices(rows) -> dict:
    """Notices by session id, for sessions or for the event page's rows (``row.session``)."""
    sessions = [row["session"] if isinstance(row, dict) else row for row in rows]
    return changes.session_notices(sessions)


@register.filter
def notice_for(notices: dict, session_id):
    return notices.get(session_id)


@register.simple_tag
def event_change_notices(event) -> dict:
    """``{"by_session": {id: notice}, "cancelled": [(session, notice)]}`` in one query."""
    by_session, cancelled = changes.event_notices(event)
    return {"by_session": by_session, "cancelled": cancelled}
