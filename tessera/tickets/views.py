"""The ticket pages of a buyer: a ticket with its QR code, the QR code alone, the order's PDF.

Only the buyer sees them; anyone else gets 404, exactly as for a ticket that does not exist.
Responses carry ``Cache-Control: no-store``: a credential admits whoever shows it.
"""

import re

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tessera.core import clock
from tessera.core.errors import NotFound
from tessera.tickets import selectors, services
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
    if summary.is_valid:
        credential = services.credential_for(ticket=ticket, now=clock.now())
        qr_svg = qr_svg_inline(
            credential, title=_("QR code of ticket %(number)s") % {"number": summary.number}
        )
    return render(
        request,
        "tickets/ticket_detail.html",
        {"ticket": summary, "qr_svg": qr_svg},
    )


@require_GET
@never_cache
@login_required
def ticket_qr(request, public_id):
    ticket = _owned_ticket(request, public_id)
    if ticket.status != TicketStatus.VALID:
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
    tickets = selectors.list_order_tickets(order, valid_only=True)
    if not tickets:
        raise Http404
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
