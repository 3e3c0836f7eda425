"""What the resale refuses, each with a stable code; messages in the user's language."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound
from tessera.orders.services import OrderNotPayable


class TicketNotFound(NotFound):
    code = "resale_ticket_not_found"
    default_message = _("No such ticket among yours.")


class ListingNotFound(NotFound):
    code = "resale_listing_not_found"
    default_message = _("No such resale listing.")


class ResaleNotAllowed(DomainError):
    code = "resale_not_allowed"
    status = 409
    default_message = _("Tickets for this session cannot be resold on the platform.")


class ResaleClosed(DomainError):
    code = "resale_closed"
    status = 409
    default_message = _("Resale for this session has closed.")


class TicketNotResellable(DomainError):
    code = "resale_ticket_not_resellable"
    status = 409
    default_message = _(
        "This ticket cannot be resold: it must be valid, unused, paid for and still yours."
    )


class AlreadyListed(DomainError):
    code = "resale_already_listed"
    status = 409
    default_message = _("This ticket is already listed for resale.")


class PriceInvalid(InvalidInput):
    code = "resale_price_invalid"
    default_message = _("Enter the price as a positive amount with at most two decimals.")


class PriceAboveCap(DomainError):
    code = "resale_price_above_cap"
    status = 422
    default_message = _("The price is above what the organizer allows for this ticket.")


class TicketListed(DomainError):
    code = "resale_ticket_listed"
    status = 409
    default_message = _("This ticket is listed for resale; withdraw the listing first.")


class ListingNotWithdrawable(DomainError):
    code = "resale_not_withdrawable"
    status = 409
    default_message = _("This listing can no longer be withdrawn.")


class ListingUnavailable(DomainError):
    code = "resale_listing_unavailable"
    status = 409
    default_message = _(
        "This ticket is no longer available: another buyer has it or it was withdrawn."
    )


class OwnListing(DomainError):
    code = "resale_own_listing"
    status = 409
    default_message = _("You cannot buy your own listing.")


class ResaleNoLongerPossible(OrderNotPayable):
    """Raised in the payment's transaction: the sale rolls back and the payment is refunded."""

    code = "resale_no_longer_possible"
    status = 409
    default_message = _(
        "The resale could not be completed: the ticket was withdrawn, used or returned. "
        "Your payment is refunded."
    )
