"""The box office: staff at the venue sell places and take the money in cash or by card.

A sale at the counter is one transaction (like a channel's one-call order, T5): the places
of the choice are held through the organization's box-office sales channel (created on
first need; it sells the open pool and its own allocation, bounded by the session's
per-order limit, with no waiting room and no per-account limit), the order is placed on
that channel's account with the buyer's name and phone, a ``box_office`` payment recording
the method (``cash`` or ``card``) and the staff member is written as succeeded, the order is
marked paid against it, its tickets are issued and it is fulfilled; the audit log names the
staff member. Nothing is sent to any provider.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tessera.catalog.models import Session
from tessera.core import audit
from tessera.core.errors import InvalidInput
from tessera.inventory import seatmap
from tessera.inventory.models import SalesChannel
from tessera.orders import services as orders
from tessera.orders.models import Order
from tessera.payments.models import Payment, PaymentStatus, Provider
from tessera.payments.providers.box_office import METHODS
from tessera.sale.channels import _channel_account
from tessera.sale.choices import PlaceChoice, hold_places
from tessera.sale.errors import RealNameNotSupported
from tessera.tickets.services import issue_tickets


class PaymentMethodInvalid(InvalidInput):
    code = "payment_method_invalid"
    default_message = _("Choose cash or card.")


class BuyerNameRequired(InvalidInput):
    code = "buyer_name_required"
    default_message = _("Enter the buyer's name (at most 80 characters).")


def box_office_channel(organization) -> SalesChannel:
    """The organization's box-office channel, created the first time it sells."""
    channel, _created = SalesChannel.objects.get_or_create(
        code=f"box-office-{organization.pk}",
        defaults={
            "organization": organization,
            "name": f"{organization.name} 售票处"[:80],
            "name_en": f"{organization.name_en or organization.name} box office"[:80],
        },
    )
    return channel


def sell_at_box_office(
    *,
    session: Session,
    choice: PlaceChoice,
    buyer_name: str,
    phone: str,
    method: str,
    actor,
    now: datetime,
    email: str = "",
) -> Order:
    """Sell the places of ``choice`` at the counter, paid in ``method``; returns the
    fulfilled order with its tickets issued (holders: the buyer's name).

    Raises PaymentMethodInvalid, BuyerNameRequired, ContactInvalid, and what holding raises
    (NotOnSale, PlacesUnavailable, LimitExceeded, PlacesUnknown, ScopeInvalid),
    RealNameNotSupported (a real-name session); nothing is written then.
    """
    if session.real_name_required:
        raise RealNameNotSupported()
    if method not in METHODS:
        raise PaymentMethodInvalid(details={"method": method})
    name = (buyer_name or "").strip() if isinstance(buyer_name, str) else ""
    if not name or len(name) > 80 or not name.isprintable():
        raise BuyerNameRequired
    email, phone = orders.clean_contact(email=email, phone=phone)
    organization = session.event.organization
    with transaction.atomic():
        channel = box_office_channel(organization)
        account = _channel_account(channel)
        hold = hold_places(session=session, user=account, choice=choice, now=now, channel=channel)
        order = orders.place_order(
            hold=hold,
            user=account,
            attendees=[name] * hold.quantity,
            email=email,
            phone=phone,
            now=now,
        )
        payment = Payment.objects.create(
            order=order,
            provider=Provider.BOX_OFFICE,
            status=PaymentStatus.SUCCEEDED,
            amount=order.total,
            currency=order.currency,
            provider_reference=f"{method}:{actor.get_username()}"[:80],
            created_at=now,
            completed_at=now,
            options={"method": method, "staff": actor.pk, "buyer": name},
        )
        orders.mark_order_paid(
            order=order,
            payment_id=payment.pk,
            amount=order.total,
            currency=order.currency,
            now=now,
            reference=f"box_office:{method}",
        )
        issue_tickets(order=order, now=now)
        order = orders.fulfil_order(order=order, now=now)
        audit.record(
            action="order.box_office_sale",
            obj=order,
            actor=actor,
            now=now,
            organization_id=organization.pk,
            data={
                "method": method,
                "payment": str(payment.pk),
                "amount": str(order.total),
                "places": hold.quantity,
                "buyer": name,
            },
        )
    transaction.on_commit(lambda s=session.pk: seatmap.bump_version(s))
    return order
