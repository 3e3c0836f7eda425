"""Messages derived in batches by periodic tasks, so the sale's hot path writes nothing for
them.

**Order paid, tickets ready.** The sale confirms a purchase in one statement (the fast
lane's five statements per purchase, DESIGN.md's budget), so the outbox row for "your
tickets are ready" is not written in that transaction. Instead ``derive_paid_orders``
reads the ledger's ``charge`` entries (inserted in the very transaction that sold the places,
indexed by ``at``) after a high-water mark (``Watermark`` "order_paid") and records one
message per paid order, keyed ``order_paid:<order id>``. Each run re-reads an overlap window
before the mark (``NOTIFICATIONS_PAID_OVERLAP_SECONDS``, default 300 s) and skips orders that
already have their message, so a payment whose transaction committed after a later one was
read is still announced; it reads up to ``now - NOTIFICATIONS_PAID_LAG_SECONDS`` (default
5 s). A charge rolled back never becomes visible, so it is never announced. The cost moves
off the purchase: one batched INSERT per run for every order paid since the last run.

**Reminders.** ``record_reminders`` fans out, once per session (``ReminderRun``), the 24 h
reminder to the holders of sessions starting within 24 h (and more than 2 h), and the 2 h
reminder to those starting within 2 h.

**Places about to be released.** ``warn_expiring_holds``: orders waiting for payment whose
places are released within ``NOTIFICATIONS_HOLD_WARNING_MINUTES`` (default 5).

**Announcements.** ``fan_out_announcement`` records an announcement's messages in batches
of ``BATCH`` recipients, each batch one transaction that also advances its progress.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat

from tessera.notifications.models import (
    Announcement,
    AnnouncementStatus,
    Channel,
    Kind,
    Message,
    Preference,
    ReminderRun,
    Watermark,
)
from tessera.notifications.services import build_messages

BATCH = 1000


def _preferences(user_ids) -> dict[int, Preference]:
    return {p.user_id: p for p in Preference.objects.filter(user_id__in=list(user_ids))}


def _insert(rows: list[Message]) -> int:
    if rows:
        Message.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def _watermark(name: str, now: datetime) -> Watermark:
    mark, _ = Watermark.objects.get_or_create(
        name=name, defaults={"position_at": now - timedelta(hours=1)}
    )
    return mark


def derive_paid_orders(*, now: datetime, limit: int = 5000) -> int:
    """Record "order paid, tickets ready" for orders paid since the watermark; returns the
    number of orders announced now."""
    from tessera.orders.models import LedgerEntry, LedgerKind, Order

    overlap = timedelta(seconds=getattr(settings, "NOTIFICATIONS_PAID_OVERLAP_SECONDS", 300))
    lag = timedelta(seconds=getattr(settings, "NOTIFICATIONS_PAID_LAG_SECONDS", 5))
    mark = _watermark("order_paid", now)
    upto = now - lag
    key_of = Concat(
        Value("order_paid:"), Cast(OuterRef("order_id"), CharField()), output_field=CharField()
    )
    announced = Message.objects.filter(
        Q(key=Concat(key_of, Value(":inbox"))) | Q(key=Concat(key_of, Value(":email")))
    )
    charges = list(
        LedgerEntry.objects.filter(
            kind=LedgerKind.CHARGE, at__gt=mark.position_at - overlap, at__lte=upto
        )
        .annotate(is_announced=Exists(announced))
        .filter(is_announced=False)
        .order_by("at", "id")
        .values_list("order_id", "at")[:limit]
    )
    if not charges:
        if upto > mark.position_at:
            Watermark.objects.filter(pk=mark.pk).update(position_at=upto)
        return 0
    order_ids = list(dict.fromkeys(order_id for order_id, _ in charges))
    orders = Order.objects.select_related("user").filter(pk__in=order_ids)
    preferences = _preferences({o.user_id for o in orders})
    rows = []
    for order in orders:
        key = f"order_paid:{order.pk}"
        context = {"order": order.pk}
        if order.channel_id:
            # a distributor's sale: its buyer has no account here, only the order's address
            rows += build_messages(
                user=None,
                kind=Kind.ORDER_PAID,
                context=context,
                key=key,
                now=now,
                email=order.email,
                channels=[Channel.EMAIL],
            )
            continue
        rows += build_messages(
            user=order.user,
            kind=Kind.ORDER_PAID,
            context=context,
            key=key,
            now=now,
            email=order.email,
            phone=order.phone,
            preference=preferences.get(order.user_id),
        )
    with transaction.atomic():
        _insert(rows)
        reached = charges[-1][1] if len(charges) >= limit else upto
        Watermark.objects.filter(pk=mark.pk).update(position_at=max(reached, mark.position_at))
    return len(order_ids)


# -- holders of a session -------------------------------------------------------------------


def holder_ids(session_id: int, *, after_user_id: int = 0, limit: int | None = None) -> list[int]:
    """The accounts holding valid tickets of the session (a ticket's holder, else its
    buyer), in id order after ``after_user_id``: one read of the session's tickets."""
    from django.db.models.functions import Coalesce

    from tessera.tickets.models import Ticket, TicketStatus

    return list(
        Ticket.objects.filter(session_id=session_id, status=TicketStatus.VALID)
        .annotate(who=Coalesce("holder_id", "order_line__order__user_id"))
        .filter(who__gt=after_user_id)
        .order_by("who")
        .values_list("who", flat=True)
        .distinct()[: limit or BATCH]
    )


def count_holders(session_id: int) -> int:
    from django.db.models.functions import Coalesce

    from tessera.tickets.models import Ticket, TicketStatus

    return (
        Ticket.objects.filter(session_id=session_id, status=TicketStatus.VALID)
        .annotate(who=Coalesce("holder_id", "order_line__order__user_id"))
        .values("who")
        .distinct()
        .count()
    )


def _users(ids):
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.filter(pk__in=ids).order_by("pk"))


# -- reminders ------------------------------------------------------------------------------


def record_reminders(*, now: datetime) -> dict:
    """Fan out the 24 h and 2 h reminders of sessions that reached their window."""
    from tessera.catalog.models import Session, SessionStatus

    windows = [
        (Kind.REMINDER_2H, now, now + timedelta(hours=2)),
        (Kind.REMINDER_24H, now + timedelta(hours=2), now + timedelta(hours=24)),
    ]
    recorded = {}
    for kind, start, end in windows:
        sessions = Session.objects.filter(
            status=SessionStatus.SCHEDULED, starts_at__gt=start, starts_at__lte=end
        ).exclude(Exists(ReminderRun.objects.filter(session=OuterRef("pk"), kind=kind)))
        for session in sessions:
            count = 0
            after = 0
            while True:
                ids = holder_ids(session.pk, after_user_id=after)
                if not ids:
                    break
                users = _users(ids)
                preferences = _preferences(ids)
                rows = []
                for user in users:
                    rows += build_messages(
                        user=user,
                        kind=kind,
                        context={"session": session.pk},
                        key=f"{kind}:{session.pk}:{user.pk}",
                        now=now,
                        preference=preferences.get(user.pk),
                    )
                with transaction.atomic():
                    count += _insert(rows)
                after = ids[-1]
            ReminderRun.objects.get_or_create(
                session=session, kind=kind, defaults={"recorded": count, "at": now}
            )
            recorded[f"{kind}:{session.pk}"] = count
    return recorded


# -- places about to be released ------------------------------------------------------------


def warn_expiring_holds(*, now: datetime) -> int:
    from tessera.orders.models import Order, OrderStatus

    minutes = getattr(settings, "NOTIFICATIONS_HOLD_WARNING_MINUTES", 5)
    orders = list(
        Order.objects.select_related("user")
        .filter(
            status=OrderStatus.PENDING_PAYMENT,
            channel__isnull=True,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(minutes=minutes),
        )
        .exclude(
            Exists(
                Message.objects.filter(
                    key=Concat(
                        Value("hold_expiring:"),
                        Cast(OuterRef("pk"), CharField()),
                        Value(":inbox"),
                        output_field=CharField(),
                    )
                )
            )
        )[:BATCH]
    )
    preferences = _preferences({o.user_id for o in orders})
    rows = []
    for order in orders:
        rows += build_messages(
            user=order.user,
            kind=Kind.HOLD_EXPIRING,
            context={"order": order.pk, "expires_at": order.expires_at.isoformat()},
            key=f"hold_expiring:{order.pk}",
            now=now,
            email=order.email,
            phone=order.phone,
            # only the inbox and a text message: an email may come too late to help
            channels=[Channel.INBOX]
            + (
                [Channel.SMS]
                if getattr(preferences.get(order.user_id), "sms_enabled", False)
                else []
            ),
            preference=preferences.get(order.user_id),
        )
    with transaction.atomic():
        _insert(rows)
    return len(orders)


# -- announcements --------------------------------------------------------------------------


def fan_out_announcement(
    *, announcement_id: int, now: datetime, batches: int = 1000
) -> Announcement:
    """Record up to ``batches`` batches of an announcement's messages; each batch is one
    transaction that also moves its cursor and progress, so a worker that dies loses
    nothing and repeats nothing."""
    for _ in range(batches):
        announcement = Announcement.objects.select_related("session").get(pk=announcement_id)
        if announcement.status != AnnouncementStatus.SENDING:
            return announcement
        ids = holder_ids(announcement.session_id, after_user_id=announcement.cursor_user_id)
        if not ids:
            Announcement.objects.filter(pk=announcement.pk).update(
                status=AnnouncementStatus.DONE, finished_at=now
            )
            continue
        users = _users(ids)
        preferences = _preferences(ids)
        rows = []
        for user in users:
            rows += build_messages(
                user=user,
                kind=Kind.ANNOUNCEMENT,
                context={"announcement": announcement.pk},
                key=f"announcement:{announcement.pk}:{user.pk}",
                now=now,
                is_marketing=announcement.is_marketing,
                preference=preferences.get(user.pk),
                announcement_id=announcement.pk,
            )
        with transaction.atomic():
            moved = Announcement.objects.filter(
                pk=announcement.pk,
                cursor_user_id=announcement.cursor_user_id,
                status=AnnouncementStatus.SENDING,
            ).update(
                cursor_user_id=ids[-1],
                done=announcement.done + len(ids),
                total=max(announcement.total, announcement.done + len(ids)),
            )
            if moved:
                _insert(rows)
    return Announcement.objects.get(pk=announcement_id)


# -- session changes (aftersales.changes) ------------------------------------------------------

SESSION_CHANGE_KINDS = {
    "session_cancelled_refunded": Kind.SESSION_CANCELLED,
    "session_cancelled_order_cancelled": Kind.SESSION_CANCELLED,
    "session_postponed": Kind.SESSION_POSTPONED,
    "session_postponed_date_tba": Kind.SESSION_POSTPONED,
    "session_moved": Kind.SESSION_MOVED,
}


def tell_session_change(notice) -> None:
    """``settings.SESSION_CHANGE_NOTIFIER``: one fan's notice of a cancelled, postponed or
    moved session (``aftersales.changes.FanNotice``) recorded in the outbox under the
    notice's key, so telling the same fan twice records nothing more."""
    from django.contrib.auth import get_user_model

    from tessera.core import clock
    from tessera.notifications.services import notify

    kind = SESSION_CHANGE_KINDS.get(notice.kind)
    user = get_user_model().objects.filter(pk=notice.recipient_id).first()
    if kind is None or user is None:
        return
    with transaction.atomic():
        notify(user, kind, dict(notice.context), key=notice.key, now=clock.now())


def tell_session_changes(notices) -> None:
    """``tell_session_change`` for a batch of notices: the recipients read in one query and
    the outbox rows written together (``notify_many``), each under its notice's key."""
    from django.contrib.auth import get_user_model

    from tessera.core import clock
    from tessera.notifications.services import notify_many

    notices = [n for n in notices if n.kind in SESSION_CHANGE_KINDS]
    users = get_user_model().objects.in_bulk({n.recipient_id for n in notices})
    items = [
        (users[n.recipient_id], SESSION_CHANGE_KINDS[n.kind], n.context, n.key)
        for n in notices
        if n.recipient_id in users
    ]
    with transaction.atomic():
        notify_many(items, now=clock.now())


tell_session_change.many = tell_session_changes
