"""Refusals of a hold or a payment over a purchase limit: 409 with a code per limit."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.inventory.errors import LimitExceeded
from tessera.orders.services import OrderNotPayable


class PurchaseLimitReached(LimitExceeded):
    status = 409
    kind = ""

    @classmethod
    def build(cls, *, limit: int, already: int, requested: int, scope: str):
        left = max(0, limit - already)
        where = gettext("this session") if scope == "session" else gettext("this event")
        message = gettext(
            "At most %(limit)d tickets %(per)s for %(where)s; %(left)d left, you asked for "
            "%(requested)d."
        ) % {
            "limit": limit,
            "per": str(cls.per),
            "where": where,
            "left": left,
            "requested": requested,
        }
        return cls(
            message,
            details={
                "limit": limit,
                "already": already,
                "left": left,
                "requested": requested,
                "scope": scope,
            },
        )


class AccountLimitReached(PurchaseLimitReached):
    code = "limit_account"
    per = _("per account")


class PhoneLimitReached(PurchaseLimitReached):
    code = "limit_phone"
    per = _("per phone number")


class DeviceLimitReached(PurchaseLimitReached):
    code = "limit_device"
    per = _("per device")


class AddressLimitReached(PurchaseLimitReached):
    code = "limit_address"
    per = _("per network address range")


class PayerLimitReached(PurchaseLimitReached):
    code = "limit_payer"
    per = _("per payment account")


class IdentityLimitReached(PurchaseLimitReached):
    """One person's document over the event's ``identity_per_event`` (real-name sessions),
    raised by ``identities.bind_identities`` in the order's transaction."""

    code = "limit_identity"
    per = _("per person (ID document)")

    @classmethod
    def for_attendee(cls, *, attendee, limit: int, already: int, requested: int):
        message = gettext(
            "%(name)s (%(number)s) already holds %(already)d of the %(limit)d tickets one "
            "person may have for this event, across all its dates."
        ) % {"name": attendee.name, "number": attendee.masked, "already": already, "limit": limit}
        return cls(
            message,
            details={
                "attendee_id": attendee.pk,
                "limit": limit,
                "already": already,
                "left": max(0, limit - already),
                "requested": requested,
                "scope": "event",
            },
        )


BY_KIND = {
    "account": AccountLimitReached,
    "phone": PhoneLimitReached,
    "device": DeviceLimitReached,
    "address": AddressLimitReached,
    "payer": PayerLimitReached,
}


class PayerOverLimit(OrderNotPayable):
    """A paid order whose payer is over the payer limit: the payment's confirmation rolls
    the sale back, books the money and refunds it (``payments.services``, cause
    ``payer_limit``)."""

    code = "limit_payer"
    cause = "payer_limit"
