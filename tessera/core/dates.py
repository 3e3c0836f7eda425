"""Dates and times as people read them, one table for every page and message, per language.

A value is formatted *in its own zone* (pass it converted to the venue's zone): Django's
``date`` filter would convert it to the current zone first. English reads "Tue, Dec 25" and
"Tue, Dec 25, 2040, 19:30" everywhere; Chinese "12月25日 周二" and "2040年12月25日 19:30".
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.translation import get_language

FORMATS = {
    "card": {"zh": "n月j日 D", "en": "D, M j"},
    "day": {"zh": "n月j日", "en": "M j"},
    "date": {"zh": "Y年n月j日", "en": "M j, Y"},
    "long": {"zh": "Y年n月j日 l", "en": "l, F j, Y"},
    "month": {"zh": "Y年n月", "en": "F Y"},
    "moment": {"zh": "Y年n月j日 H:i", "en": "D, M j, Y, H:i"},
}


def _language() -> str:
    return "en" if (get_language() or "").lower().startswith("en") else "zh"


def format_local(value: date | datetime | None, format_name: str) -> str:
    """``value`` in one of ``FORMATS``, a Django format setting (``DATE_FORMAT``) or a
    format string (``H:i``), in the active language."""
    if not value:
        return ""
    if format_name in FORMATS:
        pattern = FORMATS[format_name][_language()]
    elif format_name.isupper():
        pattern = get_format(format_name)
    else:
        pattern = format_name
    return dateformat.format(value, pattern)


def local_moment(moment: datetime, zone: ZoneInfo | None = None) -> str:
    """An aware ``moment`` in ``zone`` (the current zone when None), date and time."""
    local = moment.astimezone(zone) if zone is not None else timezone.localtime(moment)
    return format_local(local, "moment")
