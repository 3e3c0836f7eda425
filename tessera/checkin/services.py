"""Check-in services: devices, the rules a gate applies to a scanned code, online scans and
the merge of offline scans.

The same rules run in the browser scanner (static/checkin/verify.js). The server is
authoritative: every scan it stores is replayed per ticket in ``scanned_at`` order under a
lock of the ticket's ``Presence`` row, so two devices that admitted one ticket while offline
produce one counted entry and one flagged scan, whatever order they sync in.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid as uuid_module
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.catalog.models import Session
from tessera.checkin.models import (
    CheckinList,
    CheckinSettings,
    Device,
    Direction,
    Gate,
    Presence,
    Scan,
)
from tessera.core import audit, locks
from tessera.core.errors import DomainError, InvalidInput, NotFound
from tessera.core.i18n import localized
from tessera.inventory.models import InventoryUnit
from tessera.tickets import credentials, pass_credentials
from tessera.tickets.models import KeyPurpose, SessionKey, Ticket, TicketStatus
from tessera.tickets.selectors import public_keys_for_session, revocation_list

VALID = "valid"
WRONG_SESSION = "wrong_session"
WRONG_GATE = "wrong_gate"
ALREADY_ENTERED = "already_entered"
REENTRY_NOT_ALLOWED = "reentry_not_allowed"
NOT_INSIDE = "not_inside"
ENTRY_CLOSED = "entry_closed"
STATIC_NOT_ALLOWED = "static_not_allowed"
CODE_EXPIRED = "code_expired"
UNKNOWN_TICKET = "unknown_ticket"
# The ten digits printed under a QR code, typed by hand: a number is no proof of a ticket.
TICKET_NUMBER = "ticket_number"
_TYPED_NUMBER = re.compile(r"[0-9][0-9 -]{3,18}[0-9]")
# Scanner results; credential reasons (malformed, forged, ...) come from credentials.py.
REASONS = (
    VALID,
    *credentials.REASONS,
    WRONG_SESSION,
    WRONG_GATE,
    ALREADY_ENTERED,
    REENTRY_NOT_ALLOWED,
    NOT_INSIDE,
    ENTRY_CLOSED,
    STATIC_NOT_ALLOWED,
    CODE_EXPIRED,
    UNKNOWN_TICKET,
    TICKET_NUMBER,
)
# Flags of offline scans the replay did not count.
FLAG_DUPLICATE = "duplicate_entry"
FLAG_REENTRY = "reentry_not_allowed"
FLAG_EXIT_WITHOUT_ENTRY = "exit_without_entry"

CLOCK_LEEWAY = timedelta(minutes=2)  # gate devices' clocks drift
MAX_SYNC_BATCH = 5000
TOKEN_BYTES = 15  # 24 Base32 characters


class DeviceNotRecognised(DomainError):
    code = "device_not_recognised"
    status = 401
    default_message = _("This device is not registered or was revoked.")


class SessionNotAllowed(DomainError):
    code = "session_not_allowed"
    status = 403
    default_message = _("This device may not scan for this session.")


class GateNotFound(DomainError):
    code = "gate_not_found"
    status = 404
    default_message = _("This gate does not belong to the session.")


# -- devices -----------------------------------------------------------------------------


def _normalise_token(token: str) -> str:
    return "".join(ch for ch in (token or "").upper() if ch.isalnum())


def hash_token(token: str) -> str:
    return hashlib.sha256(_normalise_token(token).encode("ascii", "ignore")).hexdigest()


def register_device(*, organization, name: str, now: datetime, actor=None) -> tuple[Device, str]:
    """A new device of ``organization`` and its token (returned once, stored hashed). The
    token is 24 Base32 characters in groups of four, easy to type as a pairing code."""
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise InvalidInput(_("Give the device a name of at most 60 characters."))
    raw = base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii")
    token = "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))
    with transaction.atomic():
        device = Device.objects.create(
            organization=organization,
            name=name,
            token_hash=hash_token(token),
            token_hint=raw[:4],
            created_at=now,
        )
        audit.record(
            action="checkin.device_registered",
            obj=device,
            actor=actor,
            now=now,
            organization_id=organization.pk,
            data={"name": name},
        )
    return device, token


def revoke_device(*, device: Device, now: datetime, actor=None) -> Device:
    """The device's token stops working at once. Revoking twice changes nothing."""
    with transaction.atomic():
        updated = Device.objects.filter(pk=device.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if updated:
            audit.record(
                action="checkin.device_revoked",
                obj=device,
                actor=actor,
                now=now,
                organization_id=device.organization_id,
            )
    device.refresh_from_db()
    return device


def authenticate_device(*, token: str, now: datetime) -> Device:
    """The active device with this token; raises DeviceNotRecognised."""
    if not token:
        raise DeviceNotRecognised()
    device = Device.objects.filter(token_hash=hash_token(token), revoked_at__isnull=True).first()
    if device is None:
        raise DeviceNotRecognised()
    if device.last_seen_at is None or now - device.last_seen_at > timedelta(minutes=1):
        Device.objects.filter(pk=device.pk).update(last_seen_at=now)
    return device


def session_for_device(*, device: Device, session_id: int) -> Session:
    try:
        session = Session.objects.select_related("event").get(pk=session_id)
    except Session.DoesNotExist:
        raise NotFound() from None
    if session.event.organization_id != device.organization_id:
        raise SessionNotAllowed()
    return session


# -- the rules ---------------------------------------------------------------------------


def settings_for(session: Session) -> CheckinSettings:
    found = CheckinSettings.objects.filter(session=session).first()
    return found or CheckinSettings(session=session)


def rotation_secret(session: Session) -> bytes | None:
    key = (
        SessionKey.objects.filter(
            session=session, purpose=KeyPurpose.ROTATION, retired_at__isnull=True
        )
        .order_by("-kid")
        .first()
    )
    return bytes(key.secret) if key else None


@dataclass
class Rules:
    """Everything needed to judge a scanned code of one session without the database
    (what a device downloads, in Python form)."""

    session_id: int
    settings: CheckinSettings
    public_keys: dict[int, Ed25519PublicKey]
    is_revoked: credentials.RevocationCheck
    rotation_key: bytes | None
    # gate id -> list of (section ids, zone ids); a gate missing here admits everyone
    gate_lists: dict[int, list[tuple[set[int], set[int]]]]
    has_lists: bool
    places: dict[int, tuple[int, int]] = field(default_factory=dict)  # unit -> (section, zone)
    places_complete: bool = False
    # Pass keys trusted at this session (``settings.CHECKIN_TRUSTED_ISSUERS``): kid -> public key.
    pass_keys: dict[int, Ed25519PublicKey] = field(default_factory=dict)
    _ticket_keys: dict[int, bytes] = field(default_factory=dict)

    def place(self, unit_id: int) -> tuple[int, int] | None:
        """(section id, zone id) of a place of this session, None for an unknown one."""
        if unit_id not in self.places and not self.places_complete:
            row = (
                InventoryUnit.objects.filter(pk=unit_id, session_id=self.session_id)
                .values_list("section_id", "zone_id")
                .first()
            )
            if row is None:
                return None
            self.places[unit_id] = row
        return self.places.get(unit_id)

    def ticket_key(self, ticket_id: int) -> bytes:
        key = self._ticket_keys.get(ticket_id)
        if key is None:
            key = credentials.derive_ticket_key(self.rotation_key, ticket_id)
            self._ticket_keys[ticket_id] = key
        return key


def load_rules(session: Session, *, all_places: bool = True) -> Rules:
    """The session's rules; ``all_places`` loads the place of every ticket at once (for a
    batch), otherwise places are read one by one when a gate list needs them."""
    gate_lists: dict[int, list[tuple[set[int], set[int]]]] = defaultdict(list)
    lists = list(CheckinList.objects.filter(session=session).prefetch_related("gates"))
    sections = defaultdict(set)
    zones = defaultdict(set)
    for list_id, section_id in CheckinList.sections.through.objects.filter(
        checkinlist__session=session
    ).values_list("checkinlist_id", "section_id"):
        sections[list_id].add(section_id)
    for list_id, zone_id in CheckinList.zones.through.objects.filter(
        checkinlist__session=session
    ).values_list("checkinlist_id", "pricezone_id"):
        zones[list_id].add(zone_id)
    for checkin_list in lists:
        for gate in checkin_list.gates.all():
            gate_lists[gate.pk].append((sections[checkin_list.pk], zones[checkin_list.pk]))
    places = {}
    if lists and all_places:
        places = {
            unit_id: (section_id, zone_id)
            for unit_id, section_id, zone_id in Ticket.objects.filter(session=session).values_list(
                "unit_id", "unit__section_id", "unit__zone_id"
            )
        }
    return Rules(
        session_id=session.pk,
        settings=settings_for(session),
        public_keys={
            kid: Ed25519PublicKey.from_public_bytes(raw)
            for kid, raw in public_keys_for_session(session).items()
        },
        is_revoked=credentials.revocation_checker(revocation_list(session)),
        rotation_key=rotation_secret(session),
        gate_lists=dict(gate_lists),
        has_lists=bool(lists),
        places=places,
        places_complete=bool(lists) and all_places,
        pass_keys={
            kid: Ed25519PublicKey.from_public_bytes(raw)
            for kid, raw in pass_keys_for_session(session).items()
        },
    )


def pass_keys_for_session(session: Session) -> dict[int, bytes]:
    """The public keys of the passes covering ``session`` (raw 32 bytes by pass key id),
    from ``settings.CHECKIN_TRUSTED_ISSUERS`` (the passes app sits above check-in)."""
    path = getattr(django_settings, "CHECKIN_TRUSTED_ISSUERS", "")
    return import_string(path)(session) if path else {}


@dataclass(frozen=True)
class Verdict:
    reason: str
    payload: credentials.Payload | None = None

    @property
    def ok(self) -> bool:
        return self.reason == VALID


def judge_code(
    text: str, *, rules: Rules, gate_id: int | None, direction: str, now: datetime
) -> Verdict:
    """The verdict on a scanned code, attendance aside (that needs the ticket's scans):
    credential checks in the order of docs/ticket-credential.md, then session, rotating code
    or static code allowed, entry window and gate lists."""
    text = (text or "").strip()
    if _TYPED_NUMBER.fullmatch(text):
        return Verdict(TICKET_NUMBER)
    rotating = credentials.split_rotating_text(text)
    code = None
    if rotating is not None:
        text, code = rotating
    try:
        if text.startswith(pass_credentials.PREFIX):
            # A pass: its entry for this session, judged from here on as that ticket.
            payload = pass_credentials.verify_for_session(
                text,
                session_id=rules.session_id,
                pass_keys=rules.pass_keys,
                is_revoked=rules.is_revoked,
                now=now,
                leeway=CLOCK_LEEWAY,
            )
        else:
            payload = credentials.verify(
                text,
                public_keys=rules.public_keys,
                is_revoked=rules.is_revoked,
                now=now,
                leeway=CLOCK_LEEWAY,
            )
    except credentials.CredentialError as exc:
        return Verdict(exc.reason)
    except pass_credentials.NotForSession:
        return Verdict(WRONG_SESSION)
    if payload.session_id != rules.session_id:
        return Verdict(WRONG_SESSION, payload)
    settings = rules.settings
    if code is not None:
        if rules.rotation_key is None or not credentials.check_rotating_code(
            rules.ticket_key(payload.ticket_id), code, now, settings.rotating_step_seconds, 1
        ):
            return Verdict(CODE_EXPIRED, payload)
    elif settings.uses_rotating_codes and not settings.is_static_credential_allowed:
        return Verdict(STATIC_NOT_ALLOWED, payload)
    if direction == Direction.ENTRY:
        if settings.entry_opens_at and now < settings.entry_opens_at:
            return Verdict(ENTRY_CLOSED, payload)
        if settings.entry_closes_at and now >= settings.entry_closes_at:
            return Verdict(ENTRY_CLOSED, payload)
        if rules.has_lists and gate_id is not None:
            place = rules.place(payload.unit_id)
            if not any(
                (not sections and not zones)
                or (place and (place[0] in sections or place[1] in zones))
                for sections, zones in rules.gate_lists.get(gate_id, [])
            ):
                return Verdict(WRONG_GATE, payload)
    return Verdict(VALID, payload)


# -- attendance --------------------------------------------------------------------------


def lock_attendance(*, session_id: int, ticket_ids: list[int]) -> dict[int, Presence]:
    """Lock the attendance rows of these tickets (created when missing), in ticket order,
    inside the caller's transaction. After-sales takes them before it revokes a ticket, so
    a scan and a refund of the same ticket never both succeed."""
    locks.require_transaction()
    return _lock_presences(session_id, ticket_ids)


def _lock_presences(session_id: int, ticket_ids: list[int]) -> dict[int, Presence]:
    ticket_ids = sorted(set(ticket_ids))
    Presence.objects.bulk_create(
        [Presence(session_id=session_id, ticket_id=t) for t in ticket_ids],
        ignore_conflicts=True,
        batch_size=1000,
    )
    locked: dict[int, Presence] = {}
    for i in range(0, len(ticket_ids), 1000):
        chunk = ticket_ids[i : i + 1000]
        for presence in (
            Presence.objects.select_for_update().filter(ticket_id__in=chunk).order_by("ticket_id")
        ):
            locked[presence.ticket_id] = presence
    return locked


def _replay(
    session_id: int,
    ticket_ids: list[int],
    presences: dict[int, Presence],
    reentry: bool,
    new_rows: list[Scan] = (),
) -> list[Scan]:
    """Recompute ``counted`` and ``flag`` of every accepted scan of these tickets and their
    presence, in ``scanned_at`` order (ties: stored scans first, by id). ``new_rows`` are
    accepted scans about to be inserted: their fields are set here, in memory. Caller holds
    the presence locks. Returns the stored scans that changed (they are saved here)."""
    scans_by_ticket: dict[int, list[Scan]] = defaultdict(list)
    ids = sorted(set(ticket_ids))
    for i in range(0, len(ids), 1000):
        for scan in (
            Scan.objects.filter(ticket_id__in=ids[i : i + 1000], is_accepted=True)
            .only("id", "uuid", "ticket_id", "direction", "scanned_at", "counted", "flag")
            .order_by("ticket_id", "scanned_at", "id")
        ):
            scans_by_ticket[scan.ticket_id].append(scan)
    if new_rows:
        for row in new_rows:
            scans_by_ticket[row.ticket_id].append(row)
        for scans in scans_by_ticket.values():
            scans.sort(key=lambda scan: (scan.scanned_at, scan.pk is None, scan.pk or 0))
    changed_scans: list[Scan] = []
    changed_presences: list[Presence] = []
    for ticket_id in ids:
        inside, entries, first_entry_at = False, 0, None
        for scan in scans_by_ticket.get(ticket_id, []):
            counted, flag = False, ""
            if scan.direction == Direction.ENTRY:
                if inside:
                    flag = FLAG_DUPLICATE
                elif entries and not reentry:
                    flag = FLAG_REENTRY
                else:
                    counted, inside, entries = True, True, entries + 1
                    first_entry_at = first_entry_at or scan.scanned_at
            elif inside:
                counted, inside = True, False
            else:
                flag = FLAG_EXIT_WITHOUT_ENTRY
            if (scan.counted, scan.flag) != (counted, flag):
                scan.counted, scan.flag = counted, flag
                if scan.pk is not None:
                    changed_scans.append(scan)
        presence = presences[ticket_id]
        if (presence.is_inside, presence.entries, presence.first_entry_at) != (
            inside,
            entries,
            first_entry_at,
        ):
            presence.is_inside, presence.entries = inside, entries
            presence.first_entry_at = first_entry_at
            changed_presences.append(presence)
    if changed_scans:
        Scan.objects.bulk_update(changed_scans, ["counted", "flag"], batch_size=1000)
    if changed_presences:
        _save_presences(changed_presences)
    return changed_scans


def _save_presences(presences: list[Presence]) -> None:
    """One UPDATE ... FROM (VALUES ...) per 1,000 rows on PostgreSQL (Django's bulk_update
    builds a CASE per field, which PostgreSQL plans slowly for thousands of rows)."""
    if connection.vendor != "postgresql":
        Presence.objects.bulk_update(
            presences, ["is_inside", "entries", "first_entry_at"], batch_size=1000
        )
        return
    table = Presence._meta.db_table
    with connection.cursor() as cursor:
        for i in range(0, len(presences), 1000):
            chunk = presences[i : i + 1000]
            values = ", ".join(
                ["(%s::bigint, %s::boolean, %s::integer, %s::timestamptz)"] * len(chunk)
            )
            params = [x for p in chunk for x in (p.pk, p.is_inside, p.entries, p.first_entry_at)]
            cursor.execute(
                # Only placeholders and the model's own table name are interpolated.
                f"UPDATE {table} AS p SET is_inside = v.is_inside, entries = v.entries, "  # noqa: S608
                f"first_entry_at = v.first_entry_at FROM (VALUES {values}) "
                "AS v(id, is_inside, entries, first_entry_at) WHERE p.id = v.id",
                params,
            )


def _gate_of(session: Session, gate_id: int | None) -> Gate | None:
    if gate_id is None:
        return None
    gate = Gate.objects.filter(pk=gate_id, session=session).first()
    if gate is None:
        raise GateNotFound()
    return gate


def _direction(value: str) -> str:
    if value not in Direction.values:
        raise InvalidInput(_("The direction must be entry or exit."))
    return value


@dataclass(frozen=True)
class ScanResult:
    scan: Scan
    reason: str
    ticket_id: int | None
    holder_name: str = ""
    place: str = ""  # where the ticket sits, for the gate staff
    entered_at: datetime | None = None  # for ALREADY_ENTERED: when and where it went in
    entered_gate: str = ""


def place_text(*, section: str, row: str, seat: str) -> str:
    """A place as gate staff read it: "1区, row A, seat 3" (standing: "GA · standing")."""
    if seat:
        return gettext("%(s)s, row %(r)s, seat %(n)s") % {"s": section, "r": row, "n": seat}
    return f"{section} · {gettext('standing')}"


def _place_of(ticket_id: int | None) -> str:
    if ticket_id is None:
        return ""
    row = (
        Ticket.objects.filter(pk=ticket_id)
        .values_list("order_line__section_name", "order_line__row_label", "order_line__seat_label")
        .first()
    )
    return place_text(section=row[0], row=row[1], seat=row[2]) if row else ""


def _last_entry(session: Session, ticket_id: int) -> tuple[datetime | None, str]:
    """When and at which gate the ticket last went in (a counted entry)."""
    scan = (
        Scan.objects.filter(
            session=session, ticket_id=ticket_id, direction=Direction.ENTRY, is_accepted=True
        )
        .select_related("gate")
        .order_by("-scanned_at", "-pk")
        .first()
    )
    if scan is None:
        return None, ""
    return scan.scanned_at, localized(scan.gate, "name") if scan.gate else ""


def scan_online(
    *,
    device: Device,
    session: Session,
    gate_id: int | None,
    direction: str,
    text: str,
    scan_uuid: uuid_module.UUID,
    now: datetime,
    rules: Rules | None = None,
) -> ScanResult:
    """Judge a code with the server's current keys, revocations and attendance, store the
    scan and update attendance. Idempotent per ``scan_uuid`` (a retried request returns the
    first answer)."""
    direction = _direction(direction)
    gate = _gate_of(session, gate_id)
    existing = Scan.objects.filter(uuid=scan_uuid).first()
    if existing is not None:
        return _earlier_result(existing)
    rules = rules or load_rules(session, all_places=False)
    verdict = judge_code(text, rules=rules, gate_id=gate_id, direction=direction, now=now)
    payload = verdict.payload
    try:
        scan, reason = _store_online_scan(
            device, session, gate, direction, scan_uuid, now, rules, verdict
        )
    except IntegrityError:
        # A concurrent retry of the same request stored it first: answer as it did.
        existing = Scan.objects.filter(uuid=scan_uuid).first()
        if existing is None:
            raise
        return _earlier_result(existing)
    return _described(session, ScanResult(scan, reason, payload.ticket_id if payload else None))


def _described(session: Session, result: ScanResult) -> ScanResult:
    """The result with the holder, the place and, for a ticket already inside, its entry."""
    if result.ticket_id is None:
        return result
    entered_at, entered_gate = None, ""
    if result.reason == ALREADY_ENTERED:
        entered_at, entered_gate = _last_entry(session, result.ticket_id)
    return ScanResult(
        result.scan,
        result.reason,
        result.ticket_id,
        _holder_name(result.ticket_id),
        _place_of(result.ticket_id),
        entered_at,
        entered_gate,
    )


def _holder_name(ticket_id: int | None) -> str:
    if ticket_id is None:
        return ""
    return Ticket.objects.filter(pk=ticket_id).values_list("holder_name", flat=True).first() or ""


def _earlier_result(scan: Scan) -> ScanResult:
    return _described(scan.session, ScanResult(scan, scan.reason, scan.ticket_id))


def _store_online_scan(
    device: Device,
    session: Session,
    gate: Gate | None,
    direction: str,
    scan_uuid: uuid_module.UUID,
    now: datetime,
    rules: Rules,
    verdict: Verdict,
) -> tuple[Scan, str]:
    """The scan stored with attendance applied, under the ticket's presence lock."""
    payload = verdict.payload
    with transaction.atomic():
        reason = verdict.reason
        if payload is not None and reason == VALID:
            presences = _lock_presences(session.pk, [payload.ticket_id])
            presence = presences[payload.ticket_id]
            # The rules may be a moment old: a refund or transfer that revoked this version
            # committed before the presence lock was ours is seen now (a refund takes the
            # same lock before it revokes, so one of the two always sees the other).
            if not Ticket.objects.filter(
                pk=payload.ticket_id, status=TicketStatus.VALID, version=payload.version
            ).exists():
                reason = credentials.REVOKED
            elif direction == Direction.ENTRY:
                if presence.is_inside:
                    reason = ALREADY_ENTERED
                elif presence.entries and not rules.settings.is_reentry_allowed:
                    reason = REENTRY_NOT_ALLOWED
            elif not presence.is_inside:
                reason = NOT_INSIDE
        scan = Scan(
            uuid=scan_uuid,
            session=session,
            device=device,
            gate=gate,
            ticket_id=payload.ticket_id if payload else None,
            version=payload.version if payload else None,
            direction=direction,
            scanned_at=now,
            received_at=now,
            is_offline=False,
            is_accepted=reason == VALID,
            reason=reason,
        )
        if reason == VALID:
            # Sets the new scan's counted/flag in memory before it is inserted.
            _replay(
                session.pk,
                [payload.ticket_id],
                presences,
                rules.settings.is_reentry_allowed,
                [scan],
            )
        scan.save(force_insert=True)
    return scan, reason


@dataclass(frozen=True)
class OfflineScan:
    uuid: uuid_module.UUID
    gate_id: int | None
    direction: str
    text: str
    scanned_at: datetime
    is_accepted: bool
    reason: str


@dataclass
class SyncResult:
    received: int = 0
    stored: int = 0
    already_known: int = 0
    flagged: list[tuple[str, str]] = field(default_factory=list)  # (scan uuid, flag)


def sync_scans(
    *,
    device: Device,
    session: Session,
    scans: list[OfflineScan],
    now: datetime,
    rules: Rules | None = None,
) -> SyncResult:
    """Merge scans a device made offline. Idempotent: scans whose uuid is known are skipped.
    An accepted scan whose code the server refuses (e.g. revoked before the device synced)
    is stored as refused with the server's reason and flagged. Then every touched ticket is
    replayed: the first entry by ``scanned_at`` counts, later ones are flagged.

    Raises InvalidInput for more than MAX_SYNC_BATCH scans, an unknown direction or reason,
    GateNotFound for a gate of another session (nothing is stored then).
    """
    if len(scans) > MAX_SYNC_BATCH:
        raise InvalidInput(_("Send at most %(count)s scans at a time.") % {"count": MAX_SYNC_BATCH})
    gate_ids = set(Gate.objects.filter(session=session).values_list("pk", flat=True))
    for item in scans:
        _direction(item.direction)
        if item.reason not in REASONS:
            raise InvalidInput(_("Unknown scan result."), details={"reason": item.reason})
        if item.gate_id is not None and item.gate_id not in gate_ids:
            raise GateNotFound()
    result = SyncResult(received=len(scans))
    known = set()
    uuids = [item.uuid for item in scans]
    for i in range(0, len(uuids), 1000):
        known.update(
            Scan.objects.filter(uuid__in=uuids[i : i + 1000]).values_list("uuid", flat=True)
        )
    fresh = [item for item in scans if item.uuid not in known]
    result.already_known = len(scans) - len(fresh)
    if not fresh:
        return result
    rules = rules or load_rules(session)
    rows: list[Scan] = []
    server_flags: dict[uuid_module.UUID, str] = {}
    for item in fresh:
        verdict = judge_code(
            item.text,
            rules=rules,
            gate_id=item.gate_id,
            direction=item.direction,
            now=item.scanned_at,
        )
        payload = verdict.payload
        accepted, reason, flag = item.is_accepted, item.reason, ""
        if accepted and not verdict.ok:
            accepted, reason, flag = False, verdict.reason, verdict.reason
            server_flags[item.uuid] = flag
        rows.append(
            Scan(
                uuid=item.uuid,
                session=session,
                device=device,
                gate_id=item.gate_id,
                ticket_id=payload.ticket_id if payload else None,
                version=payload.version if payload else None,
                direction=item.direction,
                scanned_at=item.scanned_at,
                received_at=now,
                is_offline=True,
                is_accepted=accepted,
                reason=reason,
                flag=flag,
            )
        )
    with transaction.atomic():
        touched = sorted({row.ticket_id for row in rows if row.is_accepted and row.ticket_id})
        presences = _lock_presences(session.pk, touched)
        # A concurrent retry of the same scans may have stored some meanwhile.
        stored_now = set()
        for i in range(0, len(rows), 1000):
            stored_now.update(
                Scan.objects.filter(uuid__in=[r.uuid for r in rows[i : i + 1000]]).values_list(
                    "uuid", flat=True
                )
            )
        rows = [row for row in rows if row.uuid not in stored_now]
        result.already_known += len(stored_now)
        accepted_rows = [row for row in rows if row.is_accepted and row.ticket_id]
        changed = _replay(
            session.pk, touched, presences, rules.settings.is_reentry_allowed, accepted_rows
        )
        # Refused scans lock no ticket: a concurrent retry may insert one of them first.
        Scan.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        result.stored = len(rows)
        # Flags of this batch's scans and of earlier scans this batch overtook.
        flags = {row.uuid: row.flag for row in rows if row.flag}
        flags.update({scan.uuid: scan.flag for scan in changed if scan.flag})
        result.flagged = [(str(u), f) for u, f in flags.items()]
        audit.record(
            action="checkin.scans_synced",
            obj=device,
            now=now,
            organization_id=device.organization_id,
            data={"session": session.pk, "stored": result.stored, "flagged": len(result.flagged)},
        )
    result.flagged.sort()
    return result
