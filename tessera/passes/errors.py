"""Errors of the passes, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, NotFound


class PassProductNotFound(NotFound):
    code = "pass_product_not_found"
    default_message = _("No such pass.")


class PassNotFound(NotFound):
    code = "pass_not_found"
    default_message = _("No such pass among yours.")


class PassNotOnSale(DomainError):
    code = "pass_not_on_sale"
    status = 409
    default_message = _("This pass is not on sale.")


class PassLimitReached(DomainError):
    code = "pass_limit_reached"
    status = 422
    default_message = _("You already have as many of this pass as one account may buy.")


class PassSoldOut(DomainError):
    code = "pass_sold_out"
    status = 409
    default_message = _(
        "One of the pass's sessions has no place left in its zone: the pass cannot be sold "
        "and nothing was held."
    )


class PassNotActive(DomainError):
    code = "pass_not_active"
    status = 409
    default_message = _("This pass is not active (unpaid or cancelled).")


class MatchNotReleasable(DomainError):
    code = "match_not_releasable"
    status = 409
    default_message = _(
        "This match cannot be released: it is not on the pass, was released already, has "
        "started, or the pass was used to enter it."
    )


class PassTicket(DomainError):
    code = "pass_ticket"
    status = 409
    default_message = _(
        "This ticket is part of a pass: it cannot be refunded, exchanged or transferred on "
        "its own. Release the match on the pass's page instead."
    )


class SessionHasPasses(DomainError):
    code = "session_has_passes"
    status = 409
    default_message = _(
        "Passes cover this session: it cannot be cancelled until their holders have "
        "released it or the passes are dealt with."
    )


class PassNotReturnable(DomainError):
    code = "pass_not_returnable"
    status = 409
    default_message = _(
        "This pass can no longer be returned: its first match has started, nothing is left "
        "to return, or this pass is not returnable."
    )
