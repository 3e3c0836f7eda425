"""The fan's transfer pages: send a ticket, the one-time link shown once, the link's landing
page for the recipient, and "my transfers" (offers to accept, tickets given to me, what I
sent, with cancel). They call the same services as the API."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tessera.catalog.selectors import policy_for
from tessera.core import clock
from tessera.core.dates import local_moment
from tessera.core.errors import DomainError
from tessera.tickets.models import TicketStatus
from tessera.tickets.selectors import summarize_ticket
from tessera.transfers import selectors, services
from tessera.transfers.errors import LinkNotValid
from tessera.transfers.models import Channel, TransferStatus


def local_text(moment: datetime, session) -> str:
    """``moment`` in the venue's time zone, as Fri, Dec 25, 2026, 19:30 (2026年12月25日 19:30)."""
    return local_moment(moment, session.layout.venue.zone_info)


def _rows(transfers, now: datetime) -> list[dict]:
    return [
        {
            "transfer": t,
            "summary": summarize_ticket(t.ticket),
            "status": t.status_at(now),
            "status_label": t.get_status_at_display(now),
            "is_open": t.is_open_at(now),
            "expires_text": local_text(t.expires_at, t.ticket.session),
            "sender_name": services.display_name(t.sender),
            "recipient_name": services.display_name(t.recipient) if t.recipient else "",
        }
        for t in transfers
    ]


@never_cache
@login_required
def inbox(request):
    """My transfers: offers waiting for me, tickets given to me, transfers I sent."""
    now = clock.now()
    user = request.user
    given = selectors.list_tickets_given_to(user)
    return render(
        request,
        "transfers/inbox.html",
        {
            "offers": _rows(selectors.list_offers_to(user, now=now), now),
            "tickets": [{"ticket": t, "summary": summarize_ticket(t)} for t in given],
            "sent": _rows(selectors.list_sent(user)[:50], now),
            "nav": "orders",
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def send(request, public_id):
    """The send form of one of my tickets; a link is shown once, on the answer to the POST."""
    now = clock.now()
    try:
        ticket = services.get_held_ticket(public_id=public_id, user=request.user)
    except DomainError as exc:
        raise Http404 from exc
    session = ticket.session
    policy = policy_for(session)
    channel = request.POST.get("channel", Channel.PHONE)
    contact = request.POST.get("contact", "")
    error = None
    if request.method == "POST":
        try:
            sent = services.send_transfer(
                ticket=ticket, sender=request.user, channel=channel, contact=contact, now=now
            )
        except DomainError as exc:
            error = exc.message
        else:
            if sent.token:
                url = request.build_absolute_uri(
                    reverse("transfers:link", kwargs={"token": sent.token})
                )
                return render(
                    request,
                    "transfers/link_made.html",
                    {
                        "link": url,
                        "summary": summarize_ticket(ticket),
                        "expires_text": local_text(sent.transfer.expires_at, session),
                        "nav": "orders",
                    },
                )
            messages.success(
                request,
                _("The ticket is on its way to %(name)s; it stays yours until they accept it.")
                % {"name": services.display_name(sent.transfer.recipient)},
            )
            return redirect("transfers:inbox")
    open_transfer = selectors.open_transfers().filter(ticket=ticket, expires_at__gt=now).first()
    return render(
        request,
        "transfers/send.html",
        {
            "summary": summarize_ticket(ticket),
            "ticket": ticket,
            "channel": channel if channel in Channel.values else Channel.PHONE,
            "contact": contact if isinstance(contact, str) else "",
            "error": error,
            "channels": Channel.choices,
            "open_transfer": open_transfer,
            "is_transferable": policy.is_transferable and policy.max_transfers > 0,
            "deadline_text": local_text(services.deadline(session, policy), session),
            "used": selectors.accepted_transfer_count(ticket.pk),
            "max_transfers": policy.max_transfers,
            "is_valid": ticket.status == TicketStatus.VALID,
            "nav": "orders",
        },
        status=422 if error else 200,
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def link(request, token: str):
    """The one-time link's page: the ticket offered and, for anyone but the sender, the
    accept button with the name to print on the ticket."""
    now = clock.now()
    transfer = selectors.get_by_token(token)
    if transfer is None or transfer.channel != Channel.LINK:
        return render(
            request, "transfers/link.html", {"gone": str(LinkNotValid.default_message)}, status=404
        )
    error = None
    name = request.POST.get("holder_name", "")
    if request.method == "POST":
        try:
            accepted = services.accept_link(
                token=token, user=request.user, holder_name=name, now=now
            )
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("The ticket is yours now. Here is its new QR code."))
            return redirect("tickets:detail", public_id=accepted.ticket.public_id)
    is_mine = (
        transfer.status == TransferStatus.ACCEPTED and transfer.recipient_id == request.user.pk
    )
    return render(
        request,
        "transfers/link.html",
        {
            "row": _rows([transfer], now)[0],
            "error": error,
            "holder_name": name if isinstance(name, str) else "",
            "default_name": services.display_name(request.user),
            "is_sender": transfer.sender_id == request.user.pk,
            "is_mine": is_mine,
            "nav": "orders",
        },
        status=422 if error else 200,
    )


@login_required
@require_POST
def accept(request, transfer_id):
    now = clock.now()
    try:
        transfer = services.get_transfer_for(transfer_id=transfer_id, user=request.user)
        accepted = services.accept_transfer(
            transfer=transfer,
            user=request.user,
            holder_name=request.POST.get("holder_name", ""),
            now=now,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("transfers:inbox")
    messages.success(request, _("The ticket is yours now. Here is its new QR code."))
    return redirect("tickets:detail", public_id=accepted.ticket.public_id)


def _close(request, transfer_id, close, done: str):
    """Cancel (sender) or decline (recipient) a transfer, then go back where the form was
    (``next``, on this site) or to the transfers page."""
    try:
        transfer = services.get_transfer_for(transfer_id=transfer_id, user=request.user)
        close(transfer=transfer, user=request.user, now=clock.now())
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("transfers:inbox")


@login_required
@require_POST
def decline(request, transfer_id):
    return _close(
        request,
        transfer_id,
        services.decline_transfer,
        _("Transfer declined: the ticket stays with the sender."),
    )


@login_required
@require_POST
def cancel(request, transfer_id):
    return _close(
        request,
        transfer_id,
        services.cancel_transfer,
        _("Transfer cancelled: the ticket stays yours."),
    )
