"""Errors of the inventory, each with a stable code. ``inventory.services`` re-exports them."""

from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound


class PlacesUnavailable(DomainError):
    code = "places_unavailable"
    status = 409
    default_message = _("Some of these places are no longer available.")


class PlacesUnknown(InvalidInput):
    code = "places_unknown"
    default_message = _("Some of these places are not sold for this session.")


class LimitExceeded(DomainError):
    code = "limit_exceeded"
    status = 422
    default_message = _("This is more tickets than you may buy for this session.")


class NotOnSale(DomainError):
    code = "not_on_sale"
    status = 409
    default_message = _("This session is not on sale.")


class ChannelNotActive(DomainError):
    code = "channel_not_active"
    status = 409
    default_message = _("This sales channel is not active.")


class HoldNotFound(NotFound):
    code = "hold_not_found"
    default_message = _("This hold does not exist.")


class HoldExpired(DomainError):
    code = "hold_expired"
    status = 410
    default_message = _("This hold has expired; its places may have gone to other buyers.")


class HoldLost(DomainError):
    code = "hold_lost"
    status = 409
    default_message = _(
        "Some places of this hold went to another buyer after it expired; the sale cannot "
        "be completed."
    )


class ExtensionUsed(DomainError):
    code = "extension_used"
    status = 409
    default_message = _("This hold has already been extended once.")


class HoldNotReleasable(DomainError):
    code = "hold_not_releasable"
    status = 409
    default_message = _(
        "These places are sold or ordered; cancel the order instead of releasing the hold."
    )


class ScopeInvalid(InvalidInput):
    code = "scope_invalid"
    default_message = _("This price zone or section does not belong to the session.")


class HoldOrdered(DomainError):
    code = "hold_ordered"
    status = 409
    default_message = _("An order awaits payment for these places; extend the order instead.")


def account_limit_reached(*, limit: int, already: int, requested: int) -> LimitExceeded:
    """The refusal of a hold that would take an account past the session's limit."""
    return LimitExceeded(
        gettext(
            "At most %(limit)d tickets per account for this session; you already have %(already)d."
        )
        % {"limit": limit, "already": already},
        details={"max_tickets_per_account": limit, "already": already, "requested": requested},
    )


def too_few_places(quantity: int, *, zone_id: int | None = None) -> PlacesUnavailable:
    """The refusal of "any N places here" when fewer than N are free (``zone_id``: where)."""
    message = ngettext(
        "No place is left here.", "Fewer than %(quantity)d places are left here.", quantity
    )
    details = {"requested": quantity}
    if zone_id is not None:
        details["zone"] = zone_id
    return PlacesUnavailable(message % {"quantity": quantity}, details=details)


class PlacesNotSold(DomainError):
    code = "places_not_sold"
    status = 409
    default_message = _("These places are no longer sold to this order.")


class AllocationShort(DomainError):
    """Fewer free open-pool places (or unsold allocated places) than asked for."""

    code = "allocation_short"
    status = 409
    default_message = _("Not enough free places for this allocation.")


def allocation_short(*, requested: int, free: int, returning: bool = False) -> AllocationShort:
    """The refusal of an allocation (or a return) of ``requested`` places when only ``free``
    can be given (or given back); nothing was changed."""
    if returning:
        message = gettext(
            "Asked to return %(requested)d places, but only %(free)d of the allocation are "
            "unsold and not held; nothing was returned."
        )
    else:
        message = gettext(
            "Asked for %(requested)d places, but only %(free)d are free in the open pool "
            "there; nothing was allocated."
        )
    return AllocationShort(
        message % {"requested": requested, "free": free},
        details={"requested": requested, "free": free},
    )
