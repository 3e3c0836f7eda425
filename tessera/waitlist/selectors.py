"""Reads of the waiting list shared by the pages, the API and the back office."""

from __future__ import annotations

from django.db.models import Count, Q

from tessera.catalog.models import EventStatus, Session
from tessera.waitlist.errors import SessionNotFound
from tessera.waitlist.models import (
    LIVE_STATUSES,
    EntryStatus,
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
)


def get_public_session(session_id) -> Session:
    """A published session by id; SessionNotFound otherwise (a foreign or unknown id)."""
    try:
        session_id = int(session_id)
    except (TypeError, ValueError):
        raise SessionNotFound() from None
    session = (
        Session.objects.filter(pk=session_id, event__status=EventStatus.PUBLISHED)
        .select_related("event", "layout__venue__city")
        .first()
    )
    if session is None:
        raise SessionNotFound()
    return session


def get_live_entry(*, session_id: int, user) -> WaitlistEntry | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        WaitlistEntry.objects.filter(session_id=session_id, user=user, status__in=LIVE_STATUSES)
        .select_related("zone")
        .first()
    )


def position_of(entry: WaitlistEntry) -> int | None:
    """1 for the first waiting fan; None once an offer is made or the entry closed."""
    if entry.status != EntryStatus.WAITING:
        return None
    ahead = WaitlistEntry.objects.filter(
        session_id=entry.session_id, status=EntryStatus.WAITING, id__lt=entry.pk
    ).count()
    return ahead + 1


def open_offer_of(entry: WaitlistEntry) -> WaitlistOffer | None:
    return (
        WaitlistOffer.objects.filter(entry=entry, status=OfferStatus.OPEN)
        .select_related("hold", "zone")
        .first()
    )


def zone_summary(session_ids) -> list[dict]:
    """Per session and zone ("any zone" apart): fans waiting, places wanted, offers made,
    bought, expired (organizer's view)."""
    waiting = {
        (r["session_id"], r["zone_id"]): r
        for r in WaitlistEntry.objects.filter(session_id__in=session_ids)
        .values("session_id", "zone_id")
        .annotate(
            fans=Count("id", filter=Q(status=EntryStatus.WAITING)),
            offered_now=Count("id", filter=Q(status=EntryStatus.OFFERED)),
        )
    }
    offers = {
        (r["session_id"], r["zone_id"]): r
        for r in WaitlistOffer.objects.filter(session_id__in=session_ids)
        .values("session_id", "zone_id")
        .annotate(
            made=Count("id"),
            converted=Count("id", filter=Q(status=OfferStatus.CONVERTED)),
            expired=Count("id", filter=Q(status=OfferStatus.EXPIRED)),
            declined=Count("id", filter=Q(status=OfferStatus.DECLINED)),
        )
    }
    rows = []
    for key in sorted(set(waiting) | set(offers), key=lambda k: (k[0], k[1] or 0)):
        w, o = waiting.get(key, {}), offers.get(key, {})
        rows.append(
            {
                "session_id": key[0],
                "zone_id": key[1],
                "waiting": w.get("fans", 0),
                "offered_now": w.get("offered_now", 0),
                "offers_made": o.get("made", 0),
                "converted": o.get("converted", 0),
                "expired": o.get("expired", 0),
                "declined": o.get("declined", 0),
            }
        )
    return rows
