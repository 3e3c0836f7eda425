"""Transfers over HTTP: send a ticket, list what you sent and received, accept, decline,
cancel.

Every endpoint needs a signed-in account; POSTs honour ``Idempotency-Key``. A link's token is
in the answer of the send that made it, and never again (a replay with the same key answers
``link: null``). Errors answer ``{"error": {code, message, details}}``.
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from ninja.security import django_auth

from tessera.core.clock import now as clock_now
from tessera.core.idempotency import run_idempotent
from tessera.core.schemas import ErrorOut, InputSchema
from tessera.transfers import selectors, services
from tessera.transfers.models import Transfer

router = Router(tags=["transfers"])

_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
LIST_MAX = 100


class TransferIn(InputSchema):
    ticket: UUID
    channel: Literal["phone", "email", "link"]
    contact: str = Field("", max_length=254)


class AcceptIn(InputSchema):
    holder_name: str = Field("", max_length=80)


class AcceptLinkIn(InputSchema):
    token: str = Field(..., min_length=1, max_length=200)
    holder_name: str = Field("", max_length=80)


class TransferOut(Schema):
    id: UUID
    status: str
    status_label: str
    channel: str
    ticket: UUID
    ticket_number: str
    session_id: int
    event_name: str
    starts_at: datetime
    place: str
    sender_name: str
    recipient_name: str | None
    holder_name: str
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    link: str | None = None


class ListQuery(Schema):
    box: Literal["sent", "received"] = "received"


def _out(transfer: Transfer, now: datetime, *, link: str | None = None) -> dict:
    ticket = transfer.ticket
    line = ticket.order_line
    session = ticket.session
    return {
        "id": transfer.pk,
        "status": transfer.status_at(now),
        "status_label": transfer.get_status_at_display(now),
        "channel": transfer.channel,
        "ticket": ticket.public_id,
        "ticket_number": ticket.number,
        "session_id": session.pk,
        "event_name": session.event.display_name,
        "starts_at": session.starts_at.astimezone(session.layout.venue.zone_info),
        "place": line.place_label,
        "sender_name": services.display_name(transfer.sender),
        "recipient_name": services.display_name(transfer.recipient) if transfer.recipient else None,
        "holder_name": transfer.holder_name,
        "created_at": transfer.created_at,
        "expires_at": transfer.expires_at,
        "closed_at": transfer.closed_at,
        "link": link,
    }


def _reloaded(transfer_id) -> Transfer:
    return (
        Transfer.objects.select_related(
            "ticket__order_line", "ticket__session__event", "ticket__session__layout__venue"
        )
        .select_related("sender", "recipient")
        .get(pk=transfer_id)
    )


@router.post(
    "/transfers", auth=django_auth, response={201: TransferOut, **_ERRORS}, summary="Send a ticket"
)
def send_transfer(request, payload: TransferIn):
    """Offer one of your tickets to the account with this phone number or email address
    (``contact``), or make a one-time link (``channel`` link): its address is in ``link``,
    shown this once. Refused past the policy's deadline, over its transfer limit, for a
    ticket used at the gate, being refunded or already on its way to someone."""
    now = clock_now()
    user = request.auth
    made = {}

    def run():
        ticket = services.get_held_ticket(public_id=payload.ticket, user=user)
        sent = services.send_transfer(
            ticket=ticket,
            sender=user,
            channel=payload.channel,
            contact=payload.contact,
            now=now,
        )
        made["token"] = sent.token
        return 201, {"id": str(sent.transfer.pk)}

    status, body = run_idempotent(
        request,
        scope="transfers.send",
        user_id=user.pk,
        payload=payload.model_dump(mode="json"),
        now=now,
        run=run,
    )
    link = None
    if made.get("token"):
        link = request.build_absolute_uri(
            reverse("transfers:link", kwargs={"token": made["token"]})
        )
    return Status(status, _out(_reloaded(body["id"]), now, link=link))


@router.get(
    "/transfers",
    auth=django_auth,
    response={200: list[TransferOut], **_ERRORS},
    summary="Your transfers",
)
def list_transfers(request, query: Query[ListQuery]):
    """Transfers you sent (``box=sent``) or that were addressed to you or that you accepted
    (``box=received``), newest first, at most 100."""
    now = clock_now()
    user = request.auth
    found = selectors.list_sent(user) if query.box == "sent" else selectors.list_received(user)
    return [_out(t, now) for t in found[:LIST_MAX]]


def _answer(request, *, scope: str, payload: dict, action) -> Status:
    now = clock_now()
    user = request.auth

    def run():
        transfer = action(user, now)
        return 200, {"id": str(transfer.pk)}

    status, body = run_idempotent(
        request, scope=scope, user_id=user.pk, payload=payload, now=now, run=run
    )
    return Status(status, _out(_reloaded(body["id"]), now))


@router.post(
    "/transfers/accept-link",
    auth=django_auth,
    response={200: TransferOut, **_ERRORS},
    summary="Accept a ticket by its link",
)
def accept_link(request, payload: AcceptLinkIn):
    """Accept the ticket of a one-time link (``token``: the last part of its address). The
    ticket becomes yours with a new QR code in ``holder_name`` (default: your name); the old
    code no longer admits anyone."""
    return _answer(
        request,
        scope="transfers.accept_link",
        payload=payload.model_dump(mode="json"),
        action=lambda user, now: services.accept_link(
            token=payload.token, user=user, holder_name=payload.holder_name, now=now
        ),
    )


@router.post(
    "/transfers/{transfer_id}/accept",
    auth=django_auth,
    response={200: TransferOut, **_ERRORS},
    summary="Accept a ticket sent to you",
)
def accept_transfer(request, transfer_id: UUID, payload: AcceptIn):
    """Accept a transfer addressed to you by phone number or email address."""

    def action(user, now):
        transfer = services.get_transfer_for(transfer_id=transfer_id, user=user)
        return services.accept_transfer(
            transfer=transfer, user=user, holder_name=payload.holder_name, now=now
        )

    return _answer(
        request,
        scope="transfers.accept",
        payload={"id": str(transfer_id), **payload.model_dump(mode="json")},
        action=action,
    )


@router.post(
    "/transfers/{transfer_id}/cancel",
    auth=django_auth,
    response={200: TransferOut, **_ERRORS},
    summary="Cancel a transfer you sent",
)
def cancel_transfer(request, transfer_id: UUID):
    """Take back a transfer nobody has accepted yet; the ticket stays yours."""

    def action(user, now):
        transfer = services.get_transfer_for(transfer_id=transfer_id, user=user)
        return services.cancel_transfer(transfer=transfer, user=user, now=now)

    return _answer(
        request, scope="transfers.cancel", payload={"id": str(transfer_id)}, action=action
    )


@router.post(
    "/transfers/{transfer_id}/decline",
    auth=django_auth,
    response={200: TransferOut, **_ERRORS},
    summary="Decline a ticket sent to you",
)
def decline_transfer(request, transfer_id: UUID):
    """Say no to a transfer addressed to you; the ticket stays the sender's."""

    def action(user, now):
        transfer = services.get_transfer_for(transfer_id=transfer_id, user=user)
        return services.decline_transfer(transfer=transfer, user=user, now=now)

    return _answer(
        request, scope="transfers.decline", payload={"id": str(transfer_id)}, action=action
    )
