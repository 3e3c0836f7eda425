"""Partner events derived in batches by the periodic task, so the sale's hot path writes
nothing for them (the channel order's fast path keeps its statement count).

Each producer reads committed rows of another app after its own high-water mark
(``Watermark``), re-reading an overlap window before it (``WEBHOOKS_OVERLAP_SECONDS``, default
300 s) up to ``now - WEBHOOKS_LAG_SECONDS`` (default 5 s), and emits
``tessera.partners.signals.emit`` for each fact inside one transaction per batch, so the
receiver records events and deliveries there. A fact whose transaction rolled back is never
read, so it is never announced; a fact read twice has the same key, so it is one event.

- ``order.paid``: the ledger's charges of orders sold through a sales channel → the
  channel's (distributor's) organization and the event's organizer.
- ``order.refunded``: the ledger's refunds of such orders (an approved refund request, a
  full refund by the organizer, a cancelled session's refunds); not the void lines of an
  exchange, which is ``order.exchanged``.
- ``order.exchanged``: completed exchanges of such orders.
- ``session.changed``: a session cancelled, postponed or moved (``aftersales.changes``) → the
  organizer and every distributor with an order or allocated places in the session.
- ``allocation.returned`` is emitted by the allocations app itself, in its own transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from tessera.partners import signals
from tessera.webhooks.models import Watermark, WebhookEndpoint

LIMIT = 2000


def _window(name: str, now: datetime):
    overlap = timedelta(seconds=getattr(settings, "WEBHOOKS_OVERLAP_SECONDS", 300))
    lag = timedelta(seconds=getattr(settings, "WEBHOOKS_LAG_SECONDS", 5))
    mark, _ = Watermark.objects.get_or_create(
        name=name, defaults={"position_at": now - timedelta(hours=1)}
    )
    return mark, mark.position_at - overlap, now - lag


def _advance(mark: Watermark, rows_at: list[datetime], upto: datetime) -> None:
    reached = rows_at[-1] if len(rows_at) >= LIMIT else upto
    Watermark.objects.filter(pk=mark.pk).update(position_at=max(reached, mark.position_at))


def _listening() -> set[int]:
    """Organizations with an active endpoint: nobody listening, nothing to derive."""
    return set(
        WebhookEndpoint.objects.filter(is_active=True)
        .values_list("organization_id", flat=True)
        .distinct()
    )


def _order_payload(order) -> dict:
    return {
        "order": order.number,
        "order_id": order.pk,
        "status": order.status,
        "session_id": order.session_id,
        "event_id": order.session.event_id,
        "channel": order.channel.code if order.channel_id else None,
        "total": str(order.total),
        "currency": order.currency,
    }


def _ledger_events(*, name: str, kind: str, ledger_kind: str, now: datetime, listening) -> int:
    from tessera.orders.models import LedgerEntry, LedgerKind

    mark, since, upto = _window(name, now)
    entries = list(
        LedgerEntry.objects.select_related("order__session__event", "order__channel")
        .filter(kind=ledger_kind, at__gt=since, at__lte=upto, order__channel__isnull=False)
        .filter(
            Q(order__channel__organization_id__in=listening)
            | Q(order__session__event__organization_id__in=listening)
        )
        .exclude(reference__startswith="exchange:")
        .exclude(reference__startswith="carried")
        .annotate(tickets=Count("order__lines"))
        .order_by("at", "id")[:LIMIT]
    )
    fees = {}
    if ledger_kind == LedgerKind.REFUND and entries:
        for order_id, reference, amount in LedgerEntry.objects.filter(
            kind=LedgerKind.FEE,
            order_id__in={e.order_id for e in entries},
            reference__in={e.reference for e in entries},
        ).values_list("order_id", "reference", "amount"):
            fees[(order_id, reference)] = amount
    with transaction.atomic():
        for entry in entries:
            order = entry.order
            payload = _order_payload(order)
            if ledger_kind == LedgerKind.CHARGE:
                key = f"{kind}:{order.pk}"
                payload["paid_at"] = (order.paid_at or entry.at).isoformat()
                payload["tickets"] = entry.tickets
            else:
                key = f"{kind}:{entry.pk}"
                payload["refunded"] = str(-entry.amount)
                payload["fee"] = str(fees.get((order.pk, entry.reference), "0.00"))
                payload["refunded_at"] = entry.at.isoformat()
                payload["reference"] = entry.reference
            signals.emit(
                kind=kind,
                organization_ids=[
                    order.channel.organization_id,
                    order.session.event.organization_id,
                ],
                payload=payload,
                key=key,
            )
        _advance(mark, [e.at for e in entries], upto)
    return len(entries)


def derive_paid(*, now: datetime, listening) -> int:
    from tessera.orders.models import LedgerKind

    return _ledger_events(
        name="order_paid",
        kind=signals.ORDER_PAID,
        ledger_kind=LedgerKind.CHARGE,
        now=now,
        listening=listening,
    )


def derive_refunded(*, now: datetime, listening) -> int:
    from tessera.orders.models import LedgerKind

    return _ledger_events(
        name="order_refunded",
        kind=signals.ORDER_REFUNDED,
        ledger_kind=LedgerKind.REFUND,
        now=now,
        listening=listening,
    )


def derive_exchanged(*, now: datetime, listening) -> int:
    from tessera.aftersales.models import ExchangeRequest, ExchangeStatus

    mark, since, upto = _window("order_exchanged", now)
    exchanges = list(
        ExchangeRequest.objects.select_related(
            "order__session__event", "order__channel", "new_order"
        )
        .filter(
            status=ExchangeStatus.COMPLETED,
            completed_at__gt=since,
            completed_at__lte=upto,
            order__channel__isnull=False,
        )
        .filter(
            Q(order__channel__organization_id__in=listening)
            | Q(order__session__event__organization_id__in=listening)
        )
        .order_by("completed_at", "pk")[:LIMIT]
    )
    with transaction.atomic():
        for exchange in exchanges:
            order = exchange.order
            payload = _order_payload(order)
            payload.update(
                {
                    "exchange": str(exchange.pk),
                    "new_order": exchange.new_order.number if exchange.new_order_id else None,
                    "old_price": str(exchange.old_price),
                    "new_price": str(exchange.new_price),
                    "fee": str(exchange.fee),
                    "amount_due": str(exchange.amount_due),
                    "amount_back": str(exchange.amount_back),
                    "exchanged_at": exchange.completed_at.isoformat(),
                }
            )
            signals.emit(
                kind=signals.ORDER_EXCHANGED,
                organization_ids=[
                    order.channel.organization_id,
                    order.session.event.organization_id,
                ],
                payload=payload,
                key=f"{signals.ORDER_EXCHANGED}:{exchange.pk}",
            )
        _advance(mark, [e.completed_at for e in exchanges], upto)
    return len(exchanges)


def _distributors_of(session_id: int) -> set[int]:
    from tessera.inventory.models import InventoryUnit
    from tessera.orders.models import Order

    ordered = Order.objects.filter(session_id=session_id, channel__isnull=False).values_list(
        "channel__organization_id", flat=True
    )
    allocated = InventoryUnit.objects.filter(
        session_id=session_id, channel__isnull=False
    ).values_list("channel__organization_id", flat=True)
    return set(ordered.distinct()) | set(allocated.distinct())


def derive_session_changes(*, now: datetime, listening) -> int:
    from tessera.aftersales.models import SessionChange

    mark, since, upto = _window("session_changed", now)
    changes = list(
        SessionChange.objects.select_related("session__event")
        .filter(created_at__gt=since, created_at__lte=upto)
        .order_by("created_at", "pk")[:LIMIT]
    )
    with transaction.atomic():
        for change in changes:
            session = change.session
            orgs = {session.event.organization_id} | _distributors_of(session.pk)
            if not orgs & listening:
                continue
            signals.emit(
                kind=signals.SESSION_CHANGED,
                organization_ids=orgs,
                payload={
                    "change": change.kind,
                    "change_id": change.pk,
                    "session_id": session.pk,
                    "event_id": session.event_id,
                    "session_status": session.status,
                    "previous_starts_at": change.previous_starts_at.isoformat(),
                    "new_starts_at": (
                        change.new_starts_at.isoformat() if change.new_starts_at else None
                    ),
                    "refund_until": change.refund_until.isoformat()
                    if change.refund_until
                    else None,
                    "previous_layout_id": change.previous_layout_id,
                    "new_layout_id": change.new_layout_id,
                    "reason": change.reason,
                },
                key=f"{signals.SESSION_CHANGED}:{change.pk}",
            )
        _advance(mark, [c.created_at for c in changes], upto)
    return len(changes)


def derive_events(*, now: datetime) -> dict:
    """Every producer once. The marks advance even when nobody listens, so an endpoint
    created later hears what happens from then on, not a backlog."""
    listening = _listening()
    return {
        "paid": derive_paid(now=now, listening=listening),
        "refunded": derive_refunded(now=now, listening=listening),
        "exchanged": derive_exchanged(now=now, listening=listening),
        "session_changed": derive_session_changes(now=now, listening=listening),
    }
