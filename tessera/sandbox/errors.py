"""What the sandbox gateway refuses, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, NotFound


class TradeNotFound(NotFound):
    code = "sandbox_trade_not_found"
    default_message = _("This payment does not exist at the sandbox gateway.")


class TradeClosed(DomainError):
    code = "sandbox_trade_closed"
    status = 409
    default_message = _("This payment has already been completed at the sandbox gateway.")


class CashierLinkInvalid(DomainError):
    """A cashier link whose signature does not match its parameters, or whose parameters
    are missing, repeated, unknown or out of range."""

    code = "sandbox_link_invalid"
    status = 400
    default_message = _(
        "This payment link is not valid: it was changed after the shop made it, "
        "or it is incomplete. Please go back to the shop and start the payment again."
    )

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(details={"reason": reason})
