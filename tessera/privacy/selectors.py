"""What the platform holds on one person, as plain JSON-ready data (``export_person``)."""

from datetime import datetime

from django.db.models import Q

from tessera.accounts.models import Membership, TwoFactorDevice, User
from tessera.core.models import AuditEntry
from tessera.inventory.models import Hold
from tessera.orders.models import Order, OrderLine
from tessera.payments.models import Payment, Refund
from tessera.storefront.models import CheckoutDraft
from tessera.tickets.models import Ticket
from tessera.waitingroom.models import QueueEntry

FORMAT = "tessera.personal-data/1"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _money(value) -> str | None:
    return None if value is None else str(value)


def _profile(user: User) -> dict:
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "phone": user.phone,
        "preferred_language": user.preferred_language,
        "date_joined": _when(user.date_joined),
        "last_login": _when(user.last_login),
        "is_active": user.is_active,
        "is_staff": user.is_staff,
    }


def _line(line: OrderLine) -> dict:
    return {
        "place": line.place_label,
        "section": line.section_name,
        "price_zone": line.zone_name,
        "price": _money(line.price),
        "currency": line.currency,
        "status": line.status,
        "attendee_name": line.attendee_name,
        "attendee_id_type": line.attendee_id_type,
        "attendee_id_number": line.attendee_id_number,
    }


def _orders(user: User) -> list[dict]:
    orders = (
        Order.objects.filter(user=user)
        .select_related("session__event", "session__layout__venue")
        .prefetch_related("lines")
        .order_by("created_at", "id")
    )
    return [
        {
            "number": order.number,
            "status": order.status,
            "event": order.session.event.display_name,
            "venue": order.session.layout.venue.display_name,
            "starts_at": _when(order.session.starts_at),
            "total": _money(order.total),
            "currency": order.currency,
            "email": order.email,
            "phone": order.phone,
            "created_at": _when(order.created_at),
            "paid_at": _when(order.paid_at),
            "closed_at": _when(order.closed_at),
            "lines": [_line(line) for line in sorted(order.lines.all(), key=lambda x: x.pk)],
        }
        for order in orders
    ]


def _tickets(user: User) -> list[dict]:
    tickets = (
        Ticket.objects.filter(order_line__order__user=user)
        .select_related("order_line__order")
        .order_by("id")
    )
    return [
        {
            "number": ticket.number,
            "order": ticket.order_line.order.number,
            "place": ticket.order_line.place_label,
            "holder_name": ticket.holder_name,
            "status": ticket.status,
            "issued_at": _when(ticket.issued_at),
            "revoked_at": _when(ticket.revoked_at),
        }
        for ticket in tickets
    ]


def _payments(user: User) -> list[dict]:
    refunds: dict = {}
    for refund in Refund.objects.filter(payment__order__user=user).order_by("created_at"):
        refunds.setdefault(refund.payment_id, []).append(
            {
                "amount": _money(refund.amount),
                "currency": refund.currency,
                "status": refund.status,
                "reason": refund.reason,
                "created_at": _when(refund.created_at),
                "completed_at": _when(refund.completed_at),
            }
        )
    payments = (
        Payment.objects.filter(order__user=user).select_related("order").order_by("created_at")
    )
    return [
        {
            "id": str(payment.pk),
            "order": payment.order.number,
            "provider": payment.provider,
            "status": payment.status,
            "amount": _money(payment.amount),
            "currency": payment.currency,
            "provider_reference": payment.provider_reference,
            "created_at": _when(payment.created_at),
            "completed_at": _when(payment.completed_at),
            "refunds": refunds.get(payment.pk, []),
        }
        for payment in payments
    ]


def _audit(user: User) -> list[dict]:
    """Entries about the person: their account, their orders and tickets, and what they
    did. Who else acted is not named (staff or system), only that it was not them."""
    order_ids = [str(pk) for pk in Order.objects.filter(user=user).values_list("pk", flat=True)]
    ticket_ids = [
        str(pk)
        for pk in Ticket.objects.filter(order_line__order__user=user).values_list("pk", flat=True)
    ]
    entries = AuditEntry.objects.filter(
        Q(actor=user)
        | Q(object_type="accounts.user", object_id=str(user.pk))
        | Q(object_type="orders.order", object_id__in=order_ids)
        | Q(object_type="tickets.ticket", object_id__in=ticket_ids)
    ).order_by("at", "id")
    return [
        {
            "at": _when(entry.at),
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "by": "you" if entry.actor_id == user.pk else ("staff" if entry.actor_id else "system"),
            "data": entry.data,
        }
        for entry in entries
    ]


def export_person(*, user: User, now: datetime) -> dict:
    """Everything the platform holds on ``user``: profile, memberships, orders with their
    attendees, tickets, payments and refunds, what they typed into checkouts, holds, waiting
    rooms, two-step sign-in (never its secret) and the audit entries about them."""
    device = TwoFactorDevice.objects.filter(user=user).first()
    return {
        "format": FORMAT,
        "generated_at": _when(now),
        "profile": _profile(user),
        "memberships": [
            {"organization": m.organization.name, "role": m.role, "since": _when(m.created_at)}
            for m in Membership.objects.filter(user=user).select_related("organization")
        ],
        "orders": _orders(user),
        "tickets": _tickets(user),
        "payments": _payments(user),
        "checkout_drafts": [
            {
                "hold": str(d.hold_id),
                "attendee_names": d.names,
                "email": d.email,
                "updated_at": _when(d.updated_at),
            }
            for d in CheckoutDraft.objects.filter(user=user).order_by("updated_at")
        ],
        "holds": [
            {
                "id": str(h.pk),
                "session": h.session_id,
                "status": h.status,
                "quantity": h.quantity,
                "created_at": _when(h.created_at),
            }
            for h in Hold.objects.filter(user=user).order_by("created_at")
        ],
        "waiting_rooms": [
            {"room": e.room.name, "joined_at": _when(e.joined_at), "position": e.position}
            for e in QueueEntry.objects.filter(user_id=user.pk).select_related("room")
        ],
        "two_factor": {
            "enabled": bool(device and device.is_confirmed),
            "since": _when(device.confirmed_at) if device else None,
        },
        "audit": _audit(user),
    }
