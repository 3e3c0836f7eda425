"""What transfers refuse, each with a stable code; messages in the user's language."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    default_message = _("No such ticket among yours.")


class TransferNotFound(NotFound):
    code = "transfer_not_found"
    default_message = _("No such transfer.")


class LinkNotValid(NotFound):
    code = "transfer_link_not_valid"
    default_message = _(
        "This transfer link is not valid: it may have been used, cancelled or mistyped."
    )


class TransferNotAllowed(DomainError):
    code = "transfer_not_allowed"
    status = 409
    default_message = _("Tickets for this session cannot be transferred.")


class TransferTooLate(DomainError):
    code = "transfer_too_late"
    status = 409
    default_message = _("The transfer deadline for this session has passed.")


class TransferLimitReached(DomainError):
    code = "transfer_limit_reached"
    status = 409
    default_message = _("This ticket has been transferred as many times as the organizer allows.")


class TicketNotTransferable(DomainError):
    code = "ticket_not_transferable"
    status = 409
    default_message = _("This ticket is no longer valid, so it cannot be transferred.")


class TicketUsed(DomainError):
    code = "ticket_used"
    status = 409
    default_message = _("A ticket that has been used at the gate cannot be transferred.")


class RefundPending(DomainError):
    code = "ticket_refund_pending"
    status = 409
    default_message = _("A refund of this ticket has been requested, so it cannot be transferred.")


class AlreadyOffered(DomainError):
    code = "transfer_already_open"
    status = 409
    default_message = _("This ticket is already on its way to someone: cancel that transfer first.")


class TicketInTransfer(DomainError):
    code = "ticket_in_transfer"
    status = 409
    default_message = _(
        "This ticket is being transferred to another account: cancel the transfer first."
    )


class TicketGivenAway(DomainError):
    code = "ticket_given_away"
    status = 409
    default_message = _("This ticket now belongs to another account.")


class TransferNotOpen(DomainError):
    code = "transfer_not_open"
    status = 409
    default_message = _("This transfer has already been accepted, cancelled or has expired.")


class RecipientUnknown(InvalidInput):
    code = "transfer_recipient_unknown"
    default_message = _(
        "No account has this phone number or email address. Send a one-time link instead "
        "and give it to the person yourself."
    )


class RecipientIsSender(InvalidInput):
    code = "transfer_to_self"
    default_message = _("You cannot transfer a ticket to yourself.")


class ContactInvalid(InvalidInput):
    code = "transfer_contact_invalid"
    default_message = _("Enter a mobile phone number or an email address.")


class ChannelInvalid(InvalidInput):
    code = "transfer_channel_invalid"
    default_message = _("Choose how to send the ticket: phone number, email or link.")


class HolderNameInvalid(InvalidInput):
    code = "transfer_holder_name_invalid"
    default_message = _("Enter the new holder's name (at most 80 characters).")
