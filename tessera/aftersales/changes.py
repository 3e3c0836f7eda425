"""Changes to a whole session by its organizer: cancel (every paid order refunded in full,
tickets revoked), postpone (a new date, or "to be announced"; tickets re-dated; each fan
may take a full refund instead until a deadline the organizer sets) and move to another
venue (places mapped to the new layout by price zone and mapped section, tickets reissued
for their new places; a full refund offered until a deadline, as for a postponement).

A change is started in one transaction (``start_cancellation`` / ``start_postponement``):
the session is cancelled or moved at once (no further sale of the old terms), and one
``SessionChangeOrder`` marker is written per order it concerns. The orders are then dealt
with in the background, in batches (``tasks.run_session_change``, ``BATCH_ORDERS`` orders
per task, each task enqueuing the next): a batch in one transaction that also marks its
markers done and counts them on the change (a cancellation's plain paid orders refunded in
a few statements, ``services.refund_orders_in_full_batch``; a failing batch is halved down
to order by order, each order then in a transaction of its own). So

- a worker killed halfway loses at most the batch it was in (rolled back, still pending);
  the task goes back to the queue (the workers' lease) and resumes with the pending
  markers: no order is refunded twice;
- running the same change again finds no pending marker and changes nothing;
- starting the same change twice (same session, kind and date) returns the first one
  (``SessionChange.key``);
- an order that cannot be dealt with (a ticket used at the gate, a ticket being
  transferred…) is marked failed with the reason, listed in the back office and can be
  retried (``retry_failed``).

Transactions and locks (the refund's order, ``services`` R2, with the marker after the
order):
  C1  start: session (``catalog``'s lock) → the change row (unique key) → markers (INSERT).
  C2  a batch (or one order): its orders (ascending id) → their markers (``pending``
      checked) → [R2 for all of them when refunding: places, tickets, attendance; a move:
      the new places (ascending id), then the tickets; a postponement: the tickets] → the
      change's counters (one UPDATE) → commit.
  C3  the fan's refund after a postponement: order → marker → R2.

The fans: what each must be told is read from the markers (``fan_notices``); the
notifications app calls ``notify_fans`` with its sender (``settings.SESSION_CHANGE_NOTIFIER``
names it, called after each batch), which marks what was sent. The event and order pages
read the change (``selectors.session_notice``, ``order_notice``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from tessera.aftersales import services
from tessera.aftersales.errors import (
    ChangeDateInvalid,
    ChangeNotAllowed,
    MoveInvalid,
    MoveShortfall,
    NoPlaceInNewLayout,
    NoRefundOffered,
    ReasonRequired,
)
from tessera.aftersales.models import (
    ChangeKind,
    ChangeStatus,
    Initiator,
    MarkerStatus,
    SessionChange,
    SessionChangeOrder,
)
from tessera.catalog import services as catalog
from tessera.catalog.models import Event, PriceZone, Session, SessionStatus
from tessera.core import audit, locks
from tessera.core.errors import DomainError
from tessera.inventory import services as inventory
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.orders import services as orders
from tessera.orders.models import LineStatus, Order, OrderLine, OrderStatus
from tessera.tickets import services as tickets
from tessera.tickets.models import Ticket, TicketStatus
from tessera.venues.models import Layout, Section, SectionKind

logger = logging.getLogger(__name__)

BATCH_ORDERS = 200
INSERT_BATCH = 2000
FAILURES_SHOWN = 50
UNPAID_STATES = (OrderStatus.PENDING_PAYMENT,)


# -- starting a change ---------------------------------------------------------------------------


def _clean_reason(reason) -> str:
    if not isinstance(reason, str):
        raise ReasonRequired()
    text = reason.replace("\x00", "").strip()
    if not text or len(text) > services.REASON_MAX:
        raise ReasonRequired(details={"reason": "too_long" if text else "required"})
    return text


def _parts() -> tuple:
    """Apps that deal with some of a changed session's places themselves
    (``settings.SESSION_CHANGE_PARTS``: modules with ``excluded_orders()``, the orders left
    out of the markers; ``start(change=, now=)`` in the starting transaction, which adds
    what it will deal with to the change's total or refuses the change; ``run(change=,
    now=, limit=)`` after each batch, returning what is left; it counts what it did on the
    change in its own transactions). The passes: a pass order covers several sessions."""
    return tuple(import_module(path) for path in getattr(settings, "SESSION_CHANGE_PARTS", ()))


def _orders_concerned(session_id: int, kind: str):
    states = list(orders.REFUNDABLE_ORDER_STATES)
    if kind == ChangeKind.CANCEL:
        states += list(UNPAID_STATES)
    found = Order.objects.filter(session_id=session_id, status__in=states)
    for part in _parts():
        found = found.exclude(pk__in=part.excluded_orders())
    return found


def _add_markers(change: SessionChange) -> int:
    """Markers for the session's orders the change concerns that have none yet; returns how
    many were added (and counts them on the change)."""
    known = set(SessionChangeOrder.objects.filter(change=change).values_list("order_id", flat=True))
    ids = [
        pk
        for pk in _orders_concerned(change.session_id, change.kind)
        .order_by("pk")
        .values_list("pk", flat=True)
        if pk not in known
    ]
    SessionChangeOrder.objects.bulk_create(
        (SessionChangeOrder(change=change, order_id=pk) for pk in ids), batch_size=INSERT_BATCH
    )
    if ids:
        SessionChange.objects.filter(pk=change.pk).update(total=F("total") + len(ids))
    return len(ids)


def _start(
    *,
    session: Session,
    kind: str,
    key: str,
    actor,
    reason: str,
    now: datetime,
    new_starts_at: datetime | None = None,
    refund_until: datetime | None = None,
    move: dict | None = None,
) -> SessionChange:
    existing = SessionChange.objects.filter(key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            locked = locks.lock_rows(Session.objects).select_related("event").get(pk=session.pk)
            existing = SessionChange.objects.filter(key=key).first()
            if existing is not None:
                return existing
            if locked.status == SessionStatus.CANCELLED:
                raise ChangeNotAllowed(details={"session": "cancelled"})
            if SessionChange.objects.filter(session=locked, status=ChangeStatus.RUNNING).exists():
                raise ChangeNotAllowed(details={"session": "change_running"})
            change = SessionChange.objects.create(
                session=locked,
                kind=kind,
                key=key,
                reason=reason,
                previous_starts_at=locked.starts_at,
                new_starts_at=new_starts_at,
                refund_until=refund_until,
                created_by=actor if getattr(actor, "pk", None) else None,
                created_at=now,
                previous_layout_id=locked.layout_id if move else None,
                new_layout=move["layout"] if move else None,
                section_map={str(k): v for k, v in move["section_map"].items()} if move else {},
            )
            if kind == ChangeKind.MOVE:
                _check_room(locked, move)
                catalog.move_session(
                    session=locked,
                    layout=move["layout"],
                    zone_by_section=move["zones"],
                    actor=actor,
                    now=now,
                    reason=reason,
                )
                inventory.open_units_of_new_layout(session=locked, now=now, actor=actor)
            elif kind == ChangeKind.CANCEL:
                # the guard (services.refuse_sessions_with_paid_orders) sees the change row
                catalog.cancel_session(session=locked, actor=actor, now=now, reason=reason)
            else:
                catalog.postpone_session(
                    session=locked, actor=actor, now=now, starts_at=new_starts_at, reason=reason
                )
            _add_markers(change)
            for part in _parts():
                part.start(change=change, now=now)
            audit.record(
                action=f"session.change.{kind}",
                obj=change,
                actor=actor,
                organization_id=locked.event.organization_id,
                now=now,
                data={
                    "session": locked.pk,
                    "new_starts_at": new_starts_at.isoformat() if new_starts_at else None,
                    "refund_until": refund_until.isoformat() if refund_until else None,
                    "reason": reason,
                },
            )
            enqueue(change.pk)
    except IntegrityError:
        # the same change started at the same moment elsewhere: the first one stands
        existing = SessionChange.objects.filter(key=key).first()
        if existing is None:
            raise
        return existing
    return SessionChange.objects.get(pk=change.pk)


def start_cancellation(*, session: Session, actor, reason: str, now: datetime) -> SessionChange:
    """Cancel the session: it is cancelled at once (off sale) and a background job refunds
    every paid order in full (no fee, whatever the policy), revokes its tickets and cancels
    unpaid orders. Starting it again returns the same change. Raises ReasonRequired,
    ChangeNotAllowed (already cancelled, or another change still running)."""
    reason = _clean_reason(reason)
    return _start(
        session=session,
        kind=ChangeKind.CANCEL,
        key=f"cancel:{session.pk}",
        actor=actor,
        reason=reason,
        now=now,
    )


def start_postponement(
    *,
    session: Session,
    actor,
    reason: str,
    new_starts_at: datetime | None,
    refund_until: datetime | None,
    now: datetime,
) -> SessionChange:
    """Postpone the session to ``new_starts_at`` (None: the date is to be announced; the
    session is off sale until then). Its tickets stay valid and are re-dated (a new
    credential version for the new date; the old one is revoked). Until ``refund_until``
    (None: no refund offered) each fan may take a full refund instead
    (``refund_after_change``). Starting the same postponement again returns it.

    Raises ReasonRequired, ChangeDateInvalid (a date in the past, a deadline in the past),
    ChangeNotAllowed, and the session rules' errors of ``catalog.postpone_session``.
    """
    reason = _clean_reason(reason)
    for value in (new_starts_at, refund_until):
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise ChangeDateInvalid()
    if new_starts_at is not None and new_starts_at <= now:
        raise ChangeDateInvalid(details={"new_starts_at": "past"})
    if refund_until is not None and refund_until <= now:
        raise ChangeDateInvalid(details={"refund_until": "past"})
    when = new_starts_at.isoformat() if new_starts_at else "tba"
    return _start(
        session=session,
        kind=ChangeKind.POSTPONE,
        key=f"postpone:{session.pk}:{when}"[:120],
        actor=actor,
        reason=reason,
        now=now,
        new_starts_at=new_starts_at,
        refund_until=refund_until,
    )


def _zone_capacity(layout: Layout, zone_by_section: dict[int, PriceZone]) -> dict[int, int]:
    """Places per section of the new layout that the zones put on sale (seats, or the
    capacity of a standing section)."""
    sections = Section.objects.filter(layout=layout, pk__in=list(zone_by_section)).annotate(
        seat_count=Count("seats")
    )
    return {
        s.pk: (s.capacity if s.kind == SectionKind.STANDING else s.seat_count) for s in sections
    }


def _check_room(session: Session, move: dict) -> None:
    """Refuse the move up front when the new layout has fewer places in a price zone (or a
    mapped section) than places sold in it; the error lists each shortfall."""
    zones: dict[int, PriceZone] = move["zones"]
    capacity = _zone_capacity(move["layout"], zones)
    sold = list(
        InventoryUnit.objects.filter(session_id=session.pk, status=UnitStatus.SOLD).values_list(
            "zone_id", "section_id"
        )
    )
    sold_by_zone: dict[int, int] = {}
    sold_by_target: dict[int, int] = {}
    for zone_id, section_id in sold:
        sold_by_zone[zone_id] = sold_by_zone.get(zone_id, 0) + 1
        target = move["section_map"].get(section_id)
        if target is not None:
            sold_by_target[target] = sold_by_target.get(target, 0) + 1
    room_by_zone: dict[int, int] = {}
    for section_id, zone in zones.items():
        room_by_zone[zone.pk] = room_by_zone.get(zone.pk, 0) + capacity.get(section_id, 0)
    names = {z.pk: z for z in PriceZone.objects.filter(session_id=session.pk)}
    sections = {x.pk: x for x in Section.objects.filter(layout=move["layout"])}
    short = []
    details: dict = {}
    for zone_id, count in sorted(sold_by_zone.items()):
        room = room_by_zone.get(zone_id, 0)
        if count > room:
            label = names[zone_id].display_name
            short.append(
                _("%(zone)s: %(sold)s sold, %(room)s places")
                % {"zone": label, "sold": count, "room": room}
            )
            details[f"zone:{names[zone_id].code}"] = {"sold": count, "places": room}
    for target, count in sorted(sold_by_target.items()):
        room = capacity.get(target, 0)
        if count > room:
            short.append(
                _("section %(section)s: %(sold)s mapped, %(room)s places")
                % {"section": sections[target].display_name, "sold": count, "room": room}
            )
            details[f"section:{sections[target].code}"] = {"sold": count, "places": room}
    if short:
        raise MoveShortfall(
            _("The new layout has fewer places than tickets sold: %(list)s.")
            % {"list": "; ".join(short)},
            details=details,
        )


def start_move(
    *,
    session: Session,
    layout: Layout,
    zones: dict[int, int],
    section_map: dict[int, int] | None,
    refund_until: datetime | None,
    actor,
    reason: str,
    now: datetime,
) -> SessionChange:
    """Move the session to ``layout`` (another venue's): ``zones`` puts each section of the
    new layout (id) into a price zone of the session (id); ``section_map`` (old section id →
    new section id, optional) says where the places of an old section go. The session is
    moved at once (the old layout's unsold places withdrawn, the new one's made and kept for
    the ticket holders: no buyer can take them until the job is done, then they go on sale,
    the waiting list first), then a
    background job moves every paid order's places to the new layout, its groups kept
    adjacent where it can, and reissues its tickets (a new credential version carrying the
    new place; the old one revoked, refused at the gate). Until ``refund_until`` (None: no
    refund offered) each fan may take a full refund instead (``refund_after_change``).
    Starting the same move again returns it.

    Raises ReasonRequired, MoveInvalid (a layout of the same session, an unknown section or
    zone), ChangeDateInvalid (a deadline in the past), MoveShortfall (fewer places in a zone
    or mapped section than sold: nothing changes), ChangeNotAllowed."""
    reason = _clean_reason(reason)
    if not isinstance(layout, Layout) or layout.pk == session.layout_id:
        raise MoveInvalid(details={"layout": "same_or_unknown"})
    if refund_until is not None and (
        not isinstance(refund_until, datetime) or refund_until.tzinfo is None
    ):
        raise ChangeDateInvalid()
    if refund_until is not None and refund_until <= now:
        raise ChangeDateInvalid(details={"refund_until": "past"})
    new_sections = set(Section.objects.filter(layout=layout).values_list("pk", flat=True))
    session_zones = {z.pk: z for z in PriceZone.objects.filter(session_id=session.pk)}
    try:
        zones = {int(k): int(v) for k, v in (zones or {}).items()}
        section_map = {int(k): int(v) for k, v in (section_map or {}).items()}
    except (TypeError, ValueError):
        raise MoveInvalid(details={"zones": "integers"}) from None
    if not zones or any(k not in new_sections or v not in session_zones for k, v in zones.items()):
        raise MoveInvalid(details={"zones": "unknown"})
    old_sections = set(
        Section.objects.filter(layout_id=session.layout_id).values_list("pk", flat=True)
    )
    if any(k not in old_sections or v not in zones for k, v in section_map.items()):
        raise MoveInvalid(details={"section_map": "unknown"})
    return _start(
        session=session,
        kind=ChangeKind.MOVE,
        key=f"move:{session.pk}:{layout.pk}",
        actor=actor,
        reason=reason,
        now=now,
        refund_until=refund_until,
        move={
            "layout": layout,
            "zones": {k: session_zones[v] for k, v in zones.items()},
            "section_map": section_map,
        },
    )


def start_event_cancellation(
    *, event: Event, actor, reason: str, now: datetime
) -> list[SessionChange]:
    """Cancel every session of the event that is not cancelled yet (``start_cancellation``
    each), then the event itself."""
    reason = _clean_reason(reason)
    started = [
        start_cancellation(session=session, actor=actor, reason=reason, now=now)
        for session in event.sessions.exclude(status=SessionStatus.CANCELLED).order_by("pk")
    ]
    catalog.cancel_event(event=event, actor=actor, now=now, reason=reason)
    return started


# A change's batches go ahead of the provider refunds their batches opened (where the task
# backend orders by priority): the orders are refunded, their tickets revoked and the fans
# told first; the money follows at the provider's pace (one refund task per batch).
JOB_PRIORITY = 10


def enqueue(change_id: int) -> None:
    """Hand the change's next batch to the workers once the caller's transaction commits."""
    from tessera.aftersales.tasks import run_session_change

    task = run_session_change
    if task.get_backend().supports_priority:
        task = task.using(priority=JOB_PRIORITY)
    transaction.on_commit(lambda: task.enqueue(change_id))


# -- the job ------------------------------------------------------------------------------------


def _cancel(order: Order, change: SessionChange, now: datetime) -> str:
    actor = change.created_by
    if order.status in orders.REFUNDABLE_ORDER_STATES:
        services.refund_order_in_full(order=order, actor=actor, reason=change.reason, now=now)
        return "refunded"
    if order.status in UNPAID_STATES:
        orders.cancel_order(order=order, actor=actor, reason=change.reason, now=now)
        return "cancelled"
    return "unchanged"


def _postpone(order: Order, change: SessionChange, now: datetime) -> str:
    if order.status not in orders.REFUNDABLE_ORDER_STATES:
        return "unchanged"
    if change.new_starts_at is None:
        return "kept"  # nothing to re-date yet: the tickets are re-dated when the date is set
    found = locks.lock_rows(
        Ticket.objects.filter(order_line__order=order, status=TicketStatus.VALID)
    ).order_by("pk")
    for ticket in found:
        tickets.reissue_ticket(
            ticket=ticket,
            holder_name=ticket.holder_name or order.number,
            now=now,
            actor=change.created_by,
        )
    return "redated"


APPLY = {ChangeKind.CANCEL: _cancel, ChangeKind.POSTPONE: _postpone}


def _apply(marker_id: int, order_id: int, change: SessionChange, now: datetime) -> bool:
    """C2: deal with one order; False when another run already did."""
    with transaction.atomic():
        order = locks.lock_rows(Order.objects).get(pk=order_id)
        marker = locks.lock_rows(SessionChangeOrder.objects).get(pk=marker_id)
        if marker.status != MarkerStatus.PENDING:
            return False
        marker.outcome = APPLY[change.kind](order, change, now)
        marker.status = MarkerStatus.DONE
        marker.attempts += 1
        marker.finished_at = now
        marker.error_code = marker.error_message = ""
        marker.save(
            update_fields=[
                "outcome",
                "status",
                "attempts",
                "finished_at",
                "error_code",
                "error_message",
            ]
        )
        SessionChange.objects.filter(pk=change.pk).update(done=F("done") + 1)
    return True


def _fail(marker_id: int, order_id: int, change: SessionChange, error: DomainError, now) -> None:
    with transaction.atomic():
        locks.lock_rows(Order.objects).get(pk=order_id)
        marker = locks.lock_rows(SessionChangeOrder.objects).get(pk=marker_id)
        if marker.status != MarkerStatus.PENDING:
            return
        marker.status = MarkerStatus.FAILED
        marker.attempts += 1
        marker.finished_at = now
        marker.error_code = error.code[:60]
        marker.error_message = str(error.message)[:500]
        marker.save(
            update_fields=["status", "attempts", "finished_at", "error_code", "error_message"]
        )
        SessionChange.objects.filter(pk=change.pk).update(failed=F("failed") + 1)


def _postpone_batch(pending: list[tuple[int, int]], change: SessionChange, now) -> None:
    """C2 for a whole batch of a postponement in one transaction: the orders (ascending id),
    their pending markers, every valid ticket re-dated in a few statements
    (``tickets.redate_tickets``), the markers done, the change's counter. Raises what
    ``redate_tickets`` raises, with nothing changed."""
    with transaction.atomic():
        statuses = dict(
            locks.lock_rows(Order.objects.filter(pk__in=[order for _m, order in pending]))
            .order_by("pk")
            .values_list("pk", "status")
        )
        markers = list(
            locks.lock_rows(
                SessionChangeOrder.objects.filter(
                    pk__in=[marker for marker, _o in pending], status=MarkerStatus.PENDING
                )
            )
            .order_by("pk")
            .values_list("pk", "order_id")
        )
        if not markers:
            return
        live = {o for _m, o in markers if statuses.get(o) in orders.REFUNDABLE_ORDER_STATES}
        if change.new_starts_at is not None and live:
            tickets.redate_tickets(order_ids=sorted(live), now=now, actor=change.created_by)
        by_outcome: dict[str, list[int]] = {}
        for marker_id, order_id in markers:
            if order_id not in live:
                outcome = "unchanged"
            else:
                outcome = "redated" if change.new_starts_at is not None else "kept"
            by_outcome.setdefault(outcome, []).append(marker_id)
        for outcome, ids in by_outcome.items():
            SessionChangeOrder.objects.filter(pk__in=ids).update(
                status=MarkerStatus.DONE,
                outcome=outcome,
                attempts=F("attempts") + 1,
                finished_at=now,
                error_code="",
                error_message="",
            )
        SessionChange.objects.filter(pk=change.pk).update(done=F("done") + len(markers))


SPLIT_BELOW = 8


def _cancel_batch(pending: list[tuple[int, int]], change: SessionChange, now) -> list:
    """C2 for a whole batch of a cancellation in one transaction: the orders (ascending id),
    their pending markers, every plain paid order refunded in full in a few statements
    (``services.refund_orders_in_full_batch``), the markers done, the change's counter.
    Returns the (marker, order) pairs left to ``_apply`` one by one (unpaid orders, orders
    with a request waiting or from an exchange). Raises what the batch refund raises for any
    of its orders, with nothing changed."""
    with transaction.atomic():
        found = {
            order.pk: order
            for order in locks.lock_rows(
                Order.objects.filter(pk__in=[order for _m, order in pending])
            ).order_by("pk")
        }
        markers = list(
            locks.lock_rows(
                SessionChangeOrder.objects.filter(
                    pk__in=[marker for marker, _o in pending], status=MarkerStatus.PENDING
                )
            )
            .order_by("pk")
            .values_list("pk", "order_id")
        )
        if not markers:
            return []
        paid = [o for _m, o in markers if found[o].status in orders.REFUNDABLE_ORDER_STATES]
        alone = services.orders_needing_one_by_one(paid) | {
            o for _m, o in markers if found[o].status in UNPAID_STATES
        }
        bulk = [o for o in paid if o not in alone]
        if bulk:
            session = Session.objects.select_related("event").get(pk=change.session_id)
            services.refund_orders_in_full_batch(
                orders_=[found[o] for o in bulk],
                session=session,
                actor=change.created_by,
                reason=change.reason,
                now=now,
            )
        bulk_set = set(bulk)
        by_outcome: dict[str, list[int]] = {}
        for marker_id, order_id in markers:
            if order_id in alone:
                continue
            outcome = "refunded" if order_id in bulk_set else "unchanged"
            by_outcome.setdefault(outcome, []).append(marker_id)
        done = 0
        for outcome, ids in by_outcome.items():
            done += SessionChangeOrder.objects.filter(pk__in=ids).update(
                status=MarkerStatus.DONE,
                outcome=outcome,
                attempts=F("attempts") + 1,
                finished_at=now,
                error_code="",
                error_message="",
            )
        if done:
            SessionChange.objects.filter(pk=change.pk).update(done=F("done") + done)
    return [(m, o) for m, o in markers if o in alone]


def _cancel_in_parts(pending: list[tuple[int, int]], change: SessionChange, now) -> list:
    """``_cancel_batch``, halving a batch that fails until the parts are small, so one order
    at fault costs a few small batches, not the whole batch order by order. Returns the
    pairs left to ``_apply`` one by one (those of the small failing parts included)."""
    try:
        return _cancel_batch(pending, change, now)
    except DomainError:
        if len(pending) <= SPLIT_BELOW:
            return pending
    middle = len(pending) // 2
    return _cancel_in_parts(pending[:middle], change, now) + _cancel_in_parts(
        pending[middle:], change, now
    )


ADJACENT_LOOKAHEAD = 400


@dataclass
class _Free:
    """The new layout's free places of one zone (or one section of it), in seating order,
    as (unit id, row id, position); ``start`` skips the front already taken."""

    places: list[tuple[int, int | None, int | None]]
    start: int = 0


def _pick(free: _Free, count: int, taken: set[int]) -> list[int] | None:
    """``count`` free places, side by side in one row when such a run starts within the
    next ``ADJACENT_LOOKAHEAD`` places, else the first ``count`` free ones; None when fewer
    are left."""
    places = free.places
    while free.start < len(places) and places[free.start][0] in taken:
        free.start += 1
    end = min(len(places), free.start + ADJACENT_LOOKAHEAD)
    run: list[int] = []
    previous = None
    for i in range(free.start, end):
        unit_id, row_id, position = places[i]
        if unit_id in taken:
            run, previous = [], None
            continue
        if (
            previous is not None
            and row_id is not None
            and row_id == previous[0]
            and position == previous[1] + 1
        ):
            run.append(unit_id)
        else:
            run = [unit_id]
        previous = (row_id, position)
        if len(run) == count:
            return run
    chosen = [p[0] for p in places[free.start :] if p[0] not in taken][:count]
    return chosen if len(chosen) == count else None


def move_lines(
    *, change: SessionChange, lines: list[tuple[int, int, int, int]], groups: list[int], now
) -> tuple[dict[int, int], list[int]]:
    """Move these sold lines of the changed session to the new layout, inside the caller's
    transaction (which holds their orders' locks). ``lines``: (line id, group, zone id, old
    section id); a group (an order, or a pass's entry) gets places together or none, groups
    served in the order of ``groups``. Each line goes to a free place of its zone (in the
    mapped section when the organizer gave one; a group's places of one zone side by side
    where a run is free): the places moved (``inventory.move_sold_places``), the lines
    relabelled, the tickets reissued for their new places. Returns (line id → new unit,
    groups for which no place was left). Raises what the reissue raises."""
    section_map = {int(k): v for k, v in (change.section_map or {}).items()}
    free_rows = (
        InventoryUnit.objects.filter(
            inventory.moving_or_available(),
            session_id=change.session_id,
            section__layout_id=change.new_layout_id,
            zone_id__in={zone for _l, _g, zone, _s in lines},
        )
        .order_by("pk")
        .values_list("pk", "zone_id", "section_id", "seat__row_id", "seat__position")
    )
    by_zone: dict[int, _Free] = {}
    by_section: dict[tuple[int, int], _Free] = {}
    for pk, zone_id, section_id, row_id, position in free_rows:
        by_zone.setdefault(zone_id, _Free([])).places.append((pk, row_id, position))
        by_section.setdefault((zone_id, section_id), _Free([])).places.append(
            (pk, row_id, position)
        )
    wanted: dict[int, dict[tuple, list[int]]] = {}
    for line_id, group, zone_id, section_id in lines:
        target = section_map.get(section_id)
        wanted.setdefault(group, {}).setdefault((zone_id, target), []).append(line_id)
    taken: set[int] = set()
    targets: dict[int, int] = {}
    no_place: list[int] = []
    for group in groups:
        chosen: dict[int, int] = {}
        for (zone_id, target), line_ids in wanted.get(group, {}).items():
            free = by_section.get((zone_id, target)) if target else by_zone.get(zone_id)
            picked = _pick(free, len(line_ids), taken | set(chosen.values())) if free else None
            if picked is None:
                chosen = {}
                no_place.append(group)
                break
            chosen.update(zip(line_ids, picked, strict=True))
        targets.update(chosen)
        taken.update(chosen.values())
    if targets:
        inventory.move_sold_places(session_id=change.session_id, targets=targets, now=now)
        places = {
            unit.pk: unit
            for unit in InventoryUnit.objects.filter(pk__in=list(targets.values())).select_related(
                "section", "seat__row"
            )
        }
        orders.relabel_lines(
            places={
                line_id: {
                    "unit_id": unit_id,
                    "section_code": places[unit_id].section.code,
                    "section_name": places[unit_id].section.display_name,
                    "row_label": places[unit_id].seat.row.label if places[unit_id].seat else "",
                    "seat_label": places[unit_id].seat.label if places[unit_id].seat else "",
                }
                for line_id, unit_id in targets.items()
            }
        )
        tickets.reissue_for_new_places(unit_by_line=targets, now=now, actor=change.created_by)
    return targets, no_place


def _move_batch(pending: list[tuple[int, int]], change: SessionChange, now) -> None:
    """C2 for a batch of a move in one transaction: the orders (ascending id), their pending
    markers, each paid order's places moved to free places of the new layout (its zone, and
    the mapped section when the organizer gave one; an order's places of one zone kept side
    by side where a run is free), the order lines relabelled, the tickets reissued for their
    new places; an order for which no place is left is marked failed (listed, retryable).
    Raises what the reissue raises, with nothing changed."""
    with transaction.atomic():
        statuses = dict(
            locks.lock_rows(Order.objects.filter(pk__in=[order for _m, order in pending]))
            .order_by("pk")
            .values_list("pk", "status")
        )
        markers = list(
            locks.lock_rows(
                SessionChangeOrder.objects.filter(
                    pk__in=[marker for marker, _o in pending], status=MarkerStatus.PENDING
                )
            )
            .order_by("pk")
            .values_list("pk", "order_id")
        )
        if not markers:
            return
        live = sorted(o for _m, o in markers if statuses.get(o) in orders.REFUNDABLE_ORDER_STATES)
        lines = list(
            OrderLine.objects.filter(order_id__in=live, status=LineStatus.ACTIVE)
            .exclude(unit__section__layout_id=change.new_layout_id)
            .order_by("order_id", "pk")
            .values_list("pk", "order_id", "zone_id", "unit__section_id")
        )
        _targets, no_place = move_lines(change=change, lines=lines, groups=live, now=now)
        failed = set(no_place)
        by_outcome: dict[str, list[int]] = {}
        for marker_id, order_id in markers:
            if order_id in failed:
                continue
            outcome = "moved" if order_id in statuses and order_id in set(live) else "unchanged"
            by_outcome.setdefault(outcome, []).append(marker_id)
        done = 0
        for outcome, ids in by_outcome.items():
            done += SessionChangeOrder.objects.filter(pk__in=ids).update(
                status=MarkerStatus.DONE,
                outcome=outcome,
                attempts=F("attempts") + 1,
                finished_at=now,
                error_code="",
                error_message="",
            )
        error = NoPlaceInNewLayout()
        failed_count = SessionChangeOrder.objects.filter(
            pk__in=[m for m, o in markers if o in failed]
        ).update(
            status=MarkerStatus.FAILED,
            attempts=F("attempts") + 1,
            finished_at=now,
            error_code=error.code,
            error_message=str(error.message)[:500],
        )
        SessionChange.objects.filter(pk=change.pk).update(
            done=F("done") + done, failed=F("failed") + failed_count
        )


def run_batch(*, change_id: int, now: datetime, limit: int | None = None) -> int:
    """Deal with up to ``limit`` pending orders of the change (default
    ``settings.SESSION_CHANGE_BATCH_ORDERS``); returns how many orders are still pending
    afterwards (0: the change is finished, see ``_finish``)."""
    limit = limit or getattr(settings, "SESSION_CHANGE_BATCH_ORDERS", BATCH_ORDERS)
    change = SessionChange.objects.select_related("created_by").get(pk=change_id)
    if change.status != ChangeStatus.RUNNING:
        return 0
    pending = list(
        SessionChangeOrder.objects.filter(change=change, status=MarkerStatus.PENDING)
        .order_by("order_id")
        .values_list("pk", "order_id")[:limit]
    )
    if change.kind == ChangeKind.POSTPONE and pending:
        try:
            _postpone_batch(pending, change, now)
            pending = []
        except DomainError:
            pass  # order by order below, so the order at fault is listed with its reason
    elif change.kind == ChangeKind.CANCEL and pending:
        pending = _cancel_in_parts(pending, change, now)
    elif change.kind == ChangeKind.MOVE and pending:
        try:
            _move_batch(pending, change, now)
        except DomainError:
            for pair in pending:  # order by order, so the order at fault is listed
                try:
                    _move_batch([pair], change, now)
                except DomainError as error:
                    _fail(pair[0], pair[1], change, error, now)
        pending = []
    for marker_id, order_id in pending:
        try:
            _apply(marker_id, order_id, change, now)
        except DomainError as error:
            _fail(marker_id, order_id, change, error, now)
    parts_left = sum(part.run(change=change, now=now, limit=limit) for part in _parts())
    _call_notifier(now)
    left = SessionChangeOrder.objects.filter(change=change, status=MarkerStatus.PENDING).count()
    if left == 0 and parts_left == 0:
        _finish(change, now)
        left = SessionChangeOrder.objects.filter(change=change, status=MarkerStatus.PENDING).count()
    return left + parts_left


def _finish(change: SessionChange, now: datetime) -> None:
    """Every marker is dealt with: orders that came in since the start (a payment completed
    meanwhile) get markers and the job goes on; otherwise the change is done (or done with
    failures)."""
    with transaction.atomic():
        locked = locks.lock_rows(SessionChange.objects).get(pk=change.pk)
        if locked.status != ChangeStatus.RUNNING:
            return
        if _add_markers(locked):
            return
        locked.refresh_from_db()
        if locked.kind == ChangeKind.MOVE:
            # every ticket holder has a place at the new venue: the rest go on sale
            inventory.open_moving_units(session_id=locked.session_id, now=now)
        locked.status = ChangeStatus.FAILED if locked.failed else ChangeStatus.DONE
        locked.finished_at = now
        locked.save(update_fields=["status", "finished_at"])
        audit.record(
            action="session.change.finished",
            obj=locked,
            actor=None,
            organization_id=locked.session.event.organization_id,
            now=now,
            data={"done": locked.done, "failed": locked.failed, "total": locked.total},
        )


def run_change(*, change_id: int, clock: Callable[[], datetime], limit: int | None = None) -> None:
    """Run the whole change in this process, batch after batch (tests, the bench, an
    operator's shell); the workers run it one batch per task."""
    while run_batch(change_id=change_id, now=clock(), limit=limit):
        pass


def retry_failed(*, change: SessionChange, actor, now: datetime) -> int:
    """Put the change's failed orders back in the queue and run the job again; returns how
    many. A change that is running goes on (a job lost after too many attempts restarts)."""
    with transaction.atomic():
        locked = locks.lock_rows(SessionChange.objects).get(pk=change.pk)
        count = SessionChangeOrder.objects.filter(change=locked, status=MarkerStatus.FAILED).update(
            status=MarkerStatus.PENDING, finished_at=None
        )
        locked.failed = max(locked.failed - count, 0)
        locked.status = ChangeStatus.RUNNING
        locked.finished_at = None
        locked.save(update_fields=["failed", "status", "finished_at"])
        audit.record(
            action="session.change.retried",
            obj=locked,
            actor=actor,
            organization_id=locked.session.event.organization_id,
            now=now,
            data={"orders": count},
        )
        enqueue(locked.pk)
    return count


# -- progress ------------------------------------------------------------------------------------


def progress(change: SessionChange) -> dict:
    """The change's progress as the back office's progress bar reads it."""
    change = SessionChange.objects.get(pk=change.pk)
    failures = list(
        SessionChangeOrder.objects.filter(change=change, status=MarkerStatus.FAILED)
        .select_related("order")
        .order_by("order_id")[:FAILURES_SHOWN]
    )
    handled = change.done + change.failed
    return {
        "id": change.pk,
        "kind": change.kind,
        "status": change.status,
        "status_label": str(change.get_status_display()),
        "total": change.total,
        "done": change.done,
        "failed": change.failed,
        "pending": max(change.total - handled, 0),
        "percent": 100 if not change.total else round(100 * handled / change.total, 1),
        "finished_at": change.finished_at.isoformat() if change.finished_at else None,
        "failures": [
            {
                "order": marker.order.number,
                "code": marker.error_code,
                "message": marker.error_message,
            }
            for marker in failures
        ],
    }


# -- the fan's refund after a postponement ---------------------------------------------------------


def refundable_change(order: Order, now: datetime) -> SessionChangeOrder | None:
    """The marker of the latest postponement of the order's session that still offers this
    order a full refund, if any."""
    marker = (
        SessionChangeOrder.objects.filter(
            order=order, change__kind__in=(ChangeKind.POSTPONE, ChangeKind.MOVE)
        )
        .select_related("change")
        .order_by("-change__created_at")
        .first()
    )
    if (
        marker is None
        or marker.refunded_at is not None
        or not marker.change.is_refund_open(now)
        or order.status not in orders.REFUNDABLE_ORDER_STATES
    ):
        return None
    return marker


def refund_after_change(*, order: Order, user, now: datetime) -> SessionChangeOrder:
    """C3: the fan takes the full refund a postponement offers (no fee; every ticket of the
    order still valid). Raises NoRefundOffered (none, or its deadline passed, or already
    taken), and what ``services.refund_order_in_full`` raises."""
    if order.user_id != getattr(user, "pk", None):
        raise orders.OrderNotFound()
    with transaction.atomic():
        locked = locks.lock_rows(Order.objects).get(pk=order.pk)
        found = refundable_change(locked, now)
        if found is None:
            raise NoRefundOffered()
        marker = locks.lock_rows(SessionChangeOrder.objects).get(pk=found.pk)
        if marker.refunded_at is not None:
            raise NoRefundOffered()
        services.refund_order_in_full(
            order=locked,
            actor=user,
            reason=_("Full refund after the session was moved")
            if found.change.kind == ChangeKind.MOVE
            else _("Full refund after the session was postponed"),
            now=now,
            initiator=Initiator.FAN,
        )
        marker.refunded_at = now
        marker.save(update_fields=["refunded_at"])
    return marker


# -- what fans must be told (the notifications' hook) -------------------------------------------


@dataclass(frozen=True)
class FanNotice:
    """One message to one fan: ``kind`` names the template, ``key`` makes it sent once."""

    marker_id: int
    recipient_id: int
    kind: str
    context: dict
    key: str


NOTICE_KINDS = {
    ("cancel", "refunded"): "session_cancelled_refunded",
    ("cancel", "cancelled"): "session_cancelled_order_cancelled",
    ("postpone", "redated"): "session_postponed",
    ("postpone", "kept"): "session_postponed_date_tba",
    ("move", "moved"): "session_moved",
}


def fan_notices(*, limit: int = 500) -> list[FanNotice]:
    """Fans not yet told of a change dealt with on their order (oldest first)."""
    markers = (
        SessionChangeOrder.objects.filter(
            status=MarkerStatus.DONE,
            notified_at__isnull=True,
            outcome__in={outcome for _kind, outcome in NOTICE_KINDS},
        )
        .select_related(
            "change", "order", "change__previous_layout__venue", "change__new_layout__venue"
        )
        .order_by("pk")[:limit]
    )
    found = []
    for marker in markers:
        kind = NOTICE_KINDS.get((marker.change.kind, marker.outcome))
        if kind is None or marker.order.user_id is None:
            continue
        change = marker.change
        found.append(
            FanNotice(
                marker_id=marker.pk,
                recipient_id=marker.order.user_id,
                kind=kind,
                context={
                    "order": marker.order.number,
                    "session": change.session_id,
                    "reason": change.reason,
                    "previous_starts_at": change.previous_starts_at.isoformat(),
                    "new_starts_at": change.new_starts_at.isoformat()
                    if change.new_starts_at
                    else None,
                    "refund_until": change.refund_until.isoformat()
                    if change.refund_until
                    else None,
                    **(
                        {
                            "previous_venue": change.previous_layout.venue.display_name,
                            "new_venue": change.new_layout.venue.display_name,
                        }
                        if change.kind == ChangeKind.MOVE
                        else {}
                    ),
                },
                key=f"session-change:{change.pk}:{marker.order_id}",
            )
        )
    return found


def notify_fans(*, send: Callable[[FanNotice], None], now: datetime, limit: int = 500) -> int:
    """THE HOOK for the notifications app: ``send`` is called once per fan to tell (it
    should itself be idempotent by ``notice.key``), then the marker is marked told. Returns
    how many were sent. ``settings.SESSION_CHANGE_NOTIFIER`` (a dotted path to such a
    ``send``) makes every batch of the job call it."""
    notices = fan_notices(limit=limit)
    send_many = getattr(send, "many", None)
    if send_many is not None and notices:
        # the sender's batch form (``send.many``): one call, then the markers in one UPDATE
        send_many(notices)
        SessionChangeOrder.objects.filter(
            pk__in=[notice.marker_id for notice in notices], notified_at__isnull=True
        ).update(notified_at=now)
        return len(notices)
    sent = 0
    for notice in notices:
        send(notice)
        SessionChangeOrder.objects.filter(pk=notice.marker_id, notified_at__isnull=True).update(
            notified_at=now
        )
        sent += 1
    return sent


def _call_notifier(now: datetime) -> None:
    path = getattr(settings, "SESSION_CHANGE_NOTIFIER", None)
    if not path:
        return
    try:
        notify_fans(send=import_string(path), now=now)
    except Exception:  # the fans are told on a later batch; the change goes on
        logger.exception("session change notifier failed")


# -- what the fan pages show ------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """A session change as a fan reads it on the event and order pages."""

    kind: str
    headline: str
    reason: str
    refund_until: datetime | None = None
    can_refund: bool = False
    refund_until_text: str = ""


def local_text(value: datetime | None, session: Session) -> str:
    """A date and time in the session's venue's zone, as "2027-01-08 19:30" ("" for None)."""
    if value is None:
        return ""
    return value.astimezone(session.layout.venue.zone_info).strftime("%Y-%m-%d %H:%M")


def notice_of(change: SessionChange, session: Session) -> Notice:
    if change.kind == ChangeKind.MOVE:
        headline = _(
            "Moved from %(old)s to %(new)s. Your tickets have new places, shown on your "
            "order; the tickets issued before no longer open the gates."
        ) % {
            "old": change.previous_layout.venue.display_name if change.previous_layout else "",
            "new": change.new_layout.venue.display_name if change.new_layout else "",
        }
    elif change.kind == ChangeKind.CANCEL:
        headline = _("This date is cancelled. Every ticket is refunded in full, without a fee.")
    elif change.new_starts_at is None:
        headline = _("Postponed from %(old)s; the new date is to be announced.") % {
            "old": local_text(change.previous_starts_at, session)
        }
    else:
        headline = _("Postponed from %(old)s to %(new)s. Tickets stay valid for the new date.") % {
            "old": local_text(change.previous_starts_at, session),
            "new": local_text(change.new_starts_at, session),
        }
    return Notice(
        kind=change.kind, headline=headline, reason=change.reason, refund_until=change.refund_until
    )


def session_notices(sessions) -> dict[int, Notice]:
    """The latest change of each of these sessions, as the event page shows it."""
    by_id = {session.pk: session for session in sessions}
    found: dict[int, Notice] = {}
    for change in SessionChange.objects.filter(session_id__in=list(by_id)).order_by(
        "session_id", "-created_at", "-pk"
    ):
        if change.session_id not in found:
            found[change.session_id] = notice_of(change, by_id[change.session_id])
    return found


def order_notice(order: Order, now: datetime) -> Notice | None:
    """The latest change of the order's session that concerns this order, with whether the
    fan may still take a full refund (a postponement's offer)."""
    marker = (
        SessionChangeOrder.objects.filter(order=order)
        .select_related("change")
        .order_by("-change__created_at", "-pk")
        .first()
    )
    if marker is None:
        return None
    session = Session.objects.select_related("layout__venue").get(pk=order.session_id)
    notice = notice_of(marker.change, session)
    can_refund = refundable_change(order, now) is not None
    return Notice(
        kind=notice.kind,
        headline=notice.headline,
        reason=notice.reason,
        refund_until=notice.refund_until if can_refund else None,
        can_refund=can_refund,
        refund_until_text=local_text(notice.refund_until, session) if can_refund else "",
    )


def event_notices(event) -> tuple[dict[int, Notice], list[tuple[Session, Notice]]]:
    """The event page's view of its sessions' changes, in one query: the latest change of
    each session by id, and the sessions cancelled through a change (listed apart: the
    catalog's public reads leave cancelled sessions out)."""
    found = (
        SessionChange.objects.filter(session__event=event)
        .select_related("session__layout__venue__city")
        .order_by("session__starts_at", "session_id", "-created_at", "-pk")
    )
    latest: dict[int, Notice] = {}
    cancelled = []
    for change in found:
        if change.session_id in latest:
            continue
        notice = notice_of(change, change.session)
        latest[change.session_id] = notice
        if change.kind == ChangeKind.CANCEL:
            cancelled.append((change.session, notice))
    return latest, cancelled
