"""Giving places to a channel and taking them back (see the package docstring).

Each entry point is keyword-only, takes ``now``, runs in one transaction and leaves an
audit entry; a rule a person can break raises a ``DomainError`` and changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime

from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from tessera.accounts.models import OrganizationKind
from tessera.allocations.errors import (
    AllocationBusy,
    AllocationEnded,
    AllocationInvalid,
    ChannelNotAllocatable,
    NothingToReturn,
)
from tessera.allocations.models import Allocation, AllocationKind, AllocationStatus
from tessera.catalog.models import PriceZone, Session
from tessera.core import audit
from tessera.inventory import services as inventory
from tessera.inventory.errors import PlacesUnknown
from tessera.inventory.models import InventoryUnit, SalesChannel
from tessera.inventory.selectors import holdable
from tessera.partners import signals
from tessera.venues.models import Section

logger = logging.getLogger(__name__)

MAX_QUANTITY = 200_000
MAX_SEAT_LABELS = 2000
MAX_LABELS_TEXT = 20_000
_LOCK_ERRORS = ("40P01", "55P03")  # deadlock detected, lock wait timed out
_SEPARATORS = re.compile(r"[\s,，、;；]+")
_RANGE = re.compile(r"^(\d+)\s*[~～]\s*(\d+)$")


# -- input ----------------------------------------------------------------------------------------


def _ids(values: Iterable, name: str) -> list[int]:
    out = []
    for value in values or ():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
            raise AllocationInvalid(
                _("%(field)s must be whole numbers.") % {"field": name}, details={name: "invalid"}
            )
        out.append(value)
    return sorted(set(out))


def _quantity(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise AllocationInvalid(
            _("The number of places must be between 1 and %(max)d.") % {"max": MAX_QUANTITY},
            details={"quantity": "invalid"},
        )
    return value


def parse_seat_labels(text: str) -> list[tuple[str, str, str]]:
    """Seats typed as ``section-row-seat`` (``101-5-12``), or a run of a row
    (``101-5-1~10``), separated by commas, spaces or new lines: (section, row, seat)
    triples in the order given. Raises AllocationInvalid naming the first bad entry."""
    if not isinstance(text, str) or len(text) > MAX_LABELS_TEXT or "\x00" in text:
        raise AllocationInvalid(_("Please enter the seats as section-row-seat, e.g. 101-5-12."))
    seats: list[tuple[str, str, str]] = []
    for token in filter(None, _SEPARATORS.split(text.strip())):
        parts = token.split("-")
        run = _RANGE.match(parts[-1]) if len(parts) == 3 else None
        if len(parts) != 3 or not all(parts) or len(token) > 60:
            raise AllocationInvalid(
                _("“%(label)s” is not a seat: use section-row-seat, e.g. 101-5-12.")
                % {"label": token[:60]},
                details={"seats": token[:60]},
            )
        if run:
            first, last = int(run.group(1)), int(run.group(2))
            if last < first or last - first >= MAX_SEAT_LABELS:
                raise AllocationInvalid(
                    _("“%(label)s” is not a run of seats.") % {"label": token[:60]},
                    details={"seats": token[:60]},
                )
            seats.extend((parts[0], parts[1], str(n)) for n in range(first, last + 1))
        else:
            seats.append((parts[0], parts[1], parts[2]))
        if len(seats) > MAX_SEAT_LABELS:
            raise AllocationInvalid(
                _("At most %(max)d seats at a time.") % {"max": MAX_SEAT_LABELS},
                details={"seats": "too_many"},
            )
    if not seats:
        raise AllocationInvalid(_("Please enter at least one seat."), details={"seats": "empty"})
    return list(dict.fromkeys(seats))


def _units_of_seats(session: Session, seats: list[tuple[str, str, str]]) -> list[int]:
    found: dict[tuple[str, str, str], int] = {}
    for start in range(0, len(seats), 200):
        match = Q()
        for section, row, seat in seats[start : start + 200]:
            match |= Q(section__code=section, seat__row__label=row, seat__label=seat)
        found.update(
            {
                (section, row, seat): unit_id
                for unit_id, section, row, seat in InventoryUnit.objects.filter(
                    match, session_id=session.pk
                ).values_list("id", "section__code", "seat__row__label", "seat__label")
            }
        )
    missing = ["-".join(s) for s in seats if s not in found]
    if missing:
        raise PlacesUnknown(
            _("There is no seat %(label)s in this session.") % {"label": missing[0]},
            details={"seats": missing[:20]},
        )
    return [found[s] for s in seats]


def _check_channel(channel: SalesChannel) -> None:
    if (
        not channel.is_active
        or channel.organization.kind != OrganizationKind.DISTRIBUTOR
        or not channel.organization.is_active
    ):
        raise ChannelNotAllocatable()


# -- giving places --------------------------------------------------------------------------------


def allocate(
    *,
    session: Session,
    channel: SalesChannel,
    kind: str,
    actor,
    now: datetime,
    zone_ids: Iterable[int] = (),
    section_ids: Iterable[int] = (),
    seats: str = "",
    quantity: int | None = None,
    release_at: datetime | None = None,
    note: str = "",
) -> Allocation:
    """Give ``channel`` places of ``session``, all of them or none (one transaction).

    ``kind`` AREA: the free open-pool places of ``zone_ids`` and/or ``section_ids`` (at
    least one), every one or ``quantity`` of them; SEATS: the seats typed in ``seats``
    (``parse_seat_labels``); POOL: ``quantity`` free places anywhere in the open pool
    (optionally within ``zone_ids``). ``release_at``: after it, unsold places go back to the
    open pool by themselves. Raises ChannelNotAllocatable, AllocationInvalid, PlacesUnknown,
    PlacesUnavailable (chosen seats not free), AllocationShort (fewer free places than
    asked for) or AllocationBusy (places locked by a sale right now).
    """
    _check_channel(channel)
    if kind not in AllocationKind.values:
        raise AllocationInvalid(details={"kind": "invalid"})
    zones = _ids(zone_ids, "zones")
    sections = _ids(section_ids, "sections")
    quantity = _quantity(quantity)
    note = (note or "").strip()
    if len(note) > 200 or "\x00" in note:
        raise AllocationInvalid(_("The note may have at most 200 characters."))
    if release_at is not None and release_at <= now:
        raise AllocationInvalid(
            _("The release date must be in the future."), details={"release_at": "past"}
        )
    if zones and PriceZone.objects.filter(session=session, pk__in=zones).count() != len(zones):
        raise AllocationInvalid(
            _("A price zone does not belong to this session."), details={"zones": zones}
        )
    if sections and Section.objects.filter(
        layout_id=session.layout_id, pk__in=sections
    ).count() != len(sections):
        raise AllocationInvalid(
            _("A section does not belong to this session's venue."), details={"sections": sections}
        )
    unit_ids = None
    labels: list[str] = []
    if kind == AllocationKind.AREA:
        if not zones and not sections:
            raise AllocationInvalid(
                _("Choose at least one price zone or section."), details={"zones": "empty"}
            )
    elif kind == AllocationKind.SEATS:
        parsed = parse_seat_labels(seats)
        unit_ids = _units_of_seats(session, parsed)
        labels = ["-".join(s) for s in parsed]
        zones, sections, quantity = [], [], None
    else:
        if quantity is None:
            raise AllocationInvalid(
                _("Say how many places to allocate."), details={"quantity": "missing"}
            )
        sections = []
    try:
        with transaction.atomic():
            allocation = Allocation.objects.create(
                organization_id=session.event.organization_id,
                distributor_id=channel.organization_id,
                session=session,
                channel=channel,
                kind=kind,
                zone_ids=zones,
                section_ids=sections,
                seat_labels=labels[:MAX_SEAT_LABELS],
                requested=quantity if unit_ids is None else len(unit_ids),
                release_at=release_at,
                note=note,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            given = inventory.allocate_places(
                session=session,
                channel=channel,
                allocation_id=allocation.pk,
                now=now,
                actor=actor,
                unit_ids=unit_ids,
                zone_ids=zones,
                section_ids=sections,
                quantity=quantity,
            )
            allocation.allocated = len(given)
            allocation.save(update_fields=["allocated"])
            audit.record(
                action="allocation.created",
                obj=allocation,
                actor=actor,
                organization_id=allocation.organization_id,
                now=now,
                data={
                    "session": session.pk,
                    "channel": channel.code,
                    "kind": kind,
                    "places": len(given),
                    "release_at": release_at.isoformat() if release_at else None,
                },
            )
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) in _LOCK_ERRORS:
            raise AllocationBusy() from exc
        raise
    return allocation


# -- taking places back ---------------------------------------------------------------------------


def _return(
    allocation: Allocation, *, quantity: int | None, reason: str, actor, now: datetime
) -> int:
    """Inside a transaction, with the allocation's row locked: return its unsold places
    (``quantity`` of them, or all), count them and tell the partners. Returns how many."""
    ids = inventory.return_allocated_places(
        session=allocation.session,
        allocation_id=allocation.pk,
        now=now,
        actor=actor,
        quantity=quantity,
    )
    if not ids:
        return 0
    allocation.returned += len(ids)
    allocation.save(update_fields=["returned", "updated_at"])
    audit.record(
        action="allocation.returned",
        obj=allocation,
        actor=actor,
        organization_id=allocation.organization_id,
        now=now,
        data={"places": len(ids), "reason": reason, "returned": allocation.returned},
    )
    signals.emit(
        kind=signals.ALLOCATION_RETURNED,
        organization_ids=[allocation.distributor_id, allocation.organization_id],
        payload={
            "allocation": allocation.pk,
            "session": allocation.session_id,
            "channel": allocation.channel.code,
            "places": len(ids),
            "unit_ids": ids[:1000],
            "allocated": allocation.allocated,
            "returned": allocation.returned,
            "reason": reason,
            "status": allocation.status,
            "at": now.isoformat(),
        },
        key=f"allocation.returned:{allocation.pk}:{allocation.returned}",
    )
    return len(ids)


def _locked(allocation: Allocation) -> Allocation:
    return (
        Allocation.objects.select_for_update()
        .select_related("session__event", "channel")
        .get(pk=allocation.pk)
    )


def return_places(
    *, allocation: Allocation, actor, now: datetime, quantity: int | None = None
) -> int:
    """The organizer takes back ``quantity`` unsold places of the allocation, or every one
    (``quantity`` None: the allocation ends, ``returned``). One transaction; all or nothing.

    Raises AllocationInvalid (a bad quantity), AllocationEnded (N places asked of an
    allocation that has ended), AllocationShort (fewer unsold places than ``quantity``),
    NothingToReturn (no unsold place left) or AllocationBusy. Returns the places returned.
    """
    quantity = _quantity(quantity)
    try:
        with transaction.atomic():
            locked = _locked(allocation)
            was_active = locked.is_active
            if quantity is not None and not was_active:
                raise AllocationEnded()
            if quantity is None and was_active:
                locked.status = AllocationStatus.RETURNED
                locked.ended_at = now
                locked.save(update_fields=["status", "ended_at", "updated_at"])
            returned = _return(locked, quantity=quantity, reason="manual", actor=actor, now=now)
            if not returned and not was_active:
                raise NothingToReturn()
            if not returned:
                # Ending an allocation with nothing unsold left is still its end.
                audit.record(
                    action="allocation.ended",
                    obj=locked,
                    actor=actor,
                    organization_id=locked.organization_id,
                    now=now,
                    data={"places": 0},
                )
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) in _LOCK_ERRORS:
            raise AllocationBusy() from exc
        raise
    allocation.refresh_from_db()
    return returned


def release_due_allocations(*, now: datetime, batch_size: int = 100) -> int:
    """The periodic task: every active allocation whose release date has passed ends
    (``released``) and its unsold places go back to the open pool; allocations that have
    ended give back what lapsed holds and refunds freed since (while their session is
    still to come). One transaction per
    allocation, so one failing allocation does not keep the others. Returns the places
    returned."""
    total = 0
    due = list(
        Allocation.objects.filter(status=AllocationStatus.ACTIVE, release_at__lte=now)
        .order_by("release_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    leftover = list(
        InventoryUnit.objects.filter(
            # ended allocations of sessions still to come (what is freed once a session
            # has begun no longer matters)
            allocation_id__in=Allocation.objects.exclude(status=AllocationStatus.ACTIVE)
            .filter(session__starts_at__gt=now)
            .values("pk")
        )
        .filter(holdable(now))
        .order_by()
        .values_list("allocation_id", flat=True)
        .distinct()[:batch_size]
    )
    for pk in dict.fromkeys([*due, *leftover]):
        try:
            with transaction.atomic():
                locked = _locked(Allocation(pk=pk))
                reason = "leftover"
                if locked.is_active:
                    if locked.release_at is None or locked.release_at > now:
                        continue
                    locked.status = AllocationStatus.RELEASED
                    locked.ended_at = now
                    locked.save(update_fields=["status", "ended_at", "updated_at"])
                    reason = "release"
                total += _return(locked, quantity=None, reason=reason, actor=None, now=now)
        except Exception:
            logger.exception("allocation %s could not be released", pk)
    return total
