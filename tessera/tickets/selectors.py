"""Reads of tickets and session keys used by the pages, the API, the PDF and gate devices."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Max, Q, QuerySet
from django.utils import dateformat
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tessera.core.errors import NotFound
from tessera.core.i18n import localized
from tessera.core.money import format_money
from tessera.orders.models import Order
from tessera.tickets.models import KeyPurpose, Revocation, SessionKey, Ticket, TicketStatus


def public_keys_for_session(session) -> dict[int, bytes]:
    """Every signing key of ``session`` by key id, as raw 32-byte Ed25519 public keys.

    Retired keys stay in the list: credentials they signed remain valid until reissued.
    """
    rows = SessionKey.objects.filter(session=session, purpose=KeyPurpose.SIGNING).values_list(
        "kid", "public_key"
    )
    return {kid: bytes(public_key) for kid, public_key in rows}


def list_signing_keys(session) -> QuerySet[SessionKey]:
    return SessionKey.objects.filter(session=session, purpose=KeyPurpose.SIGNING).order_by("kid")


def revocation_list(session, *, since: datetime | None = None) -> set[tuple[int, int]]:
    """(ticket id, up to version) pairs a scanner must refuse: each revokes that version of
    the ticket and every older one. One pair per ticket, its highest revoked version.

    With ``since``, only tickets with a revocation at or after that instant (for a
    scanner that synced before).
    """
    qs = Revocation.objects.filter(session=session)
    if since is not None:
        qs = qs.filter(ticket_id__in=qs.filter(at__gte=since).values("ticket_id"))
    rows = qs.values("ticket_id").annotate(up_to=Max("version")).values_list("ticket_id", "up_to")
    return set(rows)


def _tickets_for_display() -> QuerySet[Ticket]:
    return Ticket.objects.select_related(
        "order_line__order", "session__event", "session__layout__venue"
    )


def held_by(user) -> Q:
    """Tickets whose holder account is ``user``: given to them by a transfer, or bought by
    them and never given away (``Ticket.holder`` empty)."""
    return Q(holder=user) | Q(holder__isnull=True, order_line__order__user=user)


def get_ticket_of_owner(*, public_id: UUID | str, user) -> Ticket:
    """The ticket with ``public_id`` if ``user`` bought it or holds it now (a transfer's
    recipient); NotFound otherwise (also for someone else's ticket, so ticket ids cannot be
    probed). A buyer who gave the ticket away still sees it, without its credential
    (``Ticket.is_held_by``)."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    try:
        return _tickets_for_display().get(
            Q(order_line__order__user=user) | Q(holder=user), public_id=public_id
        )
    except (Ticket.DoesNotExist, ValidationError, ValueError) as exc:
        raise NotFound() from exc


def get_order_of_owner(*, number: str, user) -> Order:
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    try:
        return Order.objects.select_related("session__event", "session__layout__venue").get(
            number=number, user=user
        )
    except Order.DoesNotExist as exc:
        raise NotFound() from exc


def list_order_tickets(order: Order, *, valid_only: bool = False) -> list[Ticket]:
    """The order's tickets in the order of its lines."""
    qs = _tickets_for_display().filter(order_line__order=order)
    if valid_only:
        qs = qs.filter(status=TicketStatus.VALID)
    return list(qs.order_by("order_line_id"))


# -- what a ticket shows -----------------------------------------------------------------

_LONG_FORMAT = {"zh": "Y年n月j日 l H:i", "en": "l, j F Y, H:i"}


def _format_local(value: datetime) -> str:
    """``value`` formatted in its own zone (Django's ``date`` filter would convert it)."""
    lang = "en" if (get_language() or "").lower().startswith("en") else "zh"
    return dateformat.format(value, _LONG_FORMAT[lang])


@dataclass(frozen=True)
class TicketSummary:
    """What a ticket shows a person (page, API, PDF), in the active language."""

    number: str
    public_id: UUID
    status: str
    status_label: str
    is_valid: bool
    version: int
    holder_name: str
    event_name: str
    starts_at_local: datetime
    starts_at_text: str
    time_zone: str
    venue_name: str
    venue_address: str
    section_code: str
    section_name: str
    row_label: str
    seat_label: str
    is_standing: bool
    place_text: str
    zone_name: str
    price: Decimal
    currency: str
    price_text: str
    order_number: str


def summarize_ticket(ticket: Ticket) -> TicketSummary:
    """Expects a ticket loaded with its order line, order, session, event and venue
    (``get_ticket_of_owner`` and ``list_order_tickets`` do that)."""
    line = ticket.order_line
    session = ticket.session
    venue = session.layout.venue
    local = session.starts_at.astimezone(venue.zone_info)
    is_standing = not line.seat_label
    if is_standing:
        place = _("%(section)s · standing") % {"section": line.section_name or line.section_code}
    else:
        place = _("%(section)s · row %(row)s · seat %(seat)s") % {
            "section": line.section_name or line.section_code,
            "row": line.row_label,
            "seat": line.seat_label,
        }
    return TicketSummary(
        number=ticket.number,
        public_id=ticket.public_id,
        status=ticket.status,
        status_label=str(TicketStatus(ticket.status).label),
        is_valid=ticket.status == TicketStatus.VALID,
        version=ticket.version,
        holder_name=ticket.holder_name,
        event_name=session.event.display_name,
        starts_at_local=local,
        starts_at_text=_format_local(local),
        time_zone=venue.time_zone,
        venue_name=venue.display_name,
        venue_address=localized(venue, "address"),
        section_code=line.section_code,
        section_name=line.section_name,
        row_label=line.row_label,
        seat_label=line.seat_label,
        is_standing=is_standing,
        place_text=place,
        zone_name=line.zone_name,
        price=line.price,
        currency=line.currency,
        price_text=format_money(line.price, line.currency),
        order_number=line.order.number,
    )
