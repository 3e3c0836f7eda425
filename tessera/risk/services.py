"""Everything risk control writes: switches, decisions, review cases and their outcomes.

Each entry point is one transaction with its audit entry. Lock order of a review action:
the case row (``select_for_update``), then whatever ``aftersales.services.cancel_order``
takes for the order (order → tickets → attendance), then the account row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from tessera.accounts import services as accounts
from tessera.core import audit
from tessera.risk import state
from tessera.risk.errors import CaseClosed
from tessera.risk.models import (
    AccountBlock,
    AttackSource,
    CaseStatus,
    ReviewCase,
    RiskDecision,
    UnderAttack,
    UsedProof,
)


def _organization_of(*, session_id: int | None, room_id: int | None) -> int | None:
    if session_id is not None:
        from tessera.catalog.models import Session

        return (
            Session.objects.filter(pk=session_id)
            .values_list("event__organization_id", flat=True)
            .first()
        )
    from tessera.waitingroom.models import WaitingRoom

    return WaitingRoom.objects.filter(pk=room_id).values_list("organization_id", flat=True).first()


def set_under_attack(
    *,
    actor,
    on: bool,
    now: datetime,
    session=None,
    room=None,
    note: str = "",
) -> UnderAttack | None:
    """The organizer's switch for a session or a waiting room: on (joins and holds need a
    proof until switched off) or off (every active switch of the target ends)."""
    if (session is None) == (room is None):
        raise ValueError("exactly one of session and room")
    target = {"session": session} if session is not None else {"room": room}
    organization_id = session.event.organization_id if session is not None else room.organization_id
    with transaction.atomic():  # the back office's add view runs in its own transaction
        switch = None
        if on:
            switch = UnderAttack.objects.create(
                **target,
                organization_id=organization_id,
                source=AttackSource.ORGANIZER,
                started_at=now,
                note=note[:200],
            )
            obj = switch
        else:
            UnderAttack.objects.filter(**target, is_active=True).update(
                is_active=False, ends_at=now
            )
            obj = session if session is not None else room
        audit.record(
            action="risk.under_attack_on" if on else "risk.under_attack_off",
            obj=obj,
            actor=actor,
            organization_id=organization_id,
            now=now,
            data={"session": getattr(session, "pk", None), "room": getattr(room, "pk", None)},
        )
    state.forget()
    return switch


def start_automatic_attack(
    *, session_id: int | None, room_id: int | None, rate: int, now: datetime
) -> bool:
    """The request rate of a target passed the threshold: it is under attack for
    ``RISK_ATTACK_MINUTES``. Returns True (also when another process flipped it first)."""
    organization_id = _organization_of(session_id=session_id, room_id=room_id)
    if organization_id is None:
        return False
    minutes = int(getattr(settings, "RISK_ATTACK_MINUTES", 10))
    with transaction.atomic():
        switch = UnderAttack.objects.create(
            session_id=session_id,
            room_id=room_id,
            organization_id=organization_id,
            source=AttackSource.AUTOMATIC,
            started_at=now,
            ends_at=now + timedelta(minutes=minutes),
            rate=rate,
        )
        audit.record(
            action="risk.under_attack_detected",
            obj=switch,
            organization_id=organization_id,
            now=now,
            data={"rate": rate, "window_seconds": state.window_seconds()},
        )
    state.forget()
    return True


def record_decision(**fields) -> RiskDecision:
    """One scored request (see ``gate``); an INSERT of its own."""
    return RiskDecision.objects.create(**fields)


def purge_used_proofs(*, now: datetime) -> int:
    """Forget spent proofs whose challenges have expired (they can no longer be replayed)."""
    deleted, _ = UsedProof.objects.filter(expires_at__lte=now).delete()
    return deleted


# -- review ---------------------------------------------------------------------------------


def flag_order(*, order, score: int, reasons: list[dict], now: datetime) -> ReviewCase | None:
    """Put ``order`` in the review queue with its reasons; None when it already has a case
    (open or decided: a released order is not flagged again for the same rules)."""
    try:
        with transaction.atomic():
            case = ReviewCase.objects.create(
                order=order, score=min(100, score), reasons=reasons, flagged_at=now
            )
            audit.record(
                action="risk.order_flagged",
                obj=case,
                organization_id=order.session.event.organization_id,
                now=now,
                data={"order": order.number, "score": case.score, "reasons": reasons},
            )
    except IntegrityError:
        return None
    return case


def _lock_open(case: ReviewCase) -> ReviewCase:
    locked = ReviewCase.objects.select_for_update().select_related("order").get(pk=case.pk)
    if locked.status != CaseStatus.OPEN:
        raise CaseClosed()
    return locked


def _organization_id(case: ReviewCase) -> int:
    return case.order.session.event.organization_id


def release_case(*, case: ReviewCase, actor, now: datetime, note: str = "") -> ReviewCase:
    """The order is fine: clear the flag."""
    with transaction.atomic(durable=True):
        case = _lock_open(case)
        case.status = CaseStatus.RELEASED
        case.decided_at, case.decided_by, case.note = now, actor, note[:500]
        case.save(update_fields=["status", "decided_at", "decided_by", "note"])
        audit.record(
            action="risk.case_released",
            obj=case,
            actor=actor,
            organization_id=_organization_id(case),
            now=now,
            data={"order": case.order.number, "note": case.note},
        )
    return case


def cancel_case(*, case: ReviewCase, actor, reason: str, now: datetime) -> ReviewCase:
    """Cancel the flagged order; a paid one is refunded in full and its tickets revoked
    (``aftersales.services.cancel_order``). Raises its errors (e.g. a ticket already used)."""
    from tessera.aftersales.services import cancel_order

    with transaction.atomic(durable=True):
        case = _lock_open(case)
        order = cancel_order(order=case.order, actor=actor, reason=reason, now=now)
        case.status = CaseStatus.CANCELLED
        case.decided_at, case.decided_by, case.note = now, actor, reason[:500]
        case.save(update_fields=["status", "decided_at", "decided_by", "note"])
        audit.record(
            action="risk.case_cancelled",
            obj=case,
            actor=actor,
            organization_id=_organization_id(case),
            now=now,
            data={"order": order.number, "order_status": order.status, "reason": reason},
        )
    return case


def block_account(
    *, user, actor, reason: str, now: datetime, case: ReviewCase | None = None
) -> AccountBlock:
    """Block an account: it cannot sign in (inactive, its sessions ended) nor hold places
    (``guards.refuse_blocked_accounts``). With ``case``, the case is closed as blocked."""
    with transaction.atomic(durable=True):
        organization_id = None
        if case is not None:
            case = _lock_open(case)
            organization_id = _organization_id(case)
            case.status = CaseStatus.BLOCKED
            case.decided_at, case.decided_by, case.note = now, actor, reason[:500]
            case.save(update_fields=["status", "decided_at", "decided_by", "note"])
        block, _ = AccountBlock.objects.update_or_create(
            user=user,
            defaults={
                "reason": reason[:500],
                "blocked_at": now,
                "blocked_by": actor,
                "case": case,
            },
        )
        accounts.set_account_active(user=user, active=False, now=now)
        audit.record(
            action="risk.account_blocked",
            obj=block,
            actor=actor,
            organization_id=organization_id,
            now=now,
            data={"user": user.pk, "reason": reason, "case": getattr(case, "pk", None)},
        )
    return block


def unblock_account(*, block: AccountBlock, actor, now: datetime) -> None:
    """Lift a block: the account may sign in and buy again."""
    with transaction.atomic(durable=True):
        user = block.user
        audit.record(
            action="risk.account_unblocked",
            obj=block,
            actor=actor,
            now=now,
            data={"user": user.pk},
        )
        block.delete()
        accounts.set_account_active(user=user, active=True, now=now)
