"""Everything that writes the inventory: units, channel allocations, holds and sales.

A place changes hands through one conditional UPDATE and a row-count check (DESIGN.md,
"Inventory")::

    UPDATE inventory_unit SET status='held', hold_id=:hold, hold_expires_at=:expires
     WHERE session_id=:session AND id IN (:ids)
       AND (status='available' OR (status='held' AND hold_expires_at < :now))
       AND <the channel may sell it>
    -- rows updated != len(ids) → roll back, nothing held

Expiry is lazy: an expired hold's places satisfy the predicate, so no sweeper is needed for
correctness (``tidy_expired_holds`` only tidies rows), except in a session whose returned
places are queued (``ReturnQueue``, kept by the waiting list): there the predicate leaves an
expired hold's places alone until ``tidy_expired_holds`` frees them and offers them to the
queue through the hooks below. Units of a channel are sold only
through that channel; units with ``channel = NULL`` are the open pool every channel sells.

Places that become free again (a refund's ``return_sold_places``, ``release_hold``,
``unblock_units``, an allocation back to the open pool, ``tidy_expired_holds``) are announced
to ``settings.PLACES_RETURNED_HOOKS`` inside the same transaction, before anyone else can
see them (the waiting list offers them to its fans first: ``tessera.waitlist``).

Every entry point is keyword-only, takes ``now``, runs in one ``transaction.atomic()`` (a
savepoint when the caller already opened one, e.g. ``sell_hold`` inside the payment
transaction) and leaves an audit entry. Rules a person can break raise a ``DomainError``
(see ``inventory.errors``); nothing is written then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import BigIntegerField, Case, Q, Value, When
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tessera.catalog.models import EventStatus, PriceZone, Session, ZoneAssignment
from tessera.catalog.selectors import zone_of_seats
from tessera.core import audit, locks
from tessera.core.errors import InvalidInput
from tessera.inventory import seatmap, selectors
from tessera.inventory.admission import check_admission
from tessera.inventory.best_available import find_blocks, find_split
from tessera.inventory.errors import (
    AllocationShort,
    ChannelNotActive,
    ExtensionUsed,
    HoldExpired,
    HoldLost,
    HoldNotFound,
    HoldNotReleasable,
    HoldOrdered,
    LimitExceeded,
    NotOnSale,
    PlacesNotSold,
    PlacesUnavailable,
    PlacesUnknown,
    ScopeInvalid,
    account_limit_reached,
    allocation_short,
    too_few_places,
)
from tessera.inventory.models import (
    Hold,
    HoldStatus,
    InventoryUnit,
    ReturnQueue,
    SalesChannel,
    UnitStatus,
)
from tessera.inventory.selectors import holdable, of_channel
from tessera.venues.models import Seat, Section, SectionKind

__all__ = [
    "ChannelNotActive",
    "ExtensionUsed",
    "HoldExpired",
    "HoldLost",
    "HoldNotFound",
    "HoldNotReleasable",
    "HoldOrdered",
    "LimitExceeded",
    "NotOnSale",
    "PlacesUnavailable",
    "PlacesUnknown",
    "ScopeInvalid",
    "allocate_channel",
    "allocate_places",
    "block_units",
    "extend_hold",
    "generate_units",
    "hold_best_available",
    "hold_for_group",
    "hold_quantity",
    "hold_reserved_units",
    "hold_units",
    "mark_hold_ordered",
    "release_hold",
    "release_reserved_units",
    "reserve_units",
    "restore_reserved_units",
    "return_allocated_places",
    "sell_hold",
    "tidy_expired_holds",
    "unblock_units",
]

BATCH_SIZE = 5000
# Best available tries this many candidate blocks, then rebuilds the snapshot once.
HOLD_ATTEMPTS = 5
# An ordered hold's places stay with its order this long after expiry, so a payment that
# arrives a little late still finds them (unless another buyer took them meanwhile).
ORDERED_GRACE = timedelta(hours=1)
_MAX_IDS = 10_000
_DEADLOCK = "40P01"


# -- units -----------------------------------------------------------------------------------


def generate_units(*, session: Session, now: datetime, actor=None) -> int:
    """Create the session's places: one unit per seat that has a price zone (seat over row
    over section) and ``capacity`` units per standing section assigned to a zone as a whole.

    One transaction; 60,000 units take seconds. Idempotent: when the session already has
    units nothing is written and 0 is returned. Returns the number created. Units are
    inserted in seating order (section, row, position), so ids run along each row.
    """
    with transaction.atomic():
        locked = Session.objects.select_for_update().select_related("event").get(pk=session.pk)
        if InventoryUnit.objects.filter(session=locked).exists():
            return 0
        zone_by_seat = zone_of_seats(locked)
        seats = (
            Seat.objects.filter(section__layout_id=locked.layout_id)
            .order_by("section__sort_order", "section_id", "row__sort_order", "position", "id")
            .values_list("id", "section_id")
        )
        rows = [
            (locked.pk, zone_by_seat[seat_id], section_id, seat_id)
            for seat_id, section_id in seats.iterator(chunk_size=BATCH_SIZE)
            if seat_id in zone_by_seat
        ]
        standing = (
            ZoneAssignment.objects.filter(
                session=locked,
                row__isnull=True,
                seat__isnull=True,
                section__kind=SectionKind.STANDING,
            )
            .order_by("section__sort_order", "section_id")
            .values_list("zone_id", "section_id", "section__capacity")
        )
        for zone_id, section_id, capacity in standing:
            rows.extend((locked.pk, zone_id, section_id, None) for _ in range(capacity))
        _insert_units(rows)
        if connection.vendor == "postgresql" and len(rows) >= _ANALYZE_AFTER:
            # The planner's view of the table must include these places before the sale
            # opens (autovacuum would analyze it only minutes later).
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(InventoryUnit._meta.db_table)}")
        audit.record(
            action="inventory.units_generated",
            obj=locked,
            actor=actor,
            organization_id=locked.event.organization_id,
            now=now,
            data={"units": len(rows)},
        )
    return len(rows)


# Generating this many places or more refreshes the table's statistics (PostgreSQL).
_ANALYZE_AFTER = 1000
# Rows per INSERT statement: 6 parameters each stays below SQLite's and PostgreSQL's limits.
_INSERT_ROWS = 500


def _insert_units(
    rows: list[tuple[int, int, int, int | None]],
    *,
    status: str = UnitStatus.AVAILABLE,
    block_reason: str = "",
) -> None:
    """Insert open-pool units from (session, zone, section, seat) tuples: available, or
    blocked with ``block_reason``.

    ``bulk_create`` spends ~90 % of its time building 60,000 model instances and compiling
    SQL; this writes plain rows: COPY on PostgreSQL, multi-row INSERTs on SQLite.
    """
    meta = InventoryUnit._meta
    qn = connection.ops.quote_name
    columns = [meta.get_field(name).column for name in ("session", "zone", "section", "seat")]
    columns += [meta.get_field("status").column, meta.get_field("block_reason").column]
    # Table and column names come from the model; every value is a parameter.
    target = f"{qn(meta.db_table)} ({', '.join(qn(c) for c in columns)})"
    status = UnitStatus(status).value
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, status, block_reason))
            return
        one_row = f"({', '.join(['%s'] * len(columns))})"
        for start in range(0, len(rows), _INSERT_ROWS):
            batch = rows[start : start + _INSERT_ROWS]
            cursor.execute(
                f"INSERT INTO {target} VALUES " + ", ".join([one_row] * len(batch)),  # noqa: S608
                [v for row in batch for v in (*row, status, block_reason)],
            )


def _unit_id_list(unit_ids: Iterable[int]) -> list[int]:
    try:
        ids = sorted({int(u) for u in unit_ids})
    except (TypeError, ValueError) as exc:
        raise InvalidInput(details={"unit_ids": "integers required"}) from exc
    if not ids:
        raise InvalidInput(details={"unit_ids": "at least one place required"})
    if len(ids) > _MAX_IDS:
        raise InvalidInput(details={"unit_ids": f"at most {_MAX_IDS} places at a time"})
    return ids


def _batches(ids: list[int]):
    for start in range(0, len(ids), BATCH_SIZE):
        yield ids[start : start + BATCH_SIZE]


def block_units(
    *, session: Session, unit_ids: Iterable[int], reason: str, actor, now: datetime
) -> int:
    """Take free places of the session off sale (camera positions, sponsors, a broken seat).

    Only places a buyer could hold now are blocked (available, or held by an expired hold);
    sold places and live holds are left alone. Returns the number blocked.
    """
    ids = _unit_id_list(unit_ids)
    reason = (reason or "").strip()
    if not reason or len(reason) > 80:
        raise InvalidInput(details={"reason": "1 to 80 characters required"})
    with transaction.atomic():
        blocked = 0
        for batch in _batches(ids):
            blocked += (
                InventoryUnit.objects.filter(session=session, id__in=batch)
                .filter(holdable(now))
                .update(
                    status=UnitStatus.BLOCKED, block_reason=reason, hold=None, hold_expires_at=None
                )
            )
        if blocked:
            _availability_changed(session.pk)
        audit.record(
            action="inventory.units_blocked",
            obj=session,
            actor=actor,
            organization_id=session.event.organization_id,
            now=now,
            data={"requested": len(ids), "blocked": blocked, "reason": reason},
        )
    return blocked


def unblock_units(*, session: Session, unit_ids: Iterable[int], actor, now: datetime) -> int:
    """Put blocked places of the session back on sale. Returns the number unblocked."""
    ids = _unit_id_list(unit_ids)
    with transaction.atomic():
        unblocked = 0
        for batch in _batches(ids):
            unblocked += InventoryUnit.objects.filter(
                session=session,
                id__in=batch,
                status=UnitStatus.BLOCKED,
            ).update(status=UnitStatus.AVAILABLE, block_reason="")
        if unblocked:
            _availability_changed(session.pk)
            _places_returned(session.pk, now)
        audit.record(
            action="inventory.units_unblocked",
            obj=session,
            actor=actor,
            organization_id=session.event.organization_id,
            now=now,
            data={"requested": len(ids), "unblocked": unblocked},
        )
    return unblocked


def allocate_channel(
    *, session: Session, unit_ids: Iterable[int], channel: SalesChannel | None, actor, now: datetime
) -> int:
    """Reserve places of the session for ``channel`` (None: back to the open pool).

    Sold places keep the channel they were sold through. A live hold keeps its places; the
    new channel applies once they are free again. Places of a channel allocation
    (``allocation_id``, ``tessera.allocations``) are left alone: they move only through
    ``allocate_places`` and ``return_allocated_places``, which keep its counts. Returns the
    number of places allocated.
    """
    ids = _unit_id_list(unit_ids)
    with transaction.atomic():
        allocated = 0
        for batch in _batches(ids):
            allocated += (
                InventoryUnit.objects.filter(session=session, id__in=batch)
                .exclude(status=UnitStatus.SOLD)
                .filter(allocation_id__isnull=True)
                .update(channel=channel)
            )
        if allocated:
            _availability_changed(session.pk)
            if channel is None:
                _places_returned(session.pk, now)
        audit.record(
            action="inventory.channel_allocated",
            obj=session,
            actor=actor,
            organization_id=session.event.organization_id,
            now=now,
            data={
                "requested": len(ids),
                "allocated": allocated,
                "channel": channel.code if channel else None,
            },
        )
    return allocated


def _pick_ids(candidates, quantity: int | None, *, wait: bool) -> list[int]:
    """The ids of ``candidates`` (ordered), at most ``quantity``, locked on PostgreSQL:
    ``wait`` for places another transaction is changing (chosen places), else skip them
    (any N, or every free one: a place a buyer is taking right now is not free)."""
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=not wait)
    ids = candidates.values_list("id", flat=True)
    return list(ids[:quantity] if quantity is not None else ids)


def allocate_places(
    *,
    session: Session,
    channel: SalesChannel,
    allocation_id: int,
    now: datetime,
    actor=None,
    unit_ids: Iterable[int] | None = None,
    zone_ids: Iterable[int] = (),
    section_ids: Iterable[int] = (),
    quantity: int | None = None,
) -> list[int]:
    """Give free places of the open pool to ``channel`` for the allocation ``allocation_id``:
    all of them or none.

    ``unit_ids``: exactly these places. Otherwise places of ``zone_ids`` and of
    ``section_ids`` (both optional; given both, places in both; neither, the whole session):
    any ``quantity`` of them in seating (id) order, or every free one (``quantity`` None).
    Only places a buyer could hold now and no channel owns are given: available, or held by
    an expired hold (that hold loses them, as when a place is blocked), with ``channel``
    NULL; held, sold and blocked places and other channels' are never taken.

    Runs in the caller's transaction (a savepoint of its own). Raises PlacesUnknown (not
    places of the session), PlacesUnavailable (chosen places not free; ``details`` lists
    them) or AllocationShort (fewer free places than ``quantity``, or none at all); nothing
    is changed then. Returns the ids of the places given, sorted.
    """
    free_pool = holdable(now) & Q(channel__isnull=True)
    with transaction.atomic():
        if unit_ids is not None:
            ids = _unit_id_list(unit_ids)
            known = set(
                InventoryUnit.objects.filter(session=session, id__in=ids).values_list(
                    "id", flat=True
                )
            )
            if unknown := sorted(set(ids) - known):
                raise PlacesUnknown(details={"unit_ids": unknown})
            picked = _pick_ids(
                InventoryUnit.objects.filter(session=session, id__in=ids)
                .filter(free_pool)
                .order_by("id"),
                None,
                wait=True,
            )
            if len(picked) != len(ids):
                raise PlacesUnavailable(details={"unit_ids": sorted(set(ids) - set(picked))})
        else:
            if quantity is not None and (
                isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1
            ):
                raise InvalidInput(details={"quantity": "a positive whole number required"})
            scope = InventoryUnit.objects.filter(session=session)
            if zone_ids := sorted(set(zone_ids)):
                scope = scope.filter(zone_id__in=zone_ids)
            if section_ids := sorted(set(section_ids)):
                scope = scope.filter(section_id__in=section_ids)
            picked = _pick_ids(scope.filter(free_pool).order_by("id"), quantity, wait=False)
            if quantity is not None and len(picked) < quantity:
                raise allocation_short(requested=quantity, free=len(picked))
            if not picked:
                raise AllocationShort(
                    _("No place is free in the open pool there; nothing was allocated."),
                    details={"free": 0},
                )
        given = 0
        for batch in _batches(sorted(picked)):
            given += (
                InventoryUnit.objects.filter(session=session, id__in=batch)
                .filter(free_pool)
                .update(
                    channel=channel,
                    allocation_id=allocation_id,
                    status=UnitStatus.AVAILABLE,
                    hold=None,
                    hold_expires_at=None,
                )
            )
        if given != len(picked):  # SQLite cannot lose a race here; PostgreSQL locked them
            raise allocation_short(requested=len(picked), free=given)
        _availability_changed(session.pk)
        audit.record(
            action="inventory.places_allocated",
            obj=session,
            actor=actor,
            organization_id=session.event.organization_id,
            now=now,
            data={"allocation": allocation_id, "channel": channel.code, "places": given},
        )
    return sorted(picked)


def return_allocated_places(
    *,
    session: Session,
    allocation_id: int,
    now: datetime,
    actor=None,
    quantity: int | None = None,
) -> list[int]:
    """Give places of the allocation ``allocation_id`` back to the open pool: ``quantity`` of
    them (the last in seating order first), or every one still unsold (``quantity`` None).

    Only places nobody is buying are returned: available, or held by an expired hold. Sold
    places and live holds stay with the channel (a later run returns what a lapsed hold
    or a refund frees). The freed places are announced to ``PLACES_RETURNED_HOOKS`` in
    this transaction. Runs in the caller's transaction (a savepoint of its own). Raises
    AllocationShort (fewer such places than ``quantity``; nothing returned). Returns the
    ids returned, sorted (none: nothing was left to return).
    """
    if quantity is not None and (
        isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1
    ):
        raise InvalidInput(details={"quantity": "a positive whole number required"})
    returnable = Q(allocation_id=allocation_id) & holdable(now)
    with transaction.atomic():
        picked = _pick_ids(
            InventoryUnit.objects.filter(session=session).filter(returnable).order_by("-id"),
            quantity,
            wait=False,
        )
        if quantity is not None and len(picked) < quantity:
            raise allocation_short(requested=quantity, free=len(picked), returning=True)
        if not picked:
            return []
        returned = 0
        for batch in _batches(sorted(picked)):
            returned += (
                InventoryUnit.objects.filter(session=session, id__in=batch)
                .filter(returnable)
                .update(
                    channel=None,
                    allocation_id=None,
                    status=UnitStatus.AVAILABLE,
                    hold=None,
                    hold_expires_at=None,
                )
            )
        if returned != len(picked):
            raise allocation_short(requested=len(picked), free=returned, returning=True)
        _availability_changed(session.pk)
        _places_returned(session.pk, now)
        audit.record(
            action="inventory.allocation_returned",
            obj=session,
            actor=actor,
            organization_id=session.event.organization_id,
            now=now,
            data={"allocation": allocation_id, "places": returned},
        )
    return sorted(picked)


# -- holds -----------------------------------------------------------------------------------


def _check_request(
    *,
    session: Session,
    quantity: int,
    now: datetime,
    channel: SalesChannel | None,
    user=None,
    admission_pass: str | None = None,
) -> None:
    """The rules that need no lock: on sale, admitted (``admission.check_admission``; a
    sales channel sells its own allocations and the open pool without queueing), channel
    active, quantity per order."""
    if session.event.status != EventStatus.PUBLISHED or not session.is_on_sale(now):
        raise NotOnSale()
    if channel is None:
        check_admission(session=session, user=user, admission_pass=admission_pass, now=now)
    elif not channel.is_active:
        raise ChannelNotActive()
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput(details={"quantity": "a positive whole number required"})
    if quantity > session.max_tickets_per_order:
        raise LimitExceeded(
            _("At most %(limit)d tickets per order.") % {"limit": session.max_tickets_per_order},
            details={"max_tickets_per_order": session.max_tickets_per_order, "requested": quantity},
        )


def _lock_account(session: Session, user) -> None:
    """Serialise holds of one account in one session until the transaction ends
    (``core.locks.lock_account``)."""
    locks.lock_account(session_id=session.pk, user_id=user.pk)


def _open_hold(
    *,
    session: Session,
    user,
    quantity: int,
    now: datetime,
    channel: SalesChannel | None,
    expires_at: datetime | None = None,
) -> Hold:
    """Check the per-account limit under the account lock and create the hold row.

    Call inside the entry point's transaction; the lock lasts until it ends, so a parallel
    hold of the same account counts this one's places. A sales channel's holds are bounded
    by the places the channel may sell, not by the per-account limit (its account sells to
    many buyers).
    """
    if channel is None:
        _check_account_limit(session=session, user=user, quantity=quantity, now=now)
    return Hold.objects.create(
        session=session,
        user=user,
        channel=channel,
        quantity=quantity,
        created_at=now,
        expires_at=expires_at or now + timedelta(minutes=session.hold_minutes),
    )


def _check_account_limit(*, session: Session, user, quantity: int, now: datetime) -> None:
    _lock_account(session, user)
    already = selectors.count_account_units(session=session, user=user, now=now)
    if already + quantity > session.max_tickets_per_account:
        raise account_limit_reached(
            limit=session.max_tickets_per_account, already=already, requested=quantity
        )


class _Shortfall(Exception):
    """Fewer places matched the hold statement than asked for (rolls the savepoint back)."""


def _take(*, hold: Hold, unit_ids: list[int], now: datetime) -> bool:
    """All of ``unit_ids`` for ``hold``, or nothing: the conditional UPDATE in a savepoint.

    True when every place was taken. A lost race (or a PostgreSQL deadlock between two
    buyers of overlapping places) leaves nothing changed and returns False.
    """
    try:
        with transaction.atomic():
            taken = (
                InventoryUnit.objects.filter(session_id=hold.session_id, id__in=unit_ids)
                .filter(holdable(now))
                .filter(of_channel(hold.channel))
                .update(status=UnitStatus.HELD, hold=hold, hold_expires_at=hold.expires_at)
            )
            if taken != len(unit_ids):
                raise _Shortfall
    except _Shortfall:
        return False
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _DEADLOCK:
            raise
        return False
    return True


def _take_first(*, hold: Hold, candidates, quantity: int, now: datetime) -> list[int] | None:
    """The first ``quantity`` of ``candidates`` (free units, in order) for ``hold``, or
    nothing. Returns the unit ids taken, None when too few were free."""
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: lock candidates nobody else is locking; never wait for other buyers.
        ids = list(
            candidates.select_for_update(skip_locked=True).values_list("id", flat=True)[:quantity]
        )
        if len(ids) == quantity and _take(hold=hold, unit_ids=ids, now=now):
            return ids
        return None
    # SQLite: this transaction is the only writer, so a plain subquery is exact.
    try:
        with transaction.atomic():
            taken = (
                InventoryUnit.objects.filter(id__in=candidates.values("id")[:quantity])
                .filter(holdable(now))
                .filter(of_channel(hold.channel))
                .update(status=UnitStatus.HELD, hold=hold, hold_expires_at=hold.expires_at)
            )
            if taken != quantity:
                raise _Shortfall
    except _Shortfall:
        return None
    return list(InventoryUnit.objects.filter(hold=hold).order_by("id").values_list("id", flat=True))


def _availability_changed(session_id: int) -> None:
    """Tell the seat map (``inventory.seatmap``) once the current transaction commits."""
    transaction.on_commit(lambda: seatmap.bump_version(session_id))


@cache
def _returned_hooks() -> tuple:
    return tuple(import_string(path) for path in getattr(settings, "PLACES_RETURNED_HOOKS", ()))


def _places_returned(session_id: int, now: datetime) -> None:
    """Call ``settings.PLACES_RETURNED_HOOKS`` with (session_id, now) inside the transaction
    that freed places of the session, after they became free: a hook may hold them for
    someone before the transaction commits and the public sees them."""
    for hook in _returned_hooks():
        hook(session_id=session_id, now=now)


def clear_returned_hooks_cache() -> None:
    """Forget the imported hooks (tests that change ``PLACES_RETURNED_HOOKS``)."""
    _returned_hooks.cache_clear()


def _audit_hold(hold: Hold, *, unit_ids: list[int], how: str, now: datetime) -> None:
    _availability_changed(hold.session_id)
    audit.record(
        action="hold.created",
        obj=hold,
        actor=hold.user,
        organization_id=hold.session.event.organization_id,
        now=now,
        data={
            "how": how,
            "units": unit_ids,
            "channel": hold.channel.code if hold.channel else None,
        },
    )


def _unavailable(
    *, session: Session, unit_ids: list[int], now: datetime, channel: SalesChannel | None
) -> Exception:
    """The error for places that could not all be held: unknown ones, or taken ones."""
    known = set(
        InventoryUnit.objects.filter(session=session, id__in=unit_ids).values_list("id", flat=True)
    )
    unknown = sorted(set(unit_ids) - known)
    if unknown:
        return PlacesUnknown(details={"unit_ids": unknown})
    free = set(
        InventoryUnit.objects.filter(session=session, id__in=unit_ids)
        .filter(holdable(now))
        .filter(of_channel(channel))
        .values_list("id", flat=True)
    )
    return PlacesUnavailable(details={"unit_ids": sorted(set(unit_ids) - free)})


def hold_units(
    *,
    session: Session,
    user,
    unit_ids: Iterable[int],
    now: datetime,
    channel: SalesChannel | None = None,
    admission_pass: str | None = None,
) -> Hold:
    """Hold the chosen places for ``user``: all of them or none.

    Raises NotOnSale, ChannelNotActive, LimitExceeded (per order, per account),
    PlacesUnknown (not places of this session) or PlacesUnavailable (taken, blocked, sold
    or of another channel; ``details["unit_ids"]`` lists them).
    """
    ids = _unit_id_list(unit_ids)
    _check_request(
        session=session,
        quantity=len(ids),
        now=now,
        channel=channel,
        user=user,
        admission_pass=admission_pass,
    )
    with transaction.atomic():
        hold = _open_hold(session=session, user=user, quantity=len(ids), now=now, channel=channel)
        if not _take(hold=hold, unit_ids=ids, now=now):
            raise _unavailable(session=session, unit_ids=ids, now=now, channel=channel)
        _audit_hold(hold, unit_ids=ids, how="units", now=now)
    return hold


def _check_scope(session: Session, zone: PriceZone | None, section: Section | None) -> None:
    if zone is not None and zone.session_id != session.pk:
        raise ScopeInvalid(details={"zone": zone.pk})
    if section is not None and section.layout_id != session.layout_id:
        raise ScopeInvalid(details={"section": section.pk})


def hold_quantity(
    *,
    session: Session,
    user,
    zone: PriceZone,
    quantity: int,
    now: datetime,
    channel: SalesChannel | None = None,
    section: Section | None = None,
    admission_pass: str | None = None,
    expires_at: datetime | None = None,
) -> Hold:
    """Hold any ``quantity`` free places of ``zone`` (and ``section``): standing places, or
    "any N in this zone". ``expires_at``: when the hold runs out, if not after the
    session's ``hold_minutes`` (a waiting list's offer).

    PostgreSQL picks the places with ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent
    buyers never wait for each other; SQLite (one writer at a time) updates through a plain
    subquery. Places come in id order, which is seating order. Raises NotOnSale,
    ChannelNotActive, ScopeInvalid, LimitExceeded or PlacesUnavailable (fewer free places
    than asked; nothing held).
    """
    _check_scope(session, zone, section)
    _check_request(
        session=session,
        quantity=quantity,
        now=now,
        channel=channel,
        user=user,
        admission_pass=admission_pass,
    )
    with transaction.atomic():
        hold = _open_hold(
            session=session,
            user=user,
            quantity=quantity,
            now=now,
            channel=channel,
            expires_at=expires_at,
        )
        candidates = (
            InventoryUnit.objects.filter(session=session, zone=zone)
            .filter(holdable(now))
            .filter(of_channel(channel))
        )
        if section is not None:
            candidates = candidates.filter(section=section)
        ids = _take_first(
            hold=hold, candidates=candidates.order_by("id"), quantity=quantity, now=now
        )
        if ids is None:
            raise too_few_places(quantity, zone_id=zone.pk)
        _audit_hold(hold, unit_ids=ids, how="quantity", now=now)
    return hold


def hold_best_available(
    *,
    session: Session,
    user,
    quantity: int,
    now: datetime,
    zone: PriceZone | None = None,
    section: Section | None = None,
    accept_split: bool = False,
    channel: SalesChannel | None = None,
    admission_pass: str | None = None,
) -> Hold:
    """Hold the best ``quantity`` adjacent seats of ``zone`` / ``section`` (whole session
    when neither is given).

    The best block leaves no single free seat stranded and lies nearest the layout's focal
    point (``best_available.find_blocks``). Up to HOLD_ATTEMPTS candidates are tried in
    order (another buyer may take one first); then the snapshot is rebuilt once. Without
    any block, ``accept_split`` takes the best seats in as few rows as possible (a single
    seat needs no consent: it is simply the best free seat); otherwise PlacesUnavailable
    says so with ``details["split_possible"]``. A scope without seats
    (a standing area) is held as a quantity. Raises as ``hold_quantity`` does.
    """
    _check_scope(session, zone, section)
    _check_request(
        session=session,
        quantity=quantity,
        now=now,
        channel=channel,
        user=user,
        admission_pass=admission_pass,
    )
    if not selectors.has_seats(session=session, zone=zone, section=section):
        standing_zone = zone
        if standing_zone is None:
            zones = PriceZone.objects.filter(session=session, units__session=session)
            if section is not None:
                zones = zones.filter(units__section=section)
            standing_zone = zones.order_by("sort_order", "id").first()
        if standing_zone is None:
            raise PlacesUnavailable(details={"requested": quantity, "split_possible": False})
        return hold_quantity(
            session=session,
            user=user,
            zone=standing_zone,
            quantity=quantity,
            now=now,
            channel=channel,
            section=section,
            admission_pass=admission_pass,
        )

    layout = session.layout
    focal = (layout.focal_x, layout.focal_y)
    snapshot = selectors.seat_snapshot(
        session=session, now=now, zone=zone, section=section, channel=channel
    )
    with transaction.atomic():
        hold = _open_hold(session=session, user=user, quantity=quantity, now=now, channel=channel)
        for attempt in range(2):
            if attempt:  # every candidate was taken meanwhile: look again, once
                snapshot = selectors.seat_snapshot(
                    session=session, now=now, zone=zone, section=section, channel=channel
                )
            blocks = find_blocks(snapshot, quantity=quantity, focal=focal, limit=HOLD_ATTEMPTS)
            for block in blocks:
                ids = sorted(block.unit_ids)
                if _take(hold=hold, unit_ids=ids, now=now):
                    _audit_hold(hold, unit_ids=ids, how="best_available", now=now)
                    return hold
            if blocks:
                continue
            split = find_split(snapshot, quantity=quantity, focal=focal)
            if split is None:
                raise PlacesUnavailable(
                    ngettext(
                        "No seat is left here.",
                        "Fewer than %(quantity)d seats are left here.",
                        quantity,
                    )
                    % {"quantity": quantity},
                    details={"requested": quantity, "split_possible": False},
                )
            if not accept_split and quantity > 1:  # one seat cannot be split
                raise PlacesUnavailable(
                    _(
                        "No %(quantity)d adjacent seats are left here. Seats split across "
                        "rows are still available if you accept them."
                    )
                    % {"quantity": quantity},
                    details={"requested": quantity, "split_possible": True},
                )
            ids = sorted(split)
            if _take(hold=hold, unit_ids=ids, now=now):
                _audit_hold(hold, unit_ids=ids, how="best_available_split", now=now)
                return hold
        raise PlacesUnavailable(details={"requested": quantity})


def _locked_hold(hold: Hold) -> Hold:
    try:
        return locks.lock_rows(Hold.objects.select_related("session__event")).get(pk=hold.pk)
    except Hold.DoesNotExist as exc:
        raise HoldNotFound() from exc


def extend_hold(*, hold: Hold, user, now: datetime, for_order: bool = False) -> Hold:
    """Give a live hold ``hold_minutes`` more, once.

    Raises HoldNotFound (not the user's), HoldExpired (too late: its places may be gone)
    or ExtensionUsed (extended before).
    """
    with transaction.atomic():
        locked = _locked_hold(hold)
        if locked.user_id != user.pk:
            raise HoldNotFound()
        if not locked.is_live(now):
            raise HoldExpired()
        if locked.status == HoldStatus.ORDERED and not for_order:
            # The order's pay-before time must move with it: orders.extend_order does both.
            raise HoldOrdered()
        if locked.extensions >= 1:
            raise ExtensionUsed()
        previous = locked.expires_at
        locked.expires_at = previous + timedelta(minutes=locked.session.hold_minutes)
        locked.extensions += 1
        locked.save(update_fields=["expires_at", "extensions"])
        # The hold is live, so every unit still carries it and the old expiry.
        InventoryUnit.objects.filter(hold=locked, status=UnitStatus.HELD).update(
            hold_expires_at=locked.expires_at
        )
        audit.record(
            action="hold.extended",
            obj=locked,
            actor=user,
            organization_id=locked.session.event.organization_id,
            now=now,
            data={"from": previous.isoformat(), "to": locked.expires_at.isoformat()},
        )
    return locked


def release_hold(*, hold: Hold, user, now: datetime) -> None:
    """Give the hold's places back, expired or not; releasing twice changes nothing.

    Only places still held by this hold are freed: a place another buyer took after expiry
    stays theirs. ``user`` None is the system (an order cancelled or expired). Raises
    HoldNotFound (not the user's) or HoldNotReleasable (sold).
    """
    with transaction.atomic():
        locked = _locked_hold(hold)
        if user is not None and locked.user_id != user.pk:
            raise HoldNotFound()
        if locked.status == HoldStatus.SOLD:
            raise HoldNotReleasable()
        if locked.status == HoldStatus.ORDERED and user is not None:
            # An order awaits payment for these places: the buyer cancels the order instead.
            raise HoldNotReleasable()
        if locked.status == HoldStatus.RELEASED:
            return
        freed = InventoryUnit.objects.filter(hold=locked, status=UnitStatus.HELD).update(
            status=UnitStatus.AVAILABLE, hold=None, hold_expires_at=None
        )
        locked.status = HoldStatus.RELEASED
        locked.released_at = now
        locked.save(update_fields=["status", "released_at"])
        if freed:
            _availability_changed(locked.session_id)
            _places_returned(locked.session_id, now)
        audit.record(
            action="hold.released",
            obj=locked,
            actor=user,
            organization_id=locked.session.event.organization_id,
            now=now,
            data={"freed": freed},
        )
    hold.status, hold.released_at = locked.status, locked.released_at


def mark_hold_ordered(*, hold: Hold, now: datetime, is_locked: bool = False) -> Hold:
    """Record that an order was placed from the live hold (repeats change nothing).

    ``is_locked``: the caller (``orders.place_order``) already holds the hold's row lock in
    its transaction, so it is not read again. The hold's audit trail is the order's
    ``order.placed`` entry. Raises HoldExpired when the hold has expired or was released.
    """
    if is_locked:
        locks.require_transaction()
        return _order_hold(hold, now)
    with transaction.atomic():
        locked = _order_hold(_locked_hold(hold), now)
    hold.status = locked.status
    return locked


def _order_hold(locked: Hold, now: datetime) -> Hold:
    if locked.status == HoldStatus.ORDERED:
        return locked
    if locked.status != HoldStatus.ACTIVE or not locked.is_live(now):
        raise HoldExpired()
    Hold.objects.filter(pk=locked.pk).update(status=HoldStatus.ORDERED)
    locked.status = HoldStatus.ORDERED
    return locked


def sell_hold(*, hold: Hold, line_ids_by_unit: Mapping[int, int], now: datetime) -> None:
    """Confirm the sale of every place of the hold, each to its order line.

    ``UPDATE … SET status='sold' WHERE hold_id=:hold AND status='held'``: works after expiry
    as long as nobody took the places meanwhile. When fewer places than the hold's are still
    its own (or the lines do not cover exactly its places), raises HoldLost and nothing is
    sold; the caller refunds. Selling again with the same lines changes nothing.
    """
    unit_ids = sorted(line_ids_by_unit)
    with transaction.atomic():
        locked = _locked_hold(hold)
        if locked.status == HoldStatus.SOLD:
            sold = dict(
                InventoryUnit.objects.filter(hold=locked, status=UnitStatus.SOLD).values_list(
                    "id", "order_line_id"
                )
            )
            if sold == dict(line_ids_by_unit) and len(sold) == locked.quantity:
                return
            raise HoldLost(details={"hold": str(locked.pk), "status": locked.status})
        if locked.expires_at <= now:
            # A late payment: the account may have held or bought other places since this
            # hold ran out; the sale may not take it past its limit.
            _lock_account(locked.session, locked.user)
            owned = (
                InventoryUnit.objects.filter(session=locked.session, hold__user=locked.user)
                .exclude(hold=locked)
                .filter(
                    Q(status=UnitStatus.SOLD) | Q(status=UnitStatus.HELD, hold_expires_at__gte=now)
                )
                .count()
            )
            if owned + locked.quantity > locked.session.max_tickets_per_account:
                raise HoldLost(
                    details={
                        "hold": str(locked.pk),
                        "reason": "account_limit",
                        "owned": owned,
                        "places": locked.quantity,
                    }
                )
            if locked.session.real_name_required and not import_string(
                settings.REAL_NAME_LATE_SALE_CHECK
            )(session=locked.session, line_ids=list(line_ids_by_unit.values()), now=now):
                # Someone else bought for the same identity while this hold had run out.
                raise HoldLost(details={"hold": str(locked.pk), "reason": "identity_limit"})
        sold_count = 0
        if len(unit_ids) == locked.quantity:
            sold_count = InventoryUnit.objects.filter(
                hold=locked,
                status=UnitStatus.HELD,
                id__in=unit_ids,
            ).update(
                status=UnitStatus.SOLD,
                hold_expires_at=None,
                order_line_id=Case(
                    *[
                        When(id=unit_id, then=Value(line_id))
                        for unit_id, line_id in line_ids_by_unit.items()
                    ],
                    output_field=BigIntegerField(),
                ),
            )
        if sold_count != locked.quantity:
            # Raising rolls back the partial update: all places or none.
            raise HoldLost(
                details={
                    "hold": str(locked.pk),
                    "places": locked.quantity,
                    "still_held": sold_count,
                }
            )
        locked.status = HoldStatus.SOLD
        locked.save(update_fields=["status"])
        _availability_changed(locked.session_id)
        audit.record(
            action="hold.sold",
            obj=locked,
            actor=None,
            organization_id=locked.session.event.organization_id,
            now=now,
            data={"units": unit_ids},
        )
    hold.status = locked.status


def return_sold_places(
    *, session_id: int, line_ids: Iterable[int], reason: str, now: datetime, actor=None
) -> list[int]:
    """Put the places sold to these order lines back on sale (a refund, an exchange): each
    becomes available again in its channel, and the seat map hears of it after commit.
    Runs inside the caller's transaction; one conditional UPDATE whose row count must be
    the number of lines. Returns the places' ids. Raises PlacesNotSold (nothing changes)
    when a line's place is not sold to it."""
    locks.require_transaction()
    line_ids = sorted(set(line_ids))
    unit_ids = list(
        locks.lock_rows(
            InventoryUnit.objects.filter(
                session_id=session_id, order_line_id__in=line_ids, status=UnitStatus.SOLD
            )
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    if len(unit_ids) != len(line_ids):
        raise PlacesNotSold(details={"lines": line_ids, "sold": len(unit_ids)})
    returned = InventoryUnit.objects.filter(
        pk__in=unit_ids, status=UnitStatus.SOLD, order_line_id__in=line_ids
    ).update(status=UnitStatus.AVAILABLE, hold=None, hold_expires_at=None, order_line_id=None)
    if returned != len(unit_ids):
        raise PlacesNotSold(details={"lines": line_ids, "sold": returned})
    _availability_changed(session_id)
    _places_returned(session_id, now)
    audit.record(
        action="units.returned_to_sale",
        obj=Session(pk=session_id),
        actor=actor,
        now=now,
        data={"units": unit_ids, "reason": reason[:80]},
    )
    return unit_ids


def queue_returns(*, session_id: int, now: datetime) -> None:
    """From now on the session's returned places go to its queue first (``ReturnQueue``):
    an expired hold's places wait for ``tidy_expired_holds``. Idempotent."""
    ReturnQueue.objects.get_or_create(session_id=session_id, defaults={"since": now})


def queue_returns_of(*, session_ids: Iterable[int], now: datetime) -> int:
    """Exactly these sessions queue their returned places: the others stop (nobody waits
    in their queue any more), these start if a row went missing. Returns how many stopped."""
    session_ids = sorted({int(i) for i in session_ids})
    deleted, _ = ReturnQueue.objects.exclude(session_id__in=session_ids).delete()
    ReturnQueue.objects.bulk_create(
        [ReturnQueue(session_id=i, since=now) for i in session_ids], ignore_conflicts=True
    )
    return deleted


def tidy_expired_holds(*, now: datetime, batch_size: int = 500) -> int:
    """Reset places of expired holds to available and mark the holds released.

    Housekeeping, except for sessions whose returned places are queued (``ReturnQueue``):
    elsewhere expired places are already free to anyone; there they are freed only here and
    handed to ``settings.PLACES_RETURNED_HOOKS`` (the waiting list) first. Active holds are tidied
    as soon as they expire, ordered ones after ORDERED_GRACE (their order may still be
    paid). Places another buyer took meanwhile are untouched (they carry the new hold).
    Returns the number of places freed.
    """
    expired = Q(status=HoldStatus.ACTIVE, expires_at__lt=now) | Q(
        status=HoldStatus.ORDERED, expires_at__lt=now - ORDERED_GRACE
    )
    freed = 0
    while True:
        with transaction.atomic():
            ids = list(
                Hold.objects.filter(expired)
                .order_by("expires_at")
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                break
            freeing = InventoryUnit.objects.filter(
                hold_id__in=ids, status=UnitStatus.HELD, hold_expires_at__lt=now
            )
            session_ids = sorted(set(freeing.values_list("session_id", flat=True)))
            freed += freeing.update(status=UnitStatus.AVAILABLE, hold=None, hold_expires_at=None)
            Hold.objects.filter(expired, id__in=ids).update(
                status=HoldStatus.RELEASED, released_at=now
            )
            for session_id in session_ids:
                _places_returned(session_id, now)
    return freed


# -- a session moved to another layout (after-sales' move) ------------------------------------

MOVED = "moved"
# The new layout's places while the move's job runs: kept for the ticket holders being moved
# there (``move_sold_places`` takes them), out of every hold path, then opened to the public
# (``open_moving_units``) when the job is done.
MOVING = "moving"


def open_units_of_new_layout(*, session: Session, now: datetime, actor=None) -> int:
    """The session moved to another layout (``catalog.move_session``): every place of the old
    layout not sold is blocked (``moved``; a hold on one is lost, its checkout refused), and
    the new layout's places are created from the session's zone assignments, blocked
    (``moving``) so that no buyer takes a place a moved ticket holder needs; the move's job
    opens them when it is done (``open_moving_units``). Runs inside the caller's
    transaction; idempotent (places already there are not made again). Returns how many
    places were created."""
    locks.require_transaction()
    InventoryUnit.objects.filter(
        session_id=session.pk, status__in=(UnitStatus.AVAILABLE, UnitStatus.HELD)
    ).exclude(section__layout_id=session.layout_id).update(
        status=UnitStatus.BLOCKED, hold=None, hold_expires_at=None, block_reason=MOVED
    )
    done_sections = set(
        InventoryUnit.objects.filter(session_id=session.pk, section__layout_id=session.layout_id)
        .values_list("section_id", flat=True)
        .distinct()
    )
    zone_by_seat = zone_of_seats(session)
    seats = (
        Seat.objects.filter(section__layout_id=session.layout_id)
        .exclude(section_id__in=done_sections)
        .order_by("section__sort_order", "section_id", "row__sort_order", "position", "id")
        .values_list("id", "section_id")
    )
    rows = [
        (session.pk, zone_by_seat[seat_id], section_id, seat_id)
        for seat_id, section_id in seats.iterator(chunk_size=BATCH_SIZE)
        if seat_id in zone_by_seat
    ]
    standing = (
        ZoneAssignment.objects.filter(
            session_id=session.pk,
            row__isnull=True,
            seat__isnull=True,
            section__kind=SectionKind.STANDING,
        )
        .exclude(section_id__in=done_sections)
        .order_by("section__sort_order", "section_id")
        .values_list("zone_id", "section_id", "section__capacity")
    )
    for zone_id, section_id, capacity in standing:
        rows.extend((session.pk, zone_id, section_id, None) for _ in range(capacity))
    _insert_units(rows, status=UnitStatus.BLOCKED, block_reason=MOVING)
    _availability_changed(session.pk)
    audit.record(
        action="inventory.units_moved_layout",
        obj=session,
        actor=actor,
        now=now,
        data={"units": len(rows), "layout": session.layout_id},
    )
    return len(rows)


def open_moving_units(*, session_id: int, now: datetime) -> int:
    """The move's job is done: the new layout's places still kept (``moving``) go on sale,
    announced to ``settings.PLACES_RETURNED_HOOKS`` first (the waiting list). Runs in its
    own transaction (a savepoint of the caller's); idempotent. Returns how many."""
    with transaction.atomic():
        opened = InventoryUnit.objects.filter(
            session_id=session_id, status=UnitStatus.BLOCKED, block_reason=MOVING
        ).update(status=UnitStatus.AVAILABLE, block_reason="")
        if opened:
            _availability_changed(session_id)
            _places_returned(session_id, now)
    return opened


def moving_or_available() -> Q:
    """The new layout's places a moved ticket holder may be given: kept for the move, or
    on sale (a retried move after the job opened them)."""
    return Q(status=UnitStatus.AVAILABLE) | Q(status=UnitStatus.BLOCKED, block_reason=MOVING)


def move_sold_places(*, session_id: int, targets: Mapping[int, int], now: datetime) -> None:
    """Move the places sold to these order lines (line id → the new layout's unit): each new
    place (kept for the move, or available) becomes sold to its line, with the old place's
    sold hold, channel and allocation, and the old one blocked (``moved``). Runs inside the
    caller's transaction (which holds the orders' locks); the new places are locked in id
    order. Raises PlacesNotSold (nothing changes) when a new place is no longer free or an
    old one not sold to its line."""
    locks.require_transaction()
    line_ids = sorted(targets)
    new_ids = sorted(targets.values())
    free = list(
        locks.lock_rows(
            InventoryUnit.objects.filter(
                moving_or_available(), session_id=session_id, pk__in=new_ids
            )
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    if len(free) != len(new_ids) or len(set(new_ids)) != len(new_ids):
        raise PlacesNotSold(details={"lines": line_ids, "free": len(free)})
    sold = InventoryUnit.objects.filter(
        session_id=session_id, order_line_id__in=line_ids, status=UnitStatus.SOLD
    )
    # what the new place carries over: the buyer's sold hold (the per-account limit counts
    # it), and the channel and allocation it was sold through
    carried = {
        line_id: (hold_id, channel_id, allocation_id)
        for line_id, hold_id, channel_id, allocation_id in sold.values_list(
            "order_line_id", "hold_id", "channel_id", "allocation_id"
        )
    }
    old = sold.update(
        status=UnitStatus.BLOCKED,
        order_line_id=None,
        block_reason=MOVED,
        hold=None,
        channel=None,
        allocation_id=None,
    )
    if old != len(line_ids) or len(carried) != len(line_ids):
        raise PlacesNotSold(details={"lines": line_ids, "sold": old})
    units = [
        InventoryUnit(
            pk=unit_id,
            status=UnitStatus.SOLD,
            order_line_id=line_id,
            block_reason="",
            hold_id=carried[line_id][0],
            channel_id=carried[line_id][1],
            allocation_id=carried[line_id][2],
        )
        for line_id, unit_id in targets.items()
    ]
    InventoryUnit.objects.bulk_update(
        units,
        ["status", "order_line_id", "block_reason", "hold", "channel", "allocation_id"],
        batch_size=1000,
    )
    _availability_changed(session_id)


def hand_over_sold_place(
    *, unit_id: int, from_line_id: int, to_line_id: int, user, now: datetime
) -> None:
    """The official resale: the place sold to ``from_line_id`` becomes sold to
    ``to_line_id`` of ``user``'s order, under a sold hold of ``user`` (so the per-account
    limits count it for the buyer, no longer for the seller). The buyer's account limit is
    checked under the account lock. Runs inside the caller's transaction. Raises
    PlacesNotSold (nothing changes) when the place is no longer sold to ``from_line_id``,
    LimitExceeded when the buyer already has as many places as allowed."""
    locks.require_transaction()
    unit = (
        locks.lock_rows(InventoryUnit.objects.select_related("session"))
        .filter(pk=unit_id, status=UnitStatus.SOLD, order_line_id=from_line_id)
        .first()
    )
    if unit is None:
        raise PlacesNotSold(details={"unit": unit_id})
    _check_account_limit(session=unit.session, user=user, quantity=1, now=now)
    hold = Hold.objects.create(
        session=unit.session,
        user=user,
        quantity=1,
        status=HoldStatus.SOLD,
        created_at=now,
        expires_at=now,
    )
    InventoryUnit.objects.filter(pk=unit.pk).update(hold=hold, order_line_id=to_line_id)
    audit.record(
        action="units.handed_over",
        obj=Session(pk=unit.session_id),
        now=now,
        data={"unit": unit.pk, "from_line": from_line_id, "to_line": to_line_id},
    )


def hold_for_pass(*, session: Session, user, zone: PriceZone, expires_at: datetime, now: datetime):
    """One place of ``zone`` (a seat or a standing place of the open pool) held for a pass
    buyer until ``expires_at``. Runs inside the pass purchase's transaction, which holds
    every covered session's place or none: a session without a free place in the zone
    raises PlacesUnavailable and the caller's transaction rolls back whole. The pass's
    on-sale window and limit replace the session's (checked by the caller).
    """
    locks.require_transaction()
    if zone.session_id != session.pk:
        raise ScopeInvalid(details={"zone": zone.pk})
    hold = Hold.objects.create(
        session=session,
        user=user,
        channel=None,
        quantity=1,
        created_at=now,
        expires_at=expires_at,
    )
    candidates = (
        InventoryUnit.objects.filter(session=session, zone=zone, channel__isnull=True)
        .filter(holdable(now))
        .order_by("id")
    )
    taken = _take_first(hold=hold, candidates=candidates, quantity=1, now=now)
    if taken is None:
        raise PlacesUnavailable(details={"session": session.pk, "zone": zone.pk})
    Hold.objects.filter(pk=hold.pk).update(status=HoldStatus.ORDERED)
    hold.status = HoldStatus.ORDERED
    _audit_hold(hold, unit_ids=taken, how="pass", now=now)
    return hold


# -- places set aside for group and box sales (tessera.groupsales) ----------------------------

# A box's places keep this unit expiry while a buyer holds them: an expired box hold's places
# are never "free to anyone" (the lazy-expiry predicate), so no other hold path takes part of a
# box; ``restore_reserved_units`` sets them aside again once the box hold has run out.
RESERVED_HOLD_UNTIL = datetime(2999, 1, 1, tzinfo=UTC)


def hold_for_group(
    *, session: Session, user, zone: PriceZone, quantity: int, expires_at: datetime, now: datetime
) -> Hold:
    """``quantity`` free places of ``zone`` (open pool, id order) held for a group's contact
    until ``expires_at`` (the quote's payment deadline): a long hold, past the per-order and
    per-account limits (the organizer quoted it). It cannot be extended. Runs inside the
    caller's transaction. Raises ScopeInvalid, InvalidInput or PlacesUnavailable (nothing
    held)."""
    locks.require_transaction()
    if zone.session_id != session.pk:
        raise ScopeInvalid(details={"zone": zone.pk})
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 5000:
        raise InvalidInput(details={"quantity": "1 to 5000 places"})
    hold = Hold.objects.create(
        session=session,
        user=user,
        quantity=quantity,
        created_at=now,
        expires_at=expires_at,
        extensions=1,
    )
    candidates = (
        InventoryUnit.objects.filter(session=session, zone=zone, channel__isnull=True)
        .filter(holdable(now))
        .order_by("id")
    )
    taken = _take_first(hold=hold, candidates=candidates, quantity=quantity, now=now)
    if taken is None:
        raise too_few_places(quantity, zone_id=zone.pk)
    _audit_hold(hold, unit_ids=taken, how="group", now=now)
    return hold


def hold_reserved_units(
    *,
    session: Session,
    user,
    unit_ids: Iterable[int],
    reason: str,
    now: datetime,
    admission_pass: str | None = None,
) -> Hold:
    """Every place set aside under ``reason`` (blocked with that reason: a box), held for
    ``user`` in one conditional UPDATE, all or none. Places still held by a box hold that
    has run out are taken over (as any expired hold's places are). The hold runs
    ``hold_minutes`` and cannot be extended; its places carry ``RESERVED_HOLD_UNTIL`` so
    they never become free one by one. The session's hold guards apply (waiting room …);
    the per-order limit does not (the places are one sellable unit). Raises NotOnSale,
    the guards' errors or PlacesUnavailable."""
    ids = _unit_id_list(unit_ids)
    if session.event.status != EventStatus.PUBLISHED or not session.is_on_sale(now):
        raise NotOnSale()
    check_admission(session=session, user=user, admission_pass=admission_pass, now=now)
    with transaction.atomic():
        hold = Hold.objects.create(
            session=session,
            user=user,
            quantity=len(ids),
            created_at=now,
            expires_at=now + timedelta(minutes=session.hold_minutes),
            extensions=1,
        )
        lapsed = Hold.objects.filter(session=session, expires_at__lt=now).exclude(
            status=HoldStatus.SOLD
        )
        try:
            with transaction.atomic():
                taken = (
                    InventoryUnit.objects.filter(session=session, id__in=ids)
                    .filter(
                        Q(status=UnitStatus.BLOCKED, block_reason=reason)
                        | Q(status=UnitStatus.HELD, hold__in=lapsed.values("id"))
                    )
                    .update(
                        status=UnitStatus.HELD,
                        hold=hold,
                        hold_expires_at=RESERVED_HOLD_UNTIL,
                        block_reason=reason,
                    )
                )
                if taken != len(ids):
                    raise _Shortfall
        except _Shortfall:
            raise PlacesUnavailable(details={"unit_ids": ids}) from None
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != _DEADLOCK:
                raise
            raise PlacesUnavailable(details={"unit_ids": ids}) from None
        _audit_hold(hold, unit_ids=ids, how="reserved", now=now)
    return hold


def reserve_units(
    *, session: Session, unit_ids: Iterable[int], reason: str, actor, now: datetime
) -> int:
    """Set places aside under ``reason`` (a box put on sale as a whole), all or none:
    every one must be free (available, or held by an expired ordinary hold) or already set
    aside under ``reason``. Returns how many changed. Raises PlacesUnavailable otherwise
    (nothing changes)."""
    ids = _unit_id_list(unit_ids)
    with transaction.atomic():
        already = InventoryUnit.objects.filter(
            session=session, id__in=ids, status=UnitStatus.BLOCKED, block_reason=reason
        ).count()
        changed = (
            InventoryUnit.objects.filter(session=session, id__in=ids)
            .filter(holdable(now))
            .exclude(hold_expires_at=RESERVED_HOLD_UNTIL)
            .update(status=UnitStatus.BLOCKED, block_reason=reason, hold=None, hold_expires_at=None)
        )
        if already + changed != len(ids):
            raise PlacesUnavailable(details={"unit_ids": ids})
        if changed:
            _availability_changed(session.pk)
            audit.record(
                action="inventory.units_reserved",
                obj=session,
                actor=actor,
                organization_id=session.event.organization_id,
                now=now,
                data={"units": ids, "reason": reason},
            )
    return changed


def restore_reserved_units(*, session_id: int, unit_ids: Iterable[int], reason: str, now) -> int:
    """Places of ``unit_ids`` that came back (available again after a refund or a release,
    or still held by a box hold that has run out) are set aside under ``reason`` again.
    Runs inside the caller's transaction (a ``PLACES_RETURNED_HOOKS`` hook, or a periodic
    task). Returns how many changed."""
    locks.require_transaction()
    ids = _unit_id_list(unit_ids)
    # an ordered hold keeps its places a while after expiry, for a late payment (as tidying)
    lapsed = Hold.objects.filter(session_id=session_id).filter(
        Q(status=HoldStatus.ACTIVE, expires_at__lt=now)
        | Q(status=HoldStatus.ORDERED, expires_at__lt=now - ORDERED_GRACE)
        | Q(status=HoldStatus.RELEASED)
    )
    changed = (
        InventoryUnit.objects.filter(session_id=session_id, id__in=ids)
        .filter(
            Q(status=UnitStatus.AVAILABLE) | Q(status=UnitStatus.HELD, hold__in=lapsed.values("id"))
        )
        .update(status=UnitStatus.BLOCKED, block_reason=reason, hold=None, hold_expires_at=None)
    )
    if changed:
        _availability_changed(session_id)
    return changed


def release_reserved_units(*, session: Session, reason: str, actor, now: datetime) -> int:
    """Places set aside under ``reason`` go back on sale one by one (a box taken off sale as
    a whole). Returns how many."""
    with transaction.atomic():
        freed = InventoryUnit.objects.filter(
            session=session, status=UnitStatus.BLOCKED, block_reason=reason
        ).update(status=UnitStatus.AVAILABLE, block_reason="")
        if freed:
            _availability_changed(session.pk)
            _places_returned(session.pk, now)
        audit.record(
            action="inventory.units_unreserved",
            obj=session,
            actor=actor,
            organization_id=session.event.organization_id,
            now=now,
            data={"reason": reason, "freed": freed},
        )
    return freed
