"""The boxes of the buy page's seat map: ``{% box_map session %}`` after ``{% seatmap %}``."""

from django import template

from tessera.core import clock
from tessera.groupsales import selectors

register = template.Library()


@register.inclusion_tag("groupsales/_box_map.html", takes_context=True)
def box_map(context, session):
    """The session's boxes on sale: outlined on the map (``js/seatmap-boxes.js``) and listed
    under it, each bought whole with one button."""
    boxes = selectors.boxes_for_map(session=session, now=clock.now())
    return {"boxes": boxes, "session": session, "csp_nonce": context.get("csp_nonce", "")}
