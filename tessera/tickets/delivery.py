"""Sending an order's tickets to its buyer by email: the PDF (one page per valid ticket,
each with its QR code) attached, through Django's email backend.

The mail is sent with no transaction open; the audit entry is written after it was handed
to the backend, so the log says only what was sent.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.core import audit
from tessera.core.errors import DomainError
from tessera.orders.models import Order
from tessera.tickets import selectors, services
from tessera.tickets.pdf import render_tickets_pdf

_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class NoEmailAddress(DomainError):
    code = "no_email_address"
    status = 409
    default_message = _("This order has no email address to send the tickets to.")


class NoValidTickets(DomainError):
    code = "no_valid_tickets"
    status = 409
    default_message = _("This order has no valid tickets to send.")


class SendingFailed(DomainError):
    code = "sending_failed"
    status = 503
    default_message = _("The email could not be sent; please try again later.")


def tickets_pdf(order: Order, *, now: datetime) -> bytes | None:
    """The PDF of the order's valid tickets (credentials signed now), None without any."""
    tickets = selectors.list_order_tickets(order, valid_only=True)
    if not tickets:
        return None
    pages = [
        (selectors.summarize_ticket(ticket), services.credential_for(ticket=ticket, now=now))
        for ticket in tickets
    ]
    title = gettext("Tickets of order %(number)s") % {"number": order.number}
    return render_tickets_pdf(pages, title=title)


def pdf_filename(order: Order) -> str:
    return f"tessera-{_FILENAME_UNSAFE.sub('', order.number)}.pdf"


def send_tickets(*, order: Order, actor, now: datetime, organization_id: int) -> str:
    """Email the order's valid tickets (PDF attached) to the order's address, else the
    buyer's; returns the address. Raises NoEmailAddress, NoValidTickets, SendingFailed;
    nothing is recorded then."""
    address = order.email or order.user.email
    if not address:
        raise NoEmailAddress
    pdf = tickets_pdf(order, now=now)
    if pdf is None:
        raise NoValidTickets
    session = order.session
    subject = gettext("Your tickets: %(event)s (order %(number)s)") % {
        "event": session.event.display_name,
        "number": order.number,
    }
    body = gettext(
        "Hello,\n\nyour tickets for %(event)s on %(when)s are attached to this email "
        "(order %(number)s). Show the QR code of each ticket at the gate.\n\nTessera"
    ) % {
        "event": session.event.display_name,
        "when": f"{session.local_starts_at():%Y-%m-%d %H:%M}",
        "number": order.number,
    }
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address]
    )
    message.attach(pdf_filename(order), pdf, "application/pdf")
    try:
        message.send(fail_silently=False)
    except OSError as exc:
        raise SendingFailed from exc
    with transaction.atomic():
        audit.record(
            action="order.tickets_sent",
            obj=order,
            actor=actor,
            now=now,
            organization_id=organization_id,
            data={"to": address},
        )
    return address
