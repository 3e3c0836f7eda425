"""What after-sales refuses, each with a stable code; messages in the user's language."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound


class RequestNotFound(NotFound):
    code = "refund_request_not_found"
    default_message = _("No such refund request.")


class OrderNotRefundable(DomainError):
    code = "order_not_refundable"
    status = 409
    default_message = _("Only paid orders with tickets can be refunded.")


class LinesUnknown(InvalidInput):
    code = "lines_unknown"
    default_message = _("Choose tickets of this order that are still valid.")


class AlreadyRequested(DomainError):
    code = "refund_already_requested"
    status = 409
    default_message = _("A refund of these tickets has already been requested.")


class TicketUsed(DomainError):
    code = "ticket_used"
    status = 409
    default_message = _("A ticket that has been used at the gate cannot be refunded.")


class RefundNotAllowed(DomainError):
    code = "refund_not_allowed"
    status = 409
    default_message = _("Tickets for this session cannot be refunded.")


class RefundTooLate(DomainError):
    code = "refund_too_late"
    status = 409
    default_message = _("The refund deadline for this session has passed.")


class FeeChanged(DomainError):
    code = "refund_fee_changed"
    status = 409
    default_message = _(
        "The fee is not the one you were shown (it changes with the time left and the "
        "demand): check the new fee and confirm again."
    )


class RequestNotOpen(DomainError):
    code = "refund_request_not_open"
    status = 409
    default_message = _("This request has already been decided or withdrawn.")


class ReasonRequired(InvalidInput):
    code = "reason_required"
    default_message = _("Give a reason (at most 500 characters).")


class SessionHasPaidOrders(DomainError):
    code = "session_has_paid_orders"
    status = 409
    default_message = _(
        "This session has paid orders. Cancelling it would leave their holders with tickets "
        "and no money back: cancel those orders with a refund first."
    )


class BodyNotAnObject(InvalidInput):
    code = "invalid_json"
    status = 400
    default_message = _("Send a JSON object as the request body.")


class NameNotCorrectable(DomainError):
    code = "name_not_correctable"
    status = 409
    default_message = _(
        "This name can no longer be corrected: the ticket is not valid, has been used at the "
        "gate, the session has started, or it was corrected too often."
    )
