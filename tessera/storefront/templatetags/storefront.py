"""Template helpers of the fan-facing pages: money, times in the venue's zone, sale state."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django import template
from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from tessera.catalog.models import SessionStatus
from tessera.core.dates import format_local
from tessera.core.money import default_currency, format_money

register = template.Library()


@register.filter
def money(amount, currency: str = "") -> str:
    """``¥1,280.00``; empty for a missing amount."""
    if amount is None or amount == "":
        return ""
    return format_money(Decimal(amount), currency or default_currency())


@register.filter
def money_short(amount, currency: str = "") -> str:
    """``¥280`` for whole amounts, ``¥280.50`` otherwise: for "from ¥280" on cards."""
    if amount is None or amount == "":
        return ""
    text = format_money(Decimal(amount), currency or default_currency())
    return text[:-3] if text.endswith(".00") else text


@register.filter
def venue_time(session) -> datetime:
    """When ``session`` starts, in its venue's time zone."""
    return session.starts_at.astimezone(session.layout.venue.zone_info)


@register.filter
def fmt(value, format_name: str) -> str:
    """Format a date or an aware datetime *in its own zone* (``core.dates``: ``card``,
    ``day``, ``date``, ``long``, ``month``, ``moment``, a Django format setting such as
    ``DATE_FORMAT`` or a format string such as ``H:i``)."""
    return format_local(value, format_name)


@register.filter
def utc_offset(value: datetime) -> str:
    """``UTC+08:00`` for an aware datetime."""
    offset = value.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@register.filter
def placeholder_style(obj) -> str:
    """A gradient for an event without a picture, stable per slug."""
    digest = hashlib.sha256(str(getattr(obj, "slug", obj)).encode()).digest()
    hue = digest[0] * 360 // 256
    hue2 = (hue + 40 + digest[1] % 60) % 360
    return f"background-image: linear-gradient(135deg, hsl({hue} 70% 42%), hsl({hue2} 75% 58%));"


@register.simple_tag
def html_lang() -> str:
    """The BCP 47 tag of the active language (``zh-Hans``, ``en``) for ``<html lang>``."""
    code = (get_language() or "zh-hans").lower()
    if code.startswith("zh"):
        return "zh-Hans"
    return code


@dataclass(frozen=True)
class SaleState:
    code: str  # on_sale | not_yet | ended | postponed
    label: str
    opens_at: datetime | None = None


@register.simple_tag
def sale_state(session, now: datetime) -> SaleState:
    """Whether a fan can buy now: on sale, on sale from a date, sales ended, postponed."""
    if session.status == SessionStatus.POSTPONED:
        return SaleState("postponed", _("Postponed"))
    if session.starts_at <= now or (session.on_sale_until and now >= session.on_sale_until):
        return SaleState("ended", _("Sales ended"))
    if session.on_sale_from and now < session.on_sale_from:
        opens = session.on_sale_from.astimezone(session.layout.venue.zone_info)
        when = dateformat.format(opens, get_format("DATE_FORMAT") + " H:i")
        return SaleState("not_yet", _("On sale from %(when)s") % {"when": when}, opens)
    return SaleState("on_sale", _("On sale"))


@register.filter
def localized_field(obj, name: str) -> str:
    from tessera.core.i18n import localized

    return localized(obj, name)


@register.filter
def safe_color(value) -> str:
    """A #rgb / #rrggbb colour, or a neutral grey for anything else (keeps styles inert)."""
    from tessera.storefront.overview import safe_color as _safe_color

    return _safe_color(value)


@register.filter
def coordinates(venue) -> str:
    """``31.230416° N, 121.473701° E``."""
    lat, lon = venue.latitude, venue.longitude
    if lat is None or lon is None:
        return ""
    ns = pgettext("compass", "N") if lat >= 0 else pgettext("compass", "S")
    ew = pgettext("compass", "E") if lon >= 0 else pgettext("compass", "W")
    return f"{abs(lat)}° {ns}, {abs(lon)}° {ew}"


@register.filter
def week_is_quiet(week) -> bool:
    """No day of this calendar week (its days of the month) has a session: on a phone, where
    only days with sessions are listed, the whole week is left out."""
    return not any(day.sessions and day.in_month for day in week)
