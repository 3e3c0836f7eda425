"""What the waiting list refuses, each with a stable code; messages in the fan's language."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, NotFound


class SessionNotFound(NotFound):
    code = "session_not_found"
    default_message = _("No such session.")


class EntryNotFound(NotFound):
    code = "waitlist_entry_not_found"
    default_message = _("You are not on the waiting list of this session.")


class OfferNotFound(NotFound):
    code = "waitlist_offer_not_found"
    default_message = _("No such offer among yours.")


class ZoneNotFound(DomainError):
    code = "waitlist_zone_not_found"
    status = 422
    default_message = _("Please choose a price zone of this session.")


class WaitlistClosed(DomainError):
    code = "waitlist_closed"
    status = 409
    default_message = _("This session's waiting list is closed: the session is not on sale.")


class AlreadyWaiting(DomainError):
    code = "waitlist_already_joined"
    status = 409
    default_message = _("You are already on the waiting list of this session.")


class PlacesStillOnSale(DomainError):
    code = "waitlist_places_on_sale"
    status = 409
    default_message = _("Places you asked for are still on sale: buy them instead.")


class QuantityNotAllowed(DomainError):
    code = "waitlist_quantity"
    status = 422
    default_message = _("You may wait for at most %(limit)d places of this session.")
