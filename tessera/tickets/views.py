"""The ticket pages of a buyer: a ticket with its QR code, the QR code alone, the order's PDF.

Only the buyer and the ticket's holder (a transfer's recipient) see them; anyone else gets
404, exactly as for a ticket that does not exist. The QR code is shown to the holder alone: a
buyer who gave the ticket away sees that it went, not its credential.
Responses carry ``Cache-Control: no-store``: a credential admits whoever shows it.
"""

import re
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tessera.core import clock
from tessera.core.errors import NotFound
from tessera.tickets import credentials, selectors, services
from tessera.tickets.models import TicketStatus
from tessera.tickets.pdf import render_tickets_pdf
from tessera.tickets.qr import qr_svg_document, qr_svg_inline

_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _owned_ticket(request, public_id):
    try:
        return selectors.get_ticket_of_owner(public_id=public_id, user=request.user)
    except NotFound as exc:
        raise Http404 from exc


@require_GET
@never_cache
@login_required
def ticket_detail(request, public_id):
    ticket = _owned_ticket(request, public_id)
    summary = selectors.summarize_ticket(ticket)
    qr_svg = ""
    rotating = _rotating_settings(ticket)
    frames = []
    is_holder = ticket.is_held_by(request.user)
    if summary.is_valid and is_holder:
        now = clock.now()
        if rotating.uses_rotating_codes:
            frames = _rotating_frames(ticket, summary.number, now, rotating.rotating_step_seconds)
            qr_svg = frames[0]["svg"]
        else:
            credential = services.credential_for(ticket=ticket, now=now)
            qr_svg = qr_svg_inline(
                credential, title=_("QR code of ticket %(number)s") % {"number": summary.number}
            )
    return render(
        request,
        "tickets/ticket_detail.html",
        {
            "ticket": summary,
            "held_ticket": ticket if is_holder else None,
            "qr_svg": qr_svg,
            "given_away": summary.is_valid and not is_holder,
            "rotating": rotating.uses_rotating_codes and bool(frames),
            "static_allowed": _static_allowed(ticket),
        },
    )


def _rotating_settings(ticket):
    # Check-in owns the per-session option; a session without settings uses static codes.
    from tessera.checkin.services import settings_for

    return settings_for(ticket.session)


def _static_allowed(ticket) -> bool:
    """Whether the gates take this ticket's static code (a PDF or a saved QR image)."""
    rules = _rotating_settings(ticket)
    return rules.is_static_credential_allowed or not rules.uses_rotating_codes


ROTATING_FRAMES = 4  # the current step and the next three, so a short signal loss is fine


def _rotating_frames(ticket, number: str, now, step_seconds: int) -> list[dict]:
    """QR codes (``TR1:`` texts) of the current time step and the next ones."""
    credential = services.credential_for(ticket=ticket, now=now)
    ticket_key = services.ticket_rotation_key(ticket=ticket, now=now)
    step = timedelta(seconds=step_seconds)
    start = credentials.from_minutes(0) + (now - credentials.from_minutes(0)) // step * step
    frames = []
    for i in range(ROTATING_FRAMES):
        at = start + i * step
        text = credentials.rotating_text(
            credential, credentials.rotating_code(ticket_key, at, step_seconds)
        )
        frames.append(
            {
                "from": at.isoformat(),
                "until": (at + step).isoformat(),
                "svg": qr_svg_inline(
                    text, title=_("Live QR code of ticket %(number)s") % {"number": number}
                ),
            }
        )
    return frames


@require_GET
@never_cache
@login_required
def ticket_rotating(request, public_id):
    """The live QR codes of a ticket whose session uses rotating codes."""
    ticket = _owned_ticket(request, public_id)
    rotating = _rotating_settings(ticket)
    if (
        ticket.status != TicketStatus.VALID
        or not rotating.uses_rotating_codes
        or not ticket.is_held_by(request.user)
    ):
        raise Http404
    summary_number = ticket.number
    frames = _rotating_frames(ticket, summary_number, clock.now(), rotating.rotating_step_seconds)
    return JsonResponse({"step_seconds": rotating.rotating_step_seconds, "frames": frames})


@require_GET
@never_cache
@login_required
def ticket_qr(request, public_id):
    ticket = _owned_ticket(request, public_id)
    if (
        ticket.status != TicketStatus.VALID
        or not _static_allowed(ticket)
        or not ticket.is_held_by(request.user)
    ):
        raise Http404
    credential = services.credential_for(ticket=ticket, now=clock.now())
    return HttpResponse(qr_svg_document(credential), content_type="image/svg+xml")


@require_GET
@never_cache
@login_required
def order_pdf(request, number: str):
    try:
        order = selectors.get_order_of_owner(number=number, user=request.user)
    except NotFound as exc:
        raise Http404 from exc
    tickets = [
        ticket
        for ticket in selectors.list_order_tickets(order, valid_only=True)
        if ticket.is_held_by(request.user)
    ]
    if not tickets:
        raise Http404
    if not _static_allowed(tickets[0]):
        raise Http404(_("This session admits only the live QR code: there is no printable ticket."))
    now = clock.now()
    pages = [
        (selectors.summarize_ticket(ticket), services.credential_for(ticket=ticket, now=now))
        for ticket in tickets
    ]
    title = _("Tickets of order %(number)s") % {"number": order.number}
    response = HttpResponse(render_tickets_pdf(pages, title=title), content_type="application/pdf")
    filename = f"tessera-{_FILENAME_UNSAFE.sub('', order.number)}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
