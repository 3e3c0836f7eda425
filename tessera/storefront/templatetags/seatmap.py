"""``{% seatmap session %}``: the interactive seat map of the buy page.

Draws the venue overview server-side (``storefront.overview``, sections coloured by price
zone) and renders, as a JSON blob, what ``static/js/seatmap.js`` needs: endpoint addresses,
sections, zones with prices (minor units for the running total, formatted text for display),
the per-order limit and every text the map shows, translated.
"""

from decimal import Decimal

from django import template
from django.db.models import prefetch_related_objects
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.translation import gettext as _

from tessera.core.i18n import is_english, localized
from tessera.core.money import format_money
from tessera.storefront.overview import build_overview, safe_color
from tessera.storefront.selectors import list_session_overviews

register = template.Library()

_CURRENCY = {"CNY": ("¥", 2), "USD": ("$", 2), "EUR": ("€", 2), "HKD": ("HK$", 2), "JPY": ("¥", 0)}


def _strings() -> dict:
    return {
        "available": _("Available"),
        "held": _("Held by another buyer"),
        "sold": _("Sold"),
        "closed": _("Not on sale"),
        "selected": _("Selected by you"),
        "accessible": _("Wheelchair accessible"),
        "restricted": _("Restricted view"),
        "soldOut": _("Sold out"),
        "fewLeft": _("Few left"),
        "manyLeft": _("Many left"),
        "left": _("%(n)s left"),
        "seat": _("%(section)s · row %(row)s · seat %(seat)s"),
        "sectionLabel": _("Section %(section)s, %(zone)s, %(state)s"),
        "limit": _("You can choose at most %(n)s seats per order."),
        "taken": _("Someone else just took %(seats)s; it was removed from your choice."),
        "selectedOne": _("1 seat selected"),
        "selectedCount": _("%(n)s seats selected"),
        "hold": _("Hold these seats"),
        "holdPlaces": _("Hold these places"),
        "holding": _("Holding…"),
        "proposal": _("Proposed: %(seats)s · %(total)s"),
        "alternative": _("Take %(seats)s · %(total)s"),
        "noAlternative": _("No block of that size is left nearby; choose other seats."),
        "error": _("Something went wrong. Please try again."),
        "standingCount": _("%(section)s · %(n)s places"),
        "standingTitle": _("%(section)s · standing, %(price)s each"),
        "heatLow": _("Quiet"),
        "heatHigh": _("In demand"),
        "remove": _("Remove %(seat)s"),
        "reasonEmpty": _("Choose seats on the map or ask for the best seats first."),
        "reasonClosed": _("This session is not on sale right now."),
        "reasonHolding": _("Holding your seats…"),
        "checking": _("Checking your browser…"),
        "proposalHint": _(
            "These seats are now your choice: hold them below, or tap seats to change."
        ),
        "tipPrice": _("%(zone)s · %(price)s"),
        "towards": _("%(place)s this way"),
        "focal": _("Stage"),
    }


def _urls(session_id: int) -> dict:
    """The seat map's endpoints (``storefront.api``); ``{id}`` stands for a section id."""

    def url(name: str, **kwargs) -> str:
        return reverse(f"api:seatmap_{name}", kwargs={"session_id": session_id, **kwargs})

    # a section id the URL can carry, replaced by the placeholder the script fills in
    section = {"section_id": 1}
    return {
        "availability": url("availability"),
        "seats": url("seats", **section).replace("/sections/1/", "/sections/{id}/"),
        "view": url("view", **section).replace("/sections/1/", "/sections/{id}/"),
        "heat": url("heat"),
        "propose": url("propose"),
        "hold": url("hold"),
    }


def seatmap_config(request, session, data, *, is_on_sale: bool = True) -> dict:
    zones = list(session.price_zones.all())
    currency = zones[0].currency if zones else "CNY"
    symbol, exponent = _CURRENCY.get(currency, ("", 2))
    sections = {}
    for row in data.sections:
        primary = data.zones_by_section.get(row["id"])
        sections[row["code"]] = {
            "id": row["id"],
            "code": row["code"],
            "name": row["name_en"] if (is_english() and row["name_en"]) else row["name"],
            "kind": row["kind"],
            "zone": primary.primary.pk if primary and primary.primary else None,
        }
    focal_label = _("Stage")
    layout = session.layout
    return {
        "sessionId": session.pk,
        "maxSeats": session.max_tickets_per_order,
        "csrf": get_token(request),
        "urls": _urls(session.pk),
        "currency": {"symbol": symbol, "code": currency, "exponent": exponent},
        "zones": {
            str(z.pk): {
                "id": z.pk,
                "code": z.code,
                "name": localized(z, "name"),
                "color": safe_color(z.color),
                "price": format_money(z.price, z.currency),
                "minor": int((z.price * Decimal(10**exponent)).to_integral_value()),
            }
            for z in zones
        },
        "sections": sections,
        "pollSeconds": 5,
        "onSale": is_on_sale,
        "focal": {"x": layout.focal_x, "y": layout.focal_y, "label": focal_label},
        "strings": _strings(),
    }


@register.inclusion_tag("storefront/_seatmap.html", takes_context=True)
def seatmap(context, session):
    # the overview, the config and the legend each read the zones: one query for all three
    prefetch_related_objects([session], "price_zones")
    data = list_session_overviews([session])[session.pk]
    overview = build_overview(data)
    config = seatmap_config(
        context["request"], session, data, is_on_sale=context.get("is_on_sale", True)
    )
    if overview.focal_label:
        config["focal"]["label"] = overview.focal_label
    if context.get("seatmap_next"):
        # another flow picks places on this map (an exchange): after the hold, go there
        # ("{hold}" becomes the hold's id), for exactly ``seatmap_max`` places
        config["next"] = context["seatmap_next"]
        config["maxSeats"] = context.get("seatmap_max", config["maxSeats"])
    return {
        "ov": overview,
        "config": config,
        "session": session,
        "venue_name": session.layout.venue.display_name,
        "zones": list(session.price_zones.all()),
    }
