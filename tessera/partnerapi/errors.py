"""What the distributor API refuses, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, NotFound


class SessionNotSellable(NotFound):
    """Unknown, not on sale, or not sold by this channel: all the same to the caller."""

    code = "session_not_found"
    default_message = _("No such session for this sales channel.")


class EventNotSellable(NotFound):
    code = "event_not_found"
    default_message = _("No such event for this sales channel.")


class ChannelOrderNotFound(NotFound):
    code = "order_not_found"
    default_message = _("This sales channel has no such order.")


class ChannelTicketNotFound(NotFound):
    code = "ticket_not_found"
    default_message = _("This sales channel has no such ticket.")


class StaticTicketNotAllowed(DomainError):
    """The session's gates take only the live (rotating) QR code, shown in the fan's app."""

    code = "static_ticket_not_allowed"
    status = 409
    default_message = _("This session admits only the live QR code: there is no printable ticket.")


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    default_message = _("No such webhook endpoint.")
