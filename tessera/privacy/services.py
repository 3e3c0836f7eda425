"""A person's deletion request: the account closes and everything that identifies them goes,
except what the law and the ledger require, which stays without names, phones or emails.

What stays, anonymised: orders (number, session, places, prices, status; no email, phone or
attendee names), tickets (no holder name), payments, refunds and the ledger (they name no
person), the audit log (ids only), the account row (``deleted-<id>``, no password, inactive)
so those rows still point somewhere. What goes: the profile, checkout drafts, memberships,
two-step sign-in, every session.
"""

from datetime import datetime

from django.contrib.auth import authenticate
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tessera.accounts import services as accounts
from tessera.core import audit
from tessera.identities import services as identities
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderStatus
from tessera.privacy.errors import DeletionNotPossibleYet, WrongPassword
from tessera.storefront import steps
from tessera.tickets import services as tickets


def deletion_blockers(*, user, now: datetime) -> list[str]:
    """Why the account cannot be deleted now (empty: it can), in the active language."""
    reasons = []
    if user.is_superuser:
        reasons.append(_("A superuser account is closed by another operator in the back office."))
    if Order.objects.filter(user=user, status=OrderStatus.PENDING_PAYMENT).exists():
        reasons.append(_("An order of yours is waiting for payment: pay or cancel it first."))
    if tickets.has_usable_tickets(user=user, now=now):
        reasons.append(
            _(
                "You hold tickets for events that have not ended yet. Your account can be "
                "deleted once they are over, or after they are refunded."
            )
        )
    return [str(r) for r in reasons]


def record_export(*, user, now: datetime) -> None:
    """Note in the audit log that the person downloaded their data."""
    with transaction.atomic(durable=True):
        audit.record(action="privacy.personal_data_exported", obj=user, actor=user, now=now)


def erase_person(*, user, password: str, now: datetime, request=None) -> None:
    """Delete ``user``'s personal data and close the account, after checking the password.

    Raises WrongPassword, or DeletionNotPossibleYet (with the reasons in ``details``) while
    a pending order or usable tickets need the person's details.
    """
    if authenticate(request, username=user.get_username(), password=password or "") is None:
        raise WrongPassword()
    with transaction.atomic(durable=True):
        blockers = deletion_blockers(user=user, now=now)
        if blockers:
            raise DeletionNotPossibleYet(" ".join(blockers), details={"reasons": blockers})
        counts = {
            "orders": orders.anonymise_buyer(user=user, now=now),
            "tickets": tickets.anonymise_holders(user=user, now=now),
            "drafts": steps.forget_drafts(user=user),
            "identities": identities.forget_person(user=user),
        }
        audit.record(
            action="privacy.personal_data_erased", obj=user, actor=user, now=now, data=counts
        )
        accounts.close_account(user=user, now=now)
