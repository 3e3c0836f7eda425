"""The passes' part in a session change (``aftersales.changes``; ``settings.SESSION_CHANGE_PARTS``).

A pass order holds one line per covered session, so the change's job, which deals with
whole orders of the changed session, leaves pass orders out (``excluded_orders``) and asks
this part to deal with the pass entries of that session instead, batch after batch in the
same task (``run``):

- cancel: each entry still held is refunded its full share (no fee), its ticket revoked; an
  unpaid pass covering the session is cancelled; the pass stays valid for its other matches;
- postpone to a date: each entry's ticket gets its next credential version (the pass's QR
  code carries the new dates); "date to be announced" changes nothing until the date is set;
- move to another venue: each entry of a paid pass gets a place at the new venue by the
  move's own rules (price zone, mapped section; ``services.move_for_change``) and its ticket
  is reissued, so the pass's QR code carries the new place and the old one is refused.

Each entry is marked with the change (``PassEntry.last_change_id``) and counted on the
change in the transaction that deals with it: a killed worker's batch resumes and nothing
is done twice.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F

from tessera.aftersales.models import ChangeKind, SessionChange
from tessera.passes import services
from tessera.passes.models import EntryStatus, Pass, PassEntry, PassStatus

LIVE = (PassStatus.ACTIVE, PassStatus.PENDING)


def excluded_orders():
    """The orders this part deals with itself: every pass's order."""
    return Pass.objects.values("order_id")


def _todo(change: SessionChange):
    return (
        PassEntry.objects.filter(
            session_id=change.session_id,
            status=EntryStatus.ACTIVE,
            sold_pass__status__in=LIVE,
        )
        .exclude(last_change_id=change.pk)
        .order_by("pk")
    )


def _concerned(change: SessionChange) -> bool:
    return not (change.kind == ChangeKind.POSTPONE and change.new_starts_at is None)


def start(*, change: SessionChange, now: datetime) -> int:
    """In the change's starting transaction: how many entries the job will deal with
    (added to the change's total)."""
    count = _todo(change).count()
    if not _concerned(change):
        return 0
    if count:
        SessionChange.objects.filter(pk=change.pk).update(total=F("total") + count)
    return count


def run(*, change: SessionChange, now: datetime, limit: int) -> int:
    """Deal with up to ``limit`` entries; returns how many are left."""
    if not _concerned(change):
        return 0
    ids = list(_todo(change).values_list("pk", flat=True)[:limit])
    if ids:
        if change.kind == ChangeKind.CANCEL:
            services.refund_cancelled_session(entry_ids=ids, change_id=change.pk, now=now)
        elif change.kind == ChangeKind.POSTPONE:
            services.redate_for_change(entry_ids=ids, change_id=change.pk, now=now)
        elif change.kind == ChangeKind.MOVE:
            services.move_for_change(entry_ids=ids, change=change, now=now)
    return _todo(change).count()
