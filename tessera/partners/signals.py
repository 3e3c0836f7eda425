"""What happened that a partner may want to hear, as one Django signal.

``emit`` is called by the app where the thing happened, inside the transaction that makes it
happen; receivers write their own rows in that transaction (no network there). ``payload``
is JSON-ready (ids, numbers, strings; money as strings). ``key`` makes the event
idempotent: the same key twice is one event to a receiver that records it.
"""

from __future__ import annotations

from django.dispatch import Signal

ORDER_PAID = "order.paid"
ORDER_REFUNDED = "order.refunded"
ORDER_EXCHANGED = "order.exchanged"
SESSION_CHANGED = "session.changed"
ALLOCATION_RETURNED = "allocation.returned"

KINDS = (ORDER_PAID, ORDER_REFUNDED, ORDER_EXCHANGED, SESSION_CHANGED, ALLOCATION_RETURNED)

# Receivers get: kind, organization_ids (the partner organizations concerned), payload, key.
partner_event = Signal()


def emit(*, kind: str, organization_ids, payload: dict, key: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown partner event {kind!r}")
    ids = sorted({int(i) for i in organization_ids if i is not None})
    if not ids:
        return
    partner_event.send(sender=None, kind=kind, organization_ids=ids, payload=payload, key=key)
