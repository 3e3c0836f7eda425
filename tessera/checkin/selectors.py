"""Reads of the check-in app: what a gate device downloads and what the dashboard shows."""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncMinute

from tessera.catalog.models import Session
from tessera.checkin.models import CheckinList, Direction, Gate, Presence, Scan
from tessera.checkin.services import (
    pass_keys_for_session,
    place_text,
    rotation_secret,
    settings_for,
)
from tessera.core.i18n import localized
from tessera.identities.models import LineIdentity
from tessera.tickets.models import Ticket, TicketStatus
from tessera.tickets.selectors import list_signing_keys, revocation_list


def _b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def device_bundle(*, session: Session, include_names: bool, now: datetime) -> dict:
    """Everything a scanner needs to judge this session's codes offline: public keys,
    revocations, gates and lists, the place of every ticket (for gate lists), who is inside,
    the rotation key when rotating codes are on and, if asked, holder names."""
    settings = settings_for(session)
    gates = [
        {
            "id": g.pk,
            "name": localized(g, "name"),
            "allows_entry": g.allows_entry,
            "allows_exit": g.allows_exit,
        }
        for g in Gate.objects.filter(session=session)
    ]
    lists = []
    for checkin_list in CheckinList.objects.filter(session=session).prefetch_related(
        "gates", "sections", "zones"
    ):
        lists.append(
            {
                "gates": [g.pk for g in checkin_list.gates.all()],
                "sections": [s.pk for s in checkin_list.sections.all()],
                "zones": [z.pk for z in checkin_list.zones.all()],
            }
        )
    tickets = []
    places = []
    rows = Ticket.objects.filter(session=session, status=TicketStatus.VALID).values_list(
        "pk",
        "unit_id",
        "unit__section_id",
        "unit__zone_id",
        "holder_name",
        "order_line__section_name",
        "order_line__row_label",
        "order_line__seat_label",
    )
    for ticket_id, unit_id, section_id, zone_id, holder, section, row_label, seat in rows.order_by(
        "pk"
    ):
        row = [ticket_id, unit_id, section_id, zone_id]
        if include_names:
            row.append(holder)
        tickets.append(row)
        places.append([ticket_id, place_text(section=section, row=row_label, seat=seat)])
    # Real-name sessions: who each ticket names and the masked document, with the names.
    identities = []
    if session.real_name_required and include_names:
        identities = [
            list(row)
            for row in LineIdentity.objects.filter(
                line__ticket__session=session, line__ticket__status=TicketStatus.VALID
            )
            .values_list("line__ticket__id", "name", "doc_type", "masked")
            .order_by("line__ticket__id")
        ]
    presence = list(
        Presence.objects.filter(session=session, entries__gt=0)
        .values_list("ticket_id", "is_inside", "entries")
        .order_by("ticket_id")
    )
    # When and where each ticket inside went in, so an offline "already entered" can say so.
    last_entries = {}
    for ticket_id, scanned_at, gate_id in (
        Scan.objects.filter(session=session, direction=Direction.ENTRY, is_accepted=True)
        .values_list("ticket_id", "scanned_at", "gate_id")
        .order_by("scanned_at", "pk")
    ):
        last_entries[ticket_id] = (scanned_at.isoformat(), gate_id)
    rotation = rotation_secret(session) if settings.uses_rotating_codes else None
    return {
        "session_id": session.pk,
        "event_name": session.event.display_name,
        "starts_at": session.starts_at.isoformat(),
        "as_of": now.isoformat(),
        "settings": {
            "entry_opens_at": settings.entry_opens_at.isoformat()
            if settings.entry_opens_at
            else None,
            "entry_closes_at": settings.entry_closes_at.isoformat()
            if settings.entry_closes_at
            else None,
            "is_reentry_allowed": settings.is_reentry_allowed,
            "uses_rotating_codes": settings.uses_rotating_codes,
            "rotating_step_seconds": settings.rotating_step_seconds,
            "is_static_credential_allowed": settings.is_static_credential_allowed,
        },
        "keys": [
            {"kid": k.kid, "public_key": _b64(k.public_key)} for k in list_signing_keys(session)
        ],
        # Keys of the passes covering this session (docs/ticket-credential.md, ``TP1``).
        "pass_keys": [
            {"kid": kid, "public_key": _b64(raw)}
            for kid, raw in sorted(pass_keys_for_session(session).items())
        ],
        "revocations": sorted([t, v] for t, v in revocation_list(session)),
        "rotation_key": _b64(rotation) if rotation else None,
        "gates": gates,
        "lists": lists,
        "tickets": tickets,
        "presence": [
            [t, inside, entries, *last_entries.get(t, (None, None))]
            for t, inside, entries in presence
        ],
        "places": places,
        "real_name": session.real_name_required,
        "identities": identities,
    }


def list_device_sessions(device, *, now: datetime) -> list[Session]:
    """Sessions of the device's organization that are not over (ended at most a day ago)."""
    return list(
        Session.objects.filter(
            event__organization_id=device.organization_id,
            starts_at__gte=now - timedelta(days=1),
        )
        .select_related("event")
        .order_by("starts_at")[:50]
    )


BUCKET_MINUTES = 5


def dashboard_data(*, session: Session, now: datetime) -> dict:
    """Counted entries per gate in 5-minute buckets (UTC), people inside, flagged scans."""
    gates = {g.pk: localized(g, "name") for g in Gate.objects.filter(session=session)}
    per_minute = (
        Scan.objects.filter(session=session, counted=True, direction=Direction.ENTRY)
        .annotate(minute=TruncMinute("scanned_at"))
        .values_list("gate_id", "minute")
        .annotate(n=Count("id"))
    )
    buckets: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for gate_id, minute, n in per_minute:
        start = minute - timedelta(minutes=minute.minute % BUCKET_MINUTES)
        buckets[gate_id][start.isoformat()] += n
    inside = Presence.objects.filter(session=session, is_inside=True).count()
    entered = Presence.objects.filter(session=session, entries__gt=0).count()
    flagged = [
        {
            "uuid": str(s.uuid),
            "ticket_id": s.ticket_id,
            "flag": s.flag,
            "gate": gates.get(s.gate_id, ""),
            "device": s.device.name if s.device else "",
            "scanned_at": s.scanned_at.isoformat(),
        }
        for s in Scan.objects.filter(session=session)
        .exclude(flag="")
        .select_related("device")
        .order_by("-scanned_at")[:100]
    ]
    flagged_count = Scan.objects.filter(session=session).exclude(flag="").count()
    return {
        "session_id": session.pk,
        "as_of": now.isoformat(),
        "inside": inside,
        "entered": entered,
        "tickets": Ticket.objects.filter(session=session, status=TicketStatus.VALID).count(),
        "flagged_count": flagged_count,
        "gates": [
            {
                "id": gate_id,
                "name": gates.get(gate_id, "—"),
                "total": sum(series.values()),
                "series": sorted(series.items()),
            }
            for gate_id, series in sorted(buckets.items(), key=lambda kv: kv[0] or 0)
        ]
        + [
            {"id": gate_id, "name": name, "total": 0, "series": []}
            for gate_id, name in gates.items()
            if gate_id not in buckets
        ],
        "flagged": flagged,
    }
