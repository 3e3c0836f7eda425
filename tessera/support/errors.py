"""What support refuses, each with a stable code; messages in the user's language."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound


class ConversationNotFound(NotFound):
    code = "conversation_not_found"
    default_message = _("No such conversation.")


class MessageInvalid(InvalidInput):
    code = "message_invalid"
    default_message = _("Please write a message of at most 1000 characters.")


class ConversationClosed(DomainError):
    code = "conversation_closed"
    status = 409
    default_message = _("This conversation is closed. Start a new one to ask again.")


class ConversationOpen(DomainError):
    code = "conversation_open"
    status = 409
    default_message = _("A conversation can be rated once, after it is closed.")


class RatingInvalid(InvalidInput):
    code = "rating_invalid"
    default_message = _("Please rate from 1 to 5 stars.")
