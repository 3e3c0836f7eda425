"""A session as an iCalendar file (RFC 5545) a fan adds to their calendar.

One VEVENT per file: UID stable per session (re-importing updates the entry instead of
duplicating it), DTSTAMP/DTSTART/DTEND in UTC, SUMMARY and LOCATION in the fan's language.
Text values are escaped (``\\``, ``;``, ``,``, newlines) and content lines folded at 75 octets
without splitting a UTF-8 character; lines end with CRLF.
"""

from datetime import UTC, datetime, timedelta

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from tessera.catalog.models import EventStatus, Session
from tessera.core import clock
from tessera.core.i18n import localized

# A session without an end time lasts this long in the calendar.
DEFAULT_DURATION = timedelta(hours=3)
PRODID = "-//Tessera//Tessera tickets//EN"
_LINE_OCTETS = 75


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold one content line (RFC 5545 §3.1): at most 75 octets per physical line, each
    continuation starting with one space, never inside a UTF-8 character."""
    parts: list[str] = []
    current, size, limit = [], 0, _LINE_OCTETS
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, _LINE_OCTETS - 1  # the leading space counts
        current.append(char)
        size += octets
    parts.append("".join(current))
    return "\r\n ".join(parts)


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def session_calendar(*, session: Session, now: datetime, url: str = "") -> str:
    """The .ics text of ``session`` (with its event, layout and venue loaded)."""
    venue = session.layout.venue
    ends_at = session.ends_at or session.starts_at + DEFAULT_DURATION
    address = localized(venue, "address")
    location = f"{venue.display_name}, {address}" if address else venue.display_name
    properties = [
        ("UID", f"session-{session.pk}@tessera"),
        ("DTSTAMP", utc_stamp(now)),
        ("DTSTART", utc_stamp(session.starts_at)),
        ("DTEND", utc_stamp(ends_at)),
        ("SUMMARY", escape_text(session.event.display_name)),
        ("LOCATION", escape_text(location)),
    ]
    if url:
        properties.append(("URL", url))
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        *(fold(f"{name}:{value}") for name, value in properties),
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def session_ics(request, session_id: int):
    """Download one published session as ``<event-slug>-<session id>.ics``."""
    session = (
        Session.objects.filter(
            pk=session_id,
            event__status=EventStatus.PUBLISHED,
            event__organization__is_sandbox=False,
        )
        .select_related("event", "layout__venue")
        .first()
    )
    if session is None:
        raise Http404(_("No such session."))
    path = reverse("storefront:event", args=[session.event.slug])
    url = request.build_absolute_uri(f"{path}#session-{session.pk}")
    body = session_calendar(session=session, now=clock.now(), url=url)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{session.event.slug}-{session.pk}.ics"'
    )
    return response
