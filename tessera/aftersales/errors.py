"""What after-sales refuses, each with a stable code; messages in the user's language."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound
from tessera.orders.services import OrderNotPayable


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


# -- exchanges ------------------------------------------------------------------------------------


class ExchangeNotFound(NotFound):
    code = "exchange_not_found"
    default_message = _("No such exchange.")


class ExchangeNotAllowed(DomainError):
    code = "exchange_not_allowed"
    status = 409
    default_message = _("Tickets for this session cannot be exchanged.")


class ExchangeTooLate(DomainError):
    code = "exchange_too_late"
    status = 409
    default_message = _("The exchange deadline for this session has passed.")


class ExchangeOtherSessionNotAllowed(DomainError):
    code = "exchange_other_session_not_allowed"
    status = 409
    default_message = _(
        "Tickets for this session can only be exchanged for other places of the same session."
    )


class ExchangeOtherEvent(InvalidInput):
    code = "exchange_other_event"
    default_message = _("Tickets can only be exchanged for places of the same event.")


class ExchangePlacesInvalid(InvalidInput):
    code = "exchange_places_invalid"
    default_message = _(
        "Hold as many new places as tickets you give back, and confirm before the hold runs out."
    )


class ExchangeRefundPending(DomainError):
    code = "exchange_refund_pending"
    status = 409
    default_message = _("A refund of these tickets has been requested: they cannot be exchanged.")


class ExchangeAlreadyRequested(DomainError):
    code = "exchange_already_requested"
    status = 409
    default_message = _(
        "These tickets are already being exchanged: pay the difference of that exchange or "
        "let it run out first."
    )


class ExchangeTicketUsed(DomainError):
    code = "exchange_ticket_used"
    status = 409
    default_message = _("A ticket that has been used at the gate cannot be exchanged.")


class ExchangeQuoteChanged(DomainError):
    code = "exchange_quote_changed"
    status = 409
    default_message = _(
        "The difference is not the one you were shown (prices or the fee changed): check the "
        "new quote and confirm again."
    )


class ExchangeNotPayable(DomainError):
    code = "exchange_not_payable"
    status = 409
    default_message = _("This exchange has nothing left to pay.")


class ExchangeNoLongerPossible(OrderNotPayable):
    """Raised while a payment of an exchange's difference completes, when the tickets given
    back were refunded, exchanged or used meanwhile: the sale rolls back and the payment
    is refunded (``payments.handle_callback``)."""

    code = "exchange_no_longer_possible"
    default_message = _(
        "The tickets you gave back were refunded, exchanged or used meanwhile; your payment "
        "has been refunded."
    )


class NameNotCorrectable(DomainError):
    code = "name_not_correctable"
    status = 409
    default_message = _(
        "This name can no longer be corrected: the ticket is not valid, has been used at the "
        "gate, the session has started, or it was corrected too often."
    )


# -- session changes (aftersales.changes) --------------------------------------------------------


class ChangeNotAllowed(DomainError):
    code = "session_change_not_allowed"
    status = 409
    default_message = _("This session cannot be changed this way.")


class ChangeDateInvalid(InvalidInput):
    code = "session_change_date_invalid"
    default_message = _(
        "Give a new date in the future (or none: to be announced) and a refund deadline "
        "in the future."
    )


class ChangeNotFound(NotFound):
    code = "session_change_not_found"
    default_message = _("No such session change.")


class NoRefundOffered(DomainError):
    code = "session_change_no_refund"
    status = 409
    default_message = _("No full refund is offered for this order, or its deadline has passed.")


class MoveInvalid(InvalidInput):
    code = "session_move_invalid"
    default_message = _(
        "Choose a layout of another venue, a price zone of this session for its sections, "
        "and sections of that layout for the mapping."
    )


class MoveShortfall(DomainError):
    code = "session_move_shortfall"
    status = 409
    default_message = _("The new layout has fewer places than tickets sold.")


class NoPlaceInNewLayout(DomainError):
    code = "session_move_no_place"
    status = 409
    default_message = _("No place left in the new layout for this order's tickets.")
