"""Order lifecycle: every state change is one idempotent, audited call.

    pending_payment → paid → fulfilled
    pending_payment → expired | cancelled
    paid/fulfilled → partially_refunded | refunded        (after-sales)

Money moves only through the append-only ledger; an order's ledger sums to what the buyer
has paid and not been refunded.
"""

import secrets
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from tessera.core import audit, locks
from tessera.core.errors import DomainError, InvalidInput, NotFound
from tessera.core.money import round_money
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.orders import changes
from tessera.orders.models import (
    LedgerEntry,
    LedgerKind,
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
)

# Unambiguous characters for order numbers read out over the phone (no 0/O, 1/I/L).
_NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = _("This order does not exist.")


class HoldNotUsable(DomainError):
    code = "hold_not_usable"
    status = 409
    default_message = _("This hold has expired or was released; please choose your places again.")


class OrderNotPayable(DomainError):
    code = "order_not_payable"
    status = 409
    default_message = _("This order can no longer be paid.")


class OrderNotCancellable(DomainError):
    code = "order_not_cancellable"
    status = 409
    default_message = _("Only unpaid orders can be cancelled.")


class PaymentMismatch(DomainError):
    code = "payment_mismatch"
    status = 409
    default_message = _("The amount paid does not match the order total.")


class AttendeesInvalid(InvalidInput):
    code = "attendees_invalid"
    default_message = _("Please give one attendee name (at most 80 characters) per ticket.")


def new_order_number(now: datetime) -> str:
    """``T`` + the UTC date + six random characters, e.g. ``T261122-K7M3QX``."""
    random_part = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(6))
    return f"T{now:%y%m%d}-{random_part}"


class ContactInvalid(InvalidInput):
    code = "contact_invalid"
    default_message = _("Please give a valid email address and phone number.")


_PHONE_CHARACTERS = frozenset("0123456789+-() ")


def clean_attendees(attendees: list | None, count: int) -> list[str]:
    """One name per place (at most 80 characters, no control characters), or all empty when
    no names were given. Raises AttendeesInvalid."""
    if not attendees:
        return [""] * count
    if len(attendees) != count:
        raise AttendeesInvalid(details={"expected": count, "given": len(attendees)})
    names = []
    for index, item in enumerate(attendees):
        name = item.get("name", "") if isinstance(item, dict) else item
        if not isinstance(name, str) or len(name.strip()) > 80 or not name.isprintable():
            raise AttendeesInvalid(details={"index": index})
        names.append(name.strip())
    return names


def clean_contact(*, email: str, phone: str) -> tuple[str, str]:
    """The order's email (empty: the buyer's own) and phone, checked. Raises
    ContactInvalid naming the field."""
    email = email.strip() if isinstance(email, str) else None
    phone = phone.strip() if isinstance(phone, str) else None
    if email:
        try:
            validate_email(email)
        except ValidationError:
            email = None
    if email is None or len(email) > 254:
        raise ContactInvalid(_("Please give a valid email address."), details={"email": "invalid"})
    if phone is None or len(phone) > 32 or not set(phone) <= _PHONE_CHARACTERS:
        raise ContactInvalid(_("Please give a valid phone number."), details={"phone": "invalid"})
    return email, phone


def place_order(
    *,
    hold: Hold,
    user,
    attendees: list | None = None,
    email: str = "",
    phone: str = "",
    now: datetime,
    prices: Mapping[int, Decimal] | None = None,
) -> Order:
    """Turn a live hold into an order awaiting payment, copying today's prices.

    ``prices``: the price of each place (unit id → price) when the seller quoted them (a
    group's quote, a box sold whole), instead of the zones' prices.

    Idempotent: ordering the same hold again returns the same order.
    Raises HoldNotUsable when the hold is not the user's, expired or released,
    ContactInvalid for an email or phone that is not one, AttendeesInvalid.
    """
    email, phone = clean_contact(email=email, phone=phone)
    with transaction.atomic():
        locked = (
            locks.lock_rows(Hold.objects.select_related("session__event"))
            .filter(pk=hold.pk, user=user)
            .first()
        )
        if locked is None:
            raise HoldNotUsable
        if locked.status in (HoldStatus.ORDERED, HoldStatus.SOLD):
            existing = Order.objects.filter(hold=locked).first()
            if existing is not None:
                return existing
        if not locked.is_live(now) or locked.status != HoldStatus.ACTIVE:
            raise HoldNotUsable
        units = list(
            locked.units.filter(status=UnitStatus.HELD, hold_expires_at__gt=now)
            .select_related("zone", "section", "seat__row")
            .order_by("section__sort_order", "seat__row__sort_order", "seat__position", "id")
        )
        if len(units) != locked.quantity:
            raise HoldNotUsable
        names = clean_attendees(attendees, len(units))
        currencies = {u.zone.currency for u in units}
        if len(currencies) != 1:
            raise InvalidInput(_("All places of one order must be priced in one currency."))
        currency = currencies.pop()
        if prices is not None and set(prices) != {u.pk for u in units}:
            raise HoldNotUsable
        total = round_money(
            sum((prices[u.pk] if prices else u.zone.price for u in units), Decimal(0)), currency
        )
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    order = Order.objects.create(
                        number=new_order_number(now),
                        user=user,
                        session_id=locked.session_id,
                        hold=locked,
                        channel_id=locked.channel_id,
                        total=total,
                        currency=currency,
                        email=email or user.email,
                        phone=phone,
                        created_at=now,
                        expires_at=locked.expires_at,
                    )
                break
            except IntegrityError:  # number collision: draw again
                continue
        else:  # pragma: no cover - 31^6 numbers a day
            raise DomainError(_("Could not allocate an order number; please retry."))
        lines = _create_lines(order, units, names, currency, prices)
        if locked.session.real_name_required:
            # One attendee identity per line, within the identity limit (tessera.identities).
            import_string(settings.REAL_NAME_BINDER)(
                order=order,
                lines=lines,
                session=locked.session,
                user=user,
                attendees=attendees,
                now=now,
            )
        inventory.mark_hold_ordered(hold=locked, now=now, is_locked=True)
        audit.record(
            action="order.placed",
            obj=order,
            actor=user,
            now=now,
            organization_id=locked.session.event.organization_id,
            data={"total": str(total), "places": len(units)},
        )
    return order


def _create_lines(
    order: Order, units, names, currency: str, prices: Mapping[int, Decimal] | None = None
) -> list[OrderLine]:
    """One line per place, with the zone's price (or the quoted one of ``prices``) and the
    place's labels copied."""
    return OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                unit=u,
                zone=u.zone,
                section_code=u.section.code,
                section_name=u.section.display_name,
                row_label=u.seat.row.label if u.seat else "",
                seat_label=u.seat.label if u.seat else "",
                zone_name=u.zone.display_name,
                price=round_money(prices[u.pk] if prices else u.zone.price, currency),
                currency=currency,
                attendee_name=name,
            )
            for u, name in zip(units, names, strict=True)
        ]
    )


def place_exchange_order(
    *, hold: Hold, user, total: Decimal, attendees: list[str], now: datetime
) -> Order:
    """An order for the places of a live hold whose price is settled elsewhere: an
    after-sales exchange, where the tickets given back pay part of the new places. Its lines
    copy today's prices; its ``total`` is only what the buyer still pays (zero or more).

    The hold stays active (not ``ordered``): the sale's one-statement confirmation
    (``sale.fastpath.confirm_sale``) confirms only orders of ordered holds, so a payment of
    this order always completes through ``payments.services.complete_payment`` and its
    ``settings.ORDER_PAID_HOOKS``, which carry out the exchange in the same transaction.
    Runs inside the caller's transaction. Raises HoldNotUsable, AttendeesInvalid.
    """
    locks.require_transaction()
    locked = (
        locks.lock_rows(Hold.objects.select_related("session__event"))
        .filter(pk=hold.pk, user=user)
        .first()
    )
    if locked is None or locked.status != HoldStatus.ACTIVE or not locked.is_live(now):
        raise HoldNotUsable
    if Order.objects.filter(hold=locked).exists():
        raise HoldNotUsable
    units = list(
        locked.units.filter(status=UnitStatus.HELD, hold_expires_at__gt=now)
        .select_related("zone", "section", "seat__row")
        .order_by("section__sort_order", "seat__row__sort_order", "seat__position", "id")
    )
    if len(units) != locked.quantity:
        raise HoldNotUsable
    names = clean_attendees(attendees, len(units))
    currency = units[0].zone.currency
    if any(u.zone.currency != currency for u in units):
        raise InvalidInput(_("All places of one order must be priced in one currency."))
    total = round_money(total, currency)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    number=new_order_number(now),
                    user=user,
                    session_id=locked.session_id,
                    hold=locked,
                    total=total,
                    currency=currency,
                    email=user.email,
                    created_at=now,
                    expires_at=locked.expires_at,
                )
            break
        except IntegrityError:  # number collision: draw again
            continue
    else:  # pragma: no cover - 31^6 numbers a day
        raise DomainError(_("Could not allocate an order number; please retry."))
    _create_lines(order, units, names, currency)
    audit.record(
        action="order.placed",
        obj=order,
        actor=user,
        now=now,
        organization_id=locked.session.event.organization_id,
        data={"total": str(total), "places": len(units), "exchange": True},
    )
    return order


def place_pass_order(
    *,
    holds: list[Hold],
    user,
    prices: list[Decimal],
    currency: str,
    email: str,
    attendee_name: str = "",
    now: datetime,
) -> Order:
    """One order for a pass: a line for the one place of each of ``holds`` (one hold per
    covered session, as ``inventory.hold_for_pass`` makes them), priced ``prices`` (the pass's
    price shared among its sessions), each in the name of the pass's holder
    (``attendee_name``). The order has no hold of its own: its places are sold by the pass's
    ``settings.ORDER_PLACE_SELLERS`` when it is paid. Its session is the first covered one.
    Runs inside the caller's transaction."""
    locks.require_transaction()
    if not holds or len(prices) != len(holds):
        raise InvalidInput(_("A pass order needs one price per covered session."))
    units = list(
        InventoryUnit.objects.filter(hold__in=holds, status=UnitStatus.HELD)
        .select_related("zone", "section", "seat__row")
        .order_by("session_id", "id")
    )
    if len(units) != len(holds):
        raise HoldNotUsable
    total = round_money(sum(prices, Decimal(0)), currency)
    expires_at = min(h.expires_at for h in holds)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    number=new_order_number(now),
                    user=user,
                    session_id=units[0].session_id,
                    hold=None,
                    total=total,
                    currency=currency,
                    email=email or user.email,
                    created_at=now,
                    expires_at=expires_at,
                )
            break
        except IntegrityError:  # number collision: draw again
            continue
    else:  # pragma: no cover - 31^6 numbers a day
        raise DomainError(_("Could not allocate an order number; please retry."))
    by_session = {h.session_id: price for h, price in zip(holds, prices, strict=True)}
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                unit=u,
                zone=u.zone,
                section_code=u.section.code,
                section_name=u.section.display_name,
                row_label=u.seat.row.label if u.seat else "",
                seat_label=u.seat.label if u.seat else "",
                zone_name=u.zone.display_name,
                price=round_money(by_session[u.session_id], currency),
                currency=currency,
                attendee_name=attendee_name[:80],
            )
            for u in units
        ]
    )
    audit.record(
        action="order.placed",
        obj=order,
        actor=user,
        now=now,
        organization_id=holds[0].session.event.organization_id,
        data={"total": str(total), "places": len(units), "pass": True},
    )
    return order


def place_resale_order(
    *, user, source_line: OrderLine, price: Decimal, expires_at: datetime, now: datetime
) -> Order:
    """An order awaiting payment for a place already sold to ``source_line`` (the official
    resale): no hold; one line with the source line's place and labels at ``price``. Its
    payment completes only through ``payments.complete_payment``, where
    ``settings.SOLD_PLACE_HANDOVERS`` hand the place over (``mark_order_paid``). Runs inside
    the caller's transaction."""
    locks.require_transaction()
    currency = source_line.currency
    price = round_money(price, currency)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    number=new_order_number(now),
                    user=user,
                    session_id=source_line.order.session_id,
                    total=price,
                    currency=currency,
                    email=user.email,
                    created_at=now,
                    expires_at=expires_at,
                )
            break
        except IntegrityError:  # number collision: draw again
            continue
    else:  # pragma: no cover - 31^6 numbers a day
        raise DomainError(_("Could not allocate an order number; please retry."))
    OrderLine.objects.create(
        order=order,
        unit_id=source_line.unit_id,
        zone_id=source_line.zone_id,
        section_code=source_line.section_code,
        section_name=source_line.section_name,
        row_label=source_line.row_label,
        seat_label=source_line.seat_label,
        zone_name=source_line.zone_name,
        price=price,
        currency=currency,
    )
    audit.record(
        action="order.placed",
        obj=order,
        actor=user,
        now=now,
        organization_id=source_line.order.session.event.organization_id,
        data={"total": str(price), "places": 1, "resale_of_line": source_line.pk},
    )
    return order


def book_carried_value(
    *, order: Order, amount: Decimal, reference: str, memo: str, now: datetime
) -> LedgerEntry:
    """Book money of this order that stays with it but now pays for something else (the
    tickets an exchange gives in return for this order's): a charge without a provider
    payment. It balances the refund ``refund_lines`` books for the lines given back, so the
    order's ledger still sums to what its provider holds. Runs inside the caller's
    transaction, which holds the order's lock. Idempotent per reference."""
    locks.require_transaction()
    existing = order.ledger.filter(kind=LedgerKind.CHARGE, reference=reference[:80]).first()
    if existing is not None:
        return existing
    if amount < 0:
        raise InvalidInput(_("A carried amount cannot be negative."))
    entry = LedgerEntry.objects.create(
        order=order,
        kind=LedgerKind.CHARGE,
        amount=round_money(amount, order.currency),
        currency=order.currency,
        reference=reference[:80],
        at=now,
        memo=memo[:200],
    )
    audit.record(
        action="order.value_carried",
        obj=order,
        now=now,
        data={"amount": str(amount), "reference": reference[:80]},
    )
    return entry


class AttendeesFixed(DomainError):
    code = "attendees_fixed"
    status = 409
    default_message = _(
        "The attendees of a real-name order cannot change; release the places and order again."
    )


def update_attendees(*, order: Order, user, attendees: list, now: datetime) -> Order:
    """Change attendee names while the order awaits payment. Raises AttendeesFixed for a
    real-name session's order (its identities are bound)."""
    with transaction.atomic():
        order = locks.lock_rows(Order.objects).get(pk=order.pk)
        if order.user_id != user.pk:
            raise OrderNotFound
        if order.status != OrderStatus.PENDING_PAYMENT:
            raise OrderNotPayable
        if order.session.real_name_required:
            raise AttendeesFixed()
        lines = list(order.lines.order_by("id"))
        names = clean_attendees(attendees, len(lines))
        for line, name in zip(lines, names, strict=True):
            line.attendee_name = name
        OrderLine.objects.bulk_update(lines, ["attendee_name"])
        audit.record(action="order.attendees", obj=order, actor=user, now=now)
    return order


def extend_order(*, order: Order, user, now: datetime) -> Order:
    """Give an unpaid order its hold's one extension; the pay-before time moves with it."""
    with transaction.atomic():
        order = locks.lock_rows(Order.objects).get(pk=order.pk)
        if order.user_id != user.pk:
            raise OrderNotFound
        if order.status != OrderStatus.PENDING_PAYMENT or order.hold_id is None:
            raise OrderNotPayable
        hold = inventory.extend_hold(hold=order.hold, user=user, now=now, for_order=True)
        order.expires_at = hold.expires_at
        order.save(update_fields=["expires_at"])
        audit.record(
            action="order.extended",
            obj=order,
            actor=user,
            now=now,
            data={"expires_at": hold.expires_at.isoformat()},
        )
    return order


def charged_amount(order: Order) -> Decimal:
    total = order.ledger.aggregate(s=Sum("amount"))["s"]
    return total if total is not None else Decimal("0.00")


def mark_order_paid(
    *,
    order: Order,
    payment_id,
    amount: Decimal,
    currency: str,
    now: datetime,
    reference: str = "",
) -> Order:
    """Confirm the sale: the hold's places become sold and the charge enters the ledger.

    Runs inside the caller's transaction (payments issues tickets in the same one).
    Idempotent per payment. ``payment_id`` None is a payment on account (a sales channel
    settles later; ``reference`` names the account): idempotent per order. A payment after
    the hold's expiry still completes while every place is still this hold's. Raises
    ``inventory.services.HoldLost`` otherwise, ``PaymentMismatch`` for a wrong amount,
    ``OrderNotPayable`` for a cancelled order.
    """
    with transaction.atomic():
        order = locks.lock_rows(Order.objects).get(pk=order.pk)
        charges = LedgerEntry.objects.filter(kind=LedgerKind.CHARGE, order=order)
        if payment_id is not None:
            charges = charges.filter(payment_id=payment_id)
        if charges.exists():
            return order
        if order.status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED):
            raise OrderNotPayable
        if round_money(amount, currency) != order.total or currency != order.currency:
            raise PaymentMismatch(
                details={
                    "expected": str(order.total),
                    "received": str(amount),
                    "currency": currency,
                }
            )
        lines = list(order.lines.filter(status=LineStatus.ACTIVE))
        if order.hold_id is None:
            # No hold of its own: a pass's places, held one hold per covered session, are
            # sold by an app of ``settings.ORDER_PLACE_SELLERS``; places sold already (the
            # official resale) are handed over by one of ``settings.SOLD_PLACE_HANDOVERS``;
            # or none claims the order and it cannot be paid.
            sold = any(
                import_string(path)(order=order, lines=lines, now=now)
                for path in getattr(settings, "ORDER_PLACE_SELLERS", ())
            ) or any(
                import_string(path)(order=order, now=now)
                for path in getattr(settings, "SOLD_PLACE_HANDOVERS", ())
            )
            if not sold:
                raise OrderNotPayable
        else:
            inventory.sell_hold(
                hold=order.hold, line_ids_by_unit={ln.unit_id: ln.id for ln in lines}, now=now
            )
        LedgerEntry.objects.create(
            order=order,
            kind=LedgerKind.CHARGE,
            amount=order.total,
            currency=order.currency,
            payment_id=payment_id,
            reference=reference[:80],
            at=now,
        )
        order.status = OrderStatus.PAID
        order.paid_at = now
        order.save(update_fields=["status", "paid_at"])
        changes.announce(order.pk, order.status)
        audit.record(
            action="order.paid",
            obj=order,
            actor=None,
            now=now,
            data=(
                {"payment": str(payment_id), "amount": str(order.total)}
                if payment_id is not None
                else {"account": reference, "amount": str(order.total)}
            ),
        )
    return order


def fulfil_order(*, order: Order, now: datetime) -> Order:
    """Paid and tickets issued. Idempotent."""
    with transaction.atomic():
        order = locks.lock_rows(Order.objects).get(pk=order.pk)
        if order.status == OrderStatus.FULFILLED:
            return order
        if order.status != OrderStatus.PAID:
            raise OrderNotPayable
        order.status = OrderStatus.FULFILLED
        order.fulfilled_at = now
        order.save(update_fields=["status", "fulfilled_at"])
        changes.announce(order.pk, order.status)
        audit.record(action="order.fulfilled", obj=order, now=now)
    return order


def cancel_order(*, order: Order, actor, reason: str, now: datetime) -> Order:
    """Cancel an unpaid order and free its places. Idempotent.

    Raises OrderNotCancellable once the order is paid.
    """
    with transaction.atomic():
        order = locks.lock_rows(Order.objects).get(pk=order.pk)
        if order.status == OrderStatus.CANCELLED:
            return order
        if order.status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED):
            raise OrderNotCancellable
        if order.hold_id:
            inventory.release_hold(hold=order.hold, user=None, now=now)
        order.status = OrderStatus.CANCELLED
        order.closed_at = now
        order.close_reason = reason[:200]
        order.save(update_fields=["status", "closed_at", "close_reason"])
        changes.announce(order.pk, order.status)
        audit.record(
            action="order.cancelled", obj=order, actor=actor, now=now, data={"reason": reason[:200]}
        )
    return order


def expire_order(*, order: Order, now: datetime) -> Order:
    """Mark an unpaid order whose hold ran out as expired. Its places are already free to
    others (lazy expiry); a late payment still completes while no one has taken them."""
    with transaction.atomic():
        order = locks.lock_rows(Order.objects).get(pk=order.pk)
        if order.status != OrderStatus.PENDING_PAYMENT or order.expires_at > now:
            return order
        order.status = OrderStatus.EXPIRED
        order.closed_at = now
        order.save(update_fields=["status", "closed_at"])
        changes.announce(order.pk, order.status)
        audit.record(action="order.expired", obj=order, now=now)
    return order


def expire_overdue_orders(*, now: datetime) -> int:
    ids = list(
        Order.objects.filter(status=OrderStatus.PENDING_PAYMENT, expires_at__lte=now).values_list(
            "id", flat=True
        )[:5000]
    )
    for order_id in ids:
        expire_order(order=Order(pk=order_id), now=now)
    return len(ids)


def record_lost_sale(
    *, order: Order, payment_id, amount: Decimal, currency: str, reason: str, now: datetime
) -> Order:
    """A payment arrived but the places are gone: book the charge, close the order with the
    reason shown to the buyer. The refund follows through ``record_refund``. Idempotent."""
    with transaction.atomic():
        order = locks.lock_rows(Order.objects).get(pk=order.pk)
        if not LedgerEntry.objects.filter(kind=LedgerKind.CHARGE, payment_id=payment_id).exists():
            LedgerEntry.objects.create(
                order=order,
                kind=LedgerKind.CHARGE,
                amount=round_money(amount, currency),
                currency=currency,
                payment_id=payment_id,
                at=now,
                memo="paid after places were lost",
            )
        if order.status in (
            OrderStatus.PENDING_PAYMENT,
            OrderStatus.EXPIRED,
            OrderStatus.CANCELLED,
        ):
            order.status = OrderStatus.CANCELLED
            order.closed_at = order.closed_at or now
            order.close_reason = reason[:200]
            order.save(update_fields=["status", "closed_at", "close_reason"])
        changes.announce(order.pk, order.status)
        OrderLine.objects.filter(order=order, status=LineStatus.ACTIVE).update(
            status=LineStatus.VOID
        )
        audit.record(
            action="order.lost_sale",
            obj=order,
            now=now,
            data={"payment": str(payment_id), "reason": reason[:200]},
        )
    return order


def record_refund(
    *,
    order: Order,
    payment_id,
    amount: Decimal,
    currency: str,
    reason: str,
    reference: str = "",
    now: datetime,
) -> LedgerEntry:
    """Book money returned to the buyer by a provider. Refunds never exceed what the ledger
    holds for the order. Idempotent per provider refund reference. The order's status is not
    changed here: refunding tickets is ``refund_lines`` (after-sales); this books money."""
    with transaction.atomic():
        order = locks.lock_rows(Order.objects).get(pk=order.pk)
        amount = round_money(amount, currency)
        if reference:
            existing = order.ledger.filter(kind=LedgerKind.REFUND, reference=reference).first()
            if existing is not None:
                return existing
        if amount <= 0 or amount > charged_amount(order):
            raise InvalidInput(_("A refund must be positive and at most what was paid."))
        entry = LedgerEntry.objects.create(
            order=order,
            kind=LedgerKind.REFUND,
            amount=-amount,
            currency=currency,
            payment_id=payment_id,
            reference=reference,
            at=now,
            memo=reason[:200],
        )
        audit.record(
            action="order.refund",
            obj=order,
            now=now,
            data={"amount": str(amount), "reason": reason[:200]},
        )
    return entry


def book_extra_payment(
    *, order: Order, payment_id, amount: Decimal, currency: str, memo: str, now: datetime
) -> LedgerEntry:
    """Book money a provider took for this order that does not pay for it (a second payment,
    an amount that differs from the order's): a charge, which its refund will balance.
    Idempotent per payment (one charge per payment is a database constraint)."""
    with transaction.atomic():
        existing = LedgerEntry.objects.filter(kind=LedgerKind.CHARGE, payment_id=payment_id).first()
        if existing is not None:
            return existing
        entry = LedgerEntry.objects.create(
            order=order,
            kind=LedgerKind.CHARGE,
            amount=round_money(amount, currency),
            currency=currency,
            payment_id=payment_id,
            at=now,
            memo=memo[:200],
        )
        audit.record(
            action="order.extra_payment",
            obj=order,
            now=now,
            data={"payment": str(payment_id), "amount": str(amount), "currency": currency},
        )
    return entry


class LinesNotRefundable(DomainError):
    code = "lines_not_refundable"
    status = 409
    default_message = _("These tickets have already been refunded or exchanged.")


REFUNDABLE_ORDER_STATES = (
    OrderStatus.PAID,
    OrderStatus.FULFILLED,
    OrderStatus.PARTIALLY_REFUNDED,
)


def refund_lines(
    *,
    order: Order,
    fees: dict[int, Decimal],
    reference: str,
    reason: str,
    now: datetime,
    line_status: str = LineStatus.REFUNDED,
) -> tuple[Decimal, Decimal]:
    """The order lines ``fees`` names (line id → fee kept) stop being sold to the buyer: they
    become refunded (or ``line_status``, e.g. void for an exchange), the ledger books a refund
    of their prices and the fees kept, and the order becomes refunded or partially refunded.
    Runs inside the caller's transaction, which holds the order's lock. Returns (price of the
    lines, fees). Raises LinesNotRefundable when a line is not active or not this order's.

    The ledger's sum for an order is therefore always the money its provider still holds:
    charges − refunded prices + fees kept (the provider returns price − fee)."""
    locks.require_transaction()
    line_ids = sorted(fees)
    lines = list(
        locks.lock_rows(OrderLine.objects.filter(order=order, pk__in=line_ids)).order_by("id")
    )
    if (
        len(lines) != len(line_ids)
        or any(line.status != LineStatus.ACTIVE for line in lines)
        or order.status not in REFUNDABLE_ORDER_STATES
    ):
        raise LinesNotRefundable(details={"lines": line_ids})
    price = sum((line.price for line in lines), Decimal(0))
    fee_total = sum((round_money(fees[line.pk], line.currency) for line in lines), Decimal(0))
    if any(fees[line.pk] < 0 or fees[line.pk] > line.price for line in lines):
        raise InvalidInput(_("A fee must be between zero and the ticket's price."))
    OrderLine.objects.filter(pk__in=line_ids).update(status=line_status)
    LedgerEntry.objects.create(
        order=order,
        kind=LedgerKind.REFUND,
        amount=-price,
        currency=order.currency,
        reference=reference[:80],
        at=now,
        memo=reason[:200],
    )
    if fee_total:
        LedgerEntry.objects.create(
            order=order,
            kind=LedgerKind.FEE,
            amount=fee_total,
            currency=order.currency,
            reference=reference[:80],
            at=now,
            memo=reason[:200],
        )
    still_active = order.lines.filter(status=LineStatus.ACTIVE).exists()
    order.status = OrderStatus.PARTIALLY_REFUNDED if still_active else OrderStatus.REFUNDED
    if not still_active:
        order.closed_at = order.closed_at or now
    order.save(update_fields=["status", "closed_at"])
    changes.announce(order.pk, order.status)
    audit.record(
        action="order.lines_refunded",
        obj=order,
        now=now,
        data={
            "lines": line_ids,
            "price": str(price),
            "fees": str(fee_total),
            "reference": reference[:80],
        },
    )
    return price, fee_total


def refund_orders_whole(
    *,
    lines: dict[int, list[int]],
    references: dict[int, str],
    reasons: dict[int, str],
    now: datetime,
    organization_id: int | None = None,
) -> None:
    """``refund_lines`` without a fee for many orders at once (a session change's batch):
    ``lines`` maps order id → the ids of all its active lines, which become refunded; each
    order's ledger books the refund of their prices (``references``/``reasons`` by order
    id) and the order becomes refunded. A few statements for the whole batch; the caller's
    transaction holds the orders' locks. Raises LinesNotRefundable (nothing changed) when a
    line is not active or an order keeps other active lines."""
    locks.require_transaction()
    order_ids = sorted(lines)
    all_ids = sorted(pk for ids in lines.values() for pk in ids)
    found = list(
        locks.lock_rows(OrderLine.objects.filter(order_id__in=order_ids, status=LineStatus.ACTIVE))
        .order_by("id")
        .values_list("pk", "order_id", "price", "currency")
    )
    if sorted(pk for pk, *_rest in found) != all_ids or any(
        order_id not in lines or pk not in lines[order_id] for pk, order_id, *_r in found
    ):
        raise LinesNotRefundable(details={"lines": all_ids})
    prices: dict[int, Decimal] = {}
    currencies: dict[int, str] = {}
    for _pk, order_id, price, currency in found:
        prices[order_id] = prices.get(order_id, Decimal(0)) + price
        currencies[order_id] = currency
    refundable = Order.objects.filter(pk__in=order_ids, status__in=REFUNDABLE_ORDER_STATES)
    if refundable.count() != len(order_ids):
        raise LinesNotRefundable(details={"lines": all_ids})
    OrderLine.objects.filter(pk__in=all_ids).update(status=LineStatus.REFUNDED)
    LedgerEntry.objects.bulk_create(
        (
            LedgerEntry(
                order_id=order_id,
                kind=LedgerKind.REFUND,
                amount=-prices[order_id],
                currency=currencies[order_id],
                reference=references[order_id][:80],
                at=now,
                memo=reasons[order_id][:200],
            )
            for order_id in order_ids
        ),
        batch_size=1000,
    )
    Order.objects.filter(pk__in=order_ids, closed_at__isnull=True).update(closed_at=now)
    Order.objects.filter(pk__in=order_ids).update(status=OrderStatus.REFUNDED)
    for order_id in order_ids:
        changes.announce(order_id, OrderStatus.REFUNDED)
    audit.record_many(
        action="order.lines_refunded",
        objects=[
            (
                Order(pk=order_id),
                {
                    "lines": sorted(lines[order_id]),
                    "price": str(prices[order_id]),
                    "fees": "0",
                    "reference": references[order_id][:80],
                },
            )
            for order_id in order_ids
        ],
        organization_id=organization_id,
        now=now,
    )


def relabel_lines(*, places: dict[int, dict]) -> None:
    """The places of these order lines moved (a session moved to another venue): each line
    (id → ``unit_id``, ``section_code``, ``section_name``, ``row_label``, ``seat_label``)
    now names its new place; the price and the zone stay. Runs inside the caller's
    transaction, which holds the orders' locks."""
    locks.require_transaction()
    fields = ["unit_id", "section_code", "section_name", "row_label", "seat_label"]
    OrderLine.objects.bulk_update(
        [OrderLine(pk=pk, **{f: values[f] for f in fields}) for pk, values in places.items()],
        ["unit", "section_code", "section_name", "row_label", "seat_label"],
        batch_size=1000,
    )


def get_order_for_user(*, number: str, user) -> Order:
    """The user's order with its lines. Raises OrderNotFound for unknown or foreign numbers."""
    order = (
        Order.objects.select_related("session__event", "session__layout__venue")
        .prefetch_related("lines")
        .filter(number=number, user=user)
        .first()
    )
    if order is None:
        raise OrderNotFound
    return order


def anonymise_buyer(*, user, now: datetime) -> int:
    """A person's deletion request (PIPL): their orders stay (the ledger and the law need
    them) but without the contact details and attendee names typed into them -> the number
    of orders changed. Call inside the caller's transaction."""
    with transaction.atomic():
        order_ids = list(Order.objects.filter(user=user).values_list("pk", flat=True))
        if not order_ids:
            return 0
        Order.objects.filter(pk__in=order_ids).update(email="", phone="")
        OrderLine.objects.filter(order_id__in=order_ids).update(
            attendee_name="", attendee_id_type="", attendee_id_number=""
        )
    return len(order_ids)
