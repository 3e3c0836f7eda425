"""Everything that writes group requests, quotes, ticket names, boxes and box offers.

Every entry point is keyword-only, takes ``now``, runs in one transaction and leaves an audit
entry; a rule broken raises a ``DomainError`` of ``groupsales.errors`` and writes nothing.
Places change only through the inventory's services (see the package docstring for how a
box stays whole).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from tessera.accounts.selectors import can_write
from tessera.catalog.models import EventStatus, PriceZone, Session
from tessera.core import audit, locks
from tessera.core.errors import DomainError, PermissionDenied
from tessera.core.money import round_money
from tessera.groupsales.errors import (
    BoxInvalid,
    BoxNotFound,
    BoxUnavailable,
    GroupRequestInvalid,
    NamesLocked,
    NotForSale,
    NotNameable,
    QuoteNotAcceptable,
    RequestNotFound,
    RequestNotQuotable,
)
from tessera.groupsales.models import (
    Box,
    BoxOffer,
    BoxSale,
    GroupRequest,
    GroupStatus,
    GroupTicketName,
)
from tessera.groupsales.validators import clean_tax_number
from tessera.inventory import services as inventory
from tessera.inventory.errors import PlacesUnavailable
from tessera.inventory.models import InventoryUnit
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderStatus
from tessera.tickets import services as tickets
from tessera.tickets.models import Ticket, TicketStatus
from tessera.venues.models import Layout, Seat, Section

MAX_GROUP_PLACES = 1000
MAX_MONEY = Decimal("9999999999.99")
PAID_ORDER = (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# -- input -------------------------------------------------------------------------------------


def _text(value, *, field: str, max_length: int, required: bool, errors: dict) -> str:
    text = value if isinstance(value, str) else ("" if value is None else None)
    if text is None or _CONTROL.search(text):
        errors[field] = _("Please enter plain text.")
        return ""
    text = text.strip()
    if required and not text:
        errors[field] = _("This field is required.")
    elif len(text) > max_length:
        errors[field] = _("At most %(n)d characters.") % {"n": max_length}
    return text


def clean_money(value, *, field: str, errors: dict, positive: bool = False) -> Decimal | None:
    """A Decimal amount of at most two decimals, 0 (or above 0) to 9,999,999,999.99."""
    if isinstance(value, (bool, float)):
        errors[field] = _("Enter an amount such as 1200.00.")
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[field] = _("Enter an amount such as 1200.00.")
        return None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        errors[field] = _("Enter an amount such as 1200.00.")
        return None
    if amount < 0 or amount > MAX_MONEY or (positive and amount == 0):
        errors[field] = _("Enter an amount between 0.01 and 9,999,999,999.99.")
        return None
    return round_money(amount)


def _quantity(value, errors: dict) -> int:
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= MAX_GROUP_PLACES:
        errors["quantity"] = _("Enter a number of places from 1 to %(n)d.") % {
            "n": MAX_GROUP_PLACES
        }
    return number


def _is_open(session: Session, now: datetime) -> bool:
    return session.event.status == EventStatus.PUBLISHED and session.is_on_sale(now)


# -- group requests -----------------------------------------------------------------------------


def submit_group_request(
    *, session: Session, contact, data: Mapping, now: datetime
) -> GroupRequest:
    """A company's request for a block of places of ``session``. ``data``: zone (id),
    quantity, budget, company_name, invoice_title, tax_number, invoice_address,
    invoice_phone, invoice_bank, invoice_email, notes. Raises NotForSale (not on sale, or a
    real-name session) or GroupRequestInvalid with ``details`` per field."""
    if not _is_open(session, now) or session.real_name_required:
        raise NotForSale()
    errors: dict[str, str] = {}
    zone_id = data.get("zone")
    zone = None
    if isinstance(zone_id, (int, str)) and str(zone_id).strip().isdigit():
        zone = PriceZone.objects.filter(session=session, pk=int(str(zone_id).strip())).first()
    if zone is None:
        errors["zone"] = _("Please choose a price zone of this session.")
    quantity = _quantity(data.get("quantity"), errors)
    budget = clean_money(data.get("budget"), field="budget", errors=errors)
    fields = {
        "company_name": _text(
            data.get("company_name"),
            field="company_name",
            max_length=120,
            required=True,
            errors=errors,
        ),
        "invoice_title": _text(
            data.get("invoice_title"),
            field="invoice_title",
            max_length=120,
            required=True,
            errors=errors,
        ),
        "invoice_address": _text(
            data.get("invoice_address"),
            field="invoice_address",
            max_length=200,
            required=False,
            errors=errors,
        ),
        "invoice_phone": _text(
            data.get("invoice_phone"),
            field="invoice_phone",
            max_length=40,
            required=False,
            errors=errors,
        ),
        "invoice_bank": _text(
            data.get("invoice_bank"),
            field="invoice_bank",
            max_length=200,
            required=False,
            errors=errors,
        ),
        "notes": _text(
            data.get("notes"), field="notes", max_length=2000, required=False, errors=errors
        ),
    }
    raw_tax = _text(
        data.get("tax_number"), field="tax_number", max_length=40, required=True, errors=errors
    )
    tax_number = clean_tax_number(raw_tax) if raw_tax else None
    if raw_tax and tax_number is None and "tax_number" not in errors:
        errors["tax_number"] = _(
            "Enter the 18-character unified social credit code or a 15- or 20-character tax id."
        )
    email = _text(
        data.get("invoice_email"),
        field="invoice_email",
        max_length=254,
        required=True,
        errors=errors,
    )
    if email and "invoice_email" not in errors:
        try:
            validate_email(email)
        except ValidationError:
            errors["invoice_email"] = _("Enter a valid email address.")
    if errors:
        raise GroupRequestInvalid(details=errors)
    with transaction.atomic():
        request = GroupRequest.objects.create(
            organization_id=session.event.organization_id,
            session=session,
            contact=contact,
            zone=zone,
            quantity=quantity,
            budget=budget,
            currency=zone.currency,
            tax_number=tax_number,
            invoice_email=email,
            created_at=now,
            **fields,
        )
        audit.record(
            action="group.requested",
            obj=request,
            actor=contact,
            organization_id=request.organization_id,
            now=now,
            data={"quantity": quantity, "zone": zone.pk, "budget": str(budget)},
        )
    return request


def _locked_request(request: GroupRequest) -> GroupRequest:
    found = (
        locks.lock_rows(GroupRequest.objects.select_related("session__event", "zone"))
        .filter(pk=request.pk)
        .first()
    )
    if found is None:
        raise RequestNotFound()
    return found


def _require_organizer(actor, request: GroupRequest) -> None:
    if not can_write(actor, request.organization_id):
        raise RequestNotFound()


def quote_group_request(
    *,
    request: GroupRequest,
    actor,
    unit_price,
    pay_by_at: datetime,
    names_by_at: datetime,
    now: datetime,
) -> GroupRequest:
    """The organizer's quote: the group price per place, and the places held in the
    contact's name until ``pay_by_at`` (taken from the zone's open pool now); names may be
    given until ``names_by_at``. Raises RequestNotFound (not the actor's organization),
    RequestNotQuotable, GroupRequestInvalid or PlacesUnavailable (too few free places:
    nothing is held)."""
    errors: dict[str, str] = {}
    price = clean_money(unit_price, field="unit_price", errors=errors)
    with transaction.atomic():
        locked = _locked_request(request)
        _require_organizer(actor, locked)
        if locked.status != GroupStatus.REQUESTED:
            raise RequestNotQuotable()
        session = locked.session
        if not isinstance(pay_by_at, datetime) or pay_by_at <= now:
            errors["pay_by_at"] = _("The payment deadline must be in the future.")
        elif pay_by_at >= session.starts_at:
            errors["pay_by_at"] = _("The payment deadline must be before the session starts.")
        if not isinstance(names_by_at, datetime) or names_by_at <= now:
            errors["names_by_at"] = _("The names cut-off must be in the future.")
        elif names_by_at > session.starts_at:
            errors["names_by_at"] = _("The names cut-off must be before the session starts.")
        elif isinstance(pay_by_at, datetime) and names_by_at < pay_by_at:
            errors["names_by_at"] = _("The names cut-off must not be before the payment deadline.")
        if errors:
            raise GroupRequestInvalid(details=errors)
        if not _is_open(session, now):
            raise NotForSale()
        hold = inventory.hold_for_group(
            session=session,
            user=locked.contact,
            zone=locked.zone,
            quantity=locked.quantity,
            expires_at=pay_by_at,
            now=now,
        )
        locked.status = GroupStatus.QUOTED
        locked.unit_price = price
        locked.hold = hold
        locked.pay_by_at = pay_by_at
        locked.names_by_at = names_by_at
        locked.quoted_at = now
        locked.quoted_by = actor
        locked.save()
        audit.record(
            action="group.quoted",
            obj=locked,
            actor=actor,
            organization_id=locked.organization_id,
            now=now,
            data={"unit_price": str(price), "pay_by": pay_by_at.isoformat(), "hold": str(hold.pk)},
        )
    return locked


def decline_group_request(
    *, request: GroupRequest, actor, reason: str, now: datetime
) -> GroupRequest:
    """The organizer declines a request not yet quoted."""
    errors: dict[str, str] = {}
    reason = _text(reason, field="reason", max_length=200, required=False, errors=errors)
    if errors:
        raise GroupRequestInvalid(details=errors)
    with transaction.atomic():
        locked = _locked_request(request)
        _require_organizer(actor, locked)
        if locked.status != GroupStatus.REQUESTED:
            raise RequestNotQuotable()
        locked.status = GroupStatus.DECLINED
        locked.decline_reason = reason
        locked.quoted_at = locked.closed_at = now
        locked.quoted_by = actor
        locked.save()
        audit.record(
            action="group.declined",
            obj=locked,
            actor=actor,
            organization_id=locked.organization_id,
            now=now,
            data={"reason": reason},
        )
    return locked


def accept_quote(*, request: GroupRequest, user, now: datetime) -> Order:
    """The contact accepts the quote: an order of the held places at the group price,
    awaiting payment until the deadline (the normal payment step pays it). Accepting
    again returns the same order. Raises RequestNotFound (not the contact) or
    QuoteNotAcceptable (not quoted, or past the deadline)."""
    with transaction.atomic():
        locked = _locked_request(request)
        if locked.contact_id != user.pk:
            raise RequestNotFound()
        if locked.status == GroupStatus.ORDERED and locked.order_id:
            return locked.order
        if locked.status != GroupStatus.QUOTED or locked.hold_id is None or locked.pay_by_at <= now:
            raise QuoteNotAcceptable()
        unit_ids = list(
            InventoryUnit.objects.filter(hold_id=locked.hold_id).values_list("id", flat=True)
        )
        try:
            order = orders.place_order(
                hold=locked.hold,
                user=user,
                email=locked.invoice_email,
                now=now,
                prices=dict.fromkeys(unit_ids, locked.unit_price),
            )
        except orders.HoldNotUsable as exc:
            raise QuoteNotAcceptable() from exc
        locked.status = GroupStatus.ORDERED
        locked.order = order
        locked.save(update_fields=["status", "order"])
        audit.record(
            action="group.accepted",
            obj=locked,
            actor=user,
            organization_id=locked.organization_id,
            now=now,
            data={"order": order.number, "total": str(order.total)},
        )
    return order


def settle_group_sales(*, now: datetime) -> dict:
    """The periodic tidy-up: ordered requests whose order was paid become paid; quoted or
    ordered requests past their payment deadline expire, their unpaid order cancelled and
    their hold released (the places go back: the waiting list first). Boxes whose buyer's
    hold ran out are set aside again. Returns counts."""
    paid = expired = 0
    for request_id in GroupRequest.objects.filter(
        status=GroupStatus.ORDERED, order__status__in=PAID_ORDER
    ).values_list("id", flat=True)[:500]:
        with transaction.atomic():
            paid += GroupRequest.objects.filter(pk=request_id, status=GroupStatus.ORDERED).update(
                status=GroupStatus.PAID
            )
    due = GroupRequest.objects.filter(
        status__in=(GroupStatus.QUOTED, GroupStatus.ORDERED), pay_by_at__lte=now
    ).values_list("id", flat=True)[:500]
    for request_id in due:
        with transaction.atomic():
            locked = _locked_request(GroupRequest(pk=request_id))
            if locked.status not in (GroupStatus.QUOTED, GroupStatus.ORDERED):
                continue
            order = locked.order
            if order is not None and order.status in PAID_ORDER:
                locked.status = GroupStatus.PAID
                locked.save(update_fields=["status"])
                paid += 1
                continue
            if order is not None and order.status in (
                OrderStatus.PENDING_PAYMENT,
                OrderStatus.EXPIRED,
            ):
                orders.cancel_order(order=order, actor=None, reason="group quote expired", now=now)
            elif locked.hold is not None:
                inventory.release_hold(hold=locked.hold, user=None, now=now)
            locked.status = GroupStatus.EXPIRED
            locked.closed_at = now
            locked.save(update_fields=["status", "closed_at"])
            audit.record(
                action="group.expired",
                obj=locked,
                actor=None,
                organization_id=locked.organization_id,
                now=now,
            )
            expired += 1
    restored = restore_lapsed_boxes(now=now)
    return {"paid": paid, "expired": expired, "box_places_restored": restored}


def group_tickets(request: GroupRequest) -> list[Ticket]:
    if request.order_id is None:
        return []
    return list(
        Ticket.objects.filter(order_line__order_id=request.order_id)
        .select_related("order_line")
        .order_by("order_line_id")
    )


def name_group_tickets(
    *, request: GroupRequest, user, names: Mapping[int, str], now: datetime
) -> int:
    """The contact names the group's tickets (ticket id → name) before the cut-off: each
    ticket whose name changes is reissued with it (its credential signs the holder's name).
    Blank names are left alone. Returns how many tickets were named. Raises
    RequestNotFound, NotNameable (not paid yet), NamesLocked (past the cut-off) or
    GroupRequestInvalid (nothing is written)."""
    errors: dict[str, str] = {}
    with transaction.atomic():
        locked = _locked_request(request)
        if locked.contact_id != user.pk:
            raise RequestNotFound()
        if locked.effective_status != GroupStatus.PAID:
            raise NotNameable()
        if locked.names_by_at is None or now >= locked.names_by_at:
            raise NamesLocked()
        own = {t.pk: t for t in group_tickets(locked)}
        clean: dict[int, str] = {}
        for raw_id, raw_name in names.items():
            try:
                ticket_id = int(raw_id)
            except (TypeError, ValueError):
                ticket_id = -1
            if ticket_id not in own:
                errors[f"ticket_{raw_id}"] = _("Not a ticket of this group.")
                continue
            name = _text(
                raw_name,
                field=f"ticket_{ticket_id}",
                max_length=80,
                required=False,
                errors=errors,
            )
            if name:
                clean[ticket_id] = name
        if errors:
            raise GroupRequestInvalid(details=errors)
        named = 0
        existing = {n.ticket_id: n for n in GroupTicketName.objects.filter(request=locked)}
        for ticket_id, name in sorted(clean.items()):
            ticket = own[ticket_id]
            if ticket.status != TicketStatus.VALID:
                continue
            if ticket_id in existing and existing[ticket_id].name == name:
                continue
            tickets.reissue_ticket(ticket=ticket, holder_name=name, now=now, actor=user)
            GroupTicketName.objects.update_or_create(
                ticket=ticket, defaults={"request": locked, "name": name, "named_at": now}
            )
            named += 1
        if named:
            audit.record(
                action="group.named",
                obj=locked,
                actor=user,
                organization_id=locked.organization_id,
                now=now,
                data={"tickets": named},
            )
    return named


# -- boxes --------------------------------------------------------------------------------------


def create_box(
    *,
    layout: Layout,
    section: Section,
    name: str,
    seat_ids: list[int],
    actor,
    now: datetime,
    name_en: str = "",
    extras: str = "",
    extras_en: str = "",
) -> Box:
    """A box of ``section``'s seats. Raises BoxInvalid: seats of another section or
    layout, seats of another box, no seat, a name taken."""
    errors: dict[str, str] = {}
    name = _text(name, field="name", max_length=80, required=True, errors=errors)
    name_en = _text(name_en, field="name_en", max_length=80, required=False, errors=errors)
    extras = _text(extras, field="extras", max_length=300, required=False, errors=errors)
    extras_en = _text(extras_en, field="extras_en", max_length=300, required=False, errors=errors)
    if section.layout_id != layout.pk:
        errors["section"] = _("The section is not one of this layout.")
    ids = sorted({int(s) for s in seat_ids if isinstance(s, int) and not isinstance(s, bool)})
    seats = list(Seat.objects.filter(pk__in=ids))
    if not ids or len(seats) != len(ids) or len(ids) > 200:
        errors["seats"] = _("Choose 1 to 200 seats of the layout.")
    elif any(s.section_id != section.pk for s in seats):
        errors["seats"] = _("Every seat of a box must be in its section.")
    elif Box.objects.filter(layout=layout, seats__in=ids).exists():
        errors["seats"] = _("A seat belongs to another box already.")
    if Box.objects.filter(layout=layout, name=name).exists():
        errors["name"] = _("Another box of this layout has this name.")
    if errors:
        raise BoxInvalid(details=errors)
    with transaction.atomic():
        box = Box.objects.create(
            layout=layout,
            section=section,
            name=name,
            name_en=name_en,
            extras=extras,
            extras_en=extras_en,
            capacity=len(ids),
        )
        box.seats.set(ids)
        audit.record(
            action="box.created",
            obj=box,
            actor=actor,
            organization_id=layout.venue.organization_id,
            now=now,
            data={"seats": ids},
        )
    return box


def box_unit_ids(*, box: Box, session_id: int) -> list[int]:
    return sorted(
        InventoryUnit.objects.filter(
            session_id=session_id, seat_id__in=box.seats.values("id")
        ).values_list("id", flat=True)
    )


def offer_box(
    *,
    box: Box,
    session: Session,
    price,
    actor,
    now: datetime,
    extras: str = "",
    extras_en: str = "",
    on_sale: bool = True,
) -> BoxOffer:
    """Sell ``box`` whole for ``session`` at ``price`` (update the offer when there is
    one). Putting it on sale sets every place of the box aside, all or none. Raises
    PermissionDenied (not the event's organizer), BoxInvalid (another layout, a
    real-name session, a bad price) or BoxUnavailable (a place of the box is sold or
    held)."""
    if not can_write(actor, session.event.organization_id):
        raise PermissionDenied()
    errors: dict[str, str] = {}
    amount = clean_money(price, field="price", errors=errors, positive=True)
    extras = _text(extras, field="extras", max_length=300, required=False, errors=errors)
    extras_en = _text(extras_en, field="extras_en", max_length=300, required=False, errors=errors)
    if box.layout_id != session.layout_id:
        errors["session"] = _("The session is not played on this box's layout.")
    if session.real_name_required:
        errors["session"] = _("Real-name sessions sell no boxes.")
    if errors:
        raise BoxInvalid(details=errors)
    unit_ids = box_unit_ids(box=box, session_id=session.pk)
    if len(unit_ids) != box.capacity:
        raise BoxUnavailable(details={"places": len(unit_ids), "capacity": box.capacity})
    currency = session.price_zones.values_list("currency", flat=True).first() or "CNY"
    with transaction.atomic():
        offer, _created = BoxOffer.objects.select_for_update().get_or_create(
            box=box,
            session=session,
            defaults={"price": amount, "currency": currency, "created_at": now},
        )
        offer.price, offer.extras, offer.extras_en = amount, extras, extras_en
        if on_sale:
            try:
                inventory.reserve_units(
                    session=session, unit_ids=unit_ids, reason=box.reason, actor=actor, now=now
                )
            except PlacesUnavailable as exc:
                raise BoxUnavailable(details=exc.details) from exc
            offer.is_on_sale = True
        elif offer.is_on_sale:
            offer.is_on_sale = False
            offer.save()
            inventory.release_reserved_units(
                session=session, reason=box.reason, actor=actor, now=now
            )
        offer.save()
        audit.record(
            action="box.offered",
            obj=offer,
            actor=actor,
            organization_id=session.event.organization_id,
            now=now,
            data={"price": str(amount), "on_sale": offer.is_on_sale},
        )
    return offer


def split_price(price: Decimal, count: int) -> list[Decimal]:
    """``price`` over ``count`` lines to the cent: equal shares, the rounding cents on the
    first line, summing exactly to ``price``."""
    share = (price / count).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    return [price - share * (count - 1), *([share] * (count - 1))]


def buy_box(*, offer: BoxOffer, user, now: datetime, admission_pass: str | None = None) -> Order:
    """Hold every place of the box for ``user`` in one step and place the order (one line
    per seat, the box price split over them), awaiting payment. Raises BoxNotFound (not on
    sale), NotOnSale and the hold guards' errors, or BoxUnavailable (someone else holds or
    bought it)."""
    offer = (
        BoxOffer.objects.select_related("box", "session__event", "session__layout")
        .filter(pk=offer.pk, is_on_sale=True)
        .first()
    )
    if offer is None:
        raise BoxNotFound()
    unit_ids = box_unit_ids(box=offer.box, session_id=offer.session_id)
    if len(unit_ids) != offer.box.capacity:
        raise BoxUnavailable()
    with transaction.atomic():
        try:
            hold = inventory.hold_reserved_units(
                session=offer.session,
                user=user,
                unit_ids=unit_ids,
                reason=offer.box.reason,
                now=now,
                admission_pass=admission_pass,
            )
        except PlacesUnavailable as exc:
            raise BoxUnavailable() from exc
        shares = split_price(offer.price, len(unit_ids))
        order = orders.place_order(
            hold=hold,
            user=user,
            now=now,
            prices=dict(zip(unit_ids, shares, strict=True)),
        )
        BoxSale.objects.create(offer=offer, user=user, hold=hold, order=order, created_at=now)
        audit.record(
            action="box.bought",
            obj=offer,
            actor=user,
            organization_id=offer.session.event.organization_id,
            now=now,
            data={"order": order.number, "price": str(offer.price)},
        )
    return order


def keep_boxes_whole(*, session_id: int, now: datetime) -> None:
    """``settings.PLACES_RETURNED_HOOKS`` (first): places of a box on sale that came back
    (a refund, a released or lapsed hold, an organizer's unblock) are set aside for the
    box again in the same transaction, before the waiting list or anyone sees them."""
    offers = list(
        BoxOffer.objects.filter(session_id=session_id, is_on_sale=True).select_related("box")
    )
    for offer in offers:
        unit_ids = box_unit_ids(box=offer.box, session_id=session_id)
        if unit_ids:
            inventory.restore_reserved_units(
                session_id=session_id, unit_ids=unit_ids, reason=offer.box.reason, now=now
            )


def restore_lapsed_boxes(*, now: datetime) -> int:
    """Boxes on sale whose buyer's hold ran out unpaid are set aside again (the periodic
    task). Returns how many places changed."""
    changed = 0
    for offer in BoxOffer.objects.filter(is_on_sale=True).select_related("box")[:2000]:
        unit_ids = box_unit_ids(box=offer.box, session_id=offer.session_id)
        if not unit_ids:
            continue
        with transaction.atomic():
            changed += inventory.restore_reserved_units(
                session_id=offer.session_id,
                unit_ids=unit_ids,
                reason=offer.box.reason,
                now=now,
            )
    return changed


__all__ = [
    "DomainError",
    "accept_quote",
    "buy_box",
    "create_box",
    "decline_group_request",
    "keep_boxes_whole",
    "name_group_tickets",
    "offer_box",
    "quote_group_request",
    "settle_group_sales",
    "submit_group_request",
]
