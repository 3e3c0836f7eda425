from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError


class UnknownKind(DomainError):
    code = "unknown_kind"
    default_message = _("This kind of message does not exist.")


class NoRecipient(DomainError):
    code = "no_recipient"
    default_message = _("A message needs a person or an address.")


class BadUnsubscribeLink(DomainError):
    code = "bad_unsubscribe_link"
    default_message = _("This unsubscribe link is not valid. Sign in to change your choices.")


class AnnouncementInvalid(DomainError):
    code = "announcement_invalid"
    default_message = _("The announcement needs a subject and a text.")


class AnnouncementNotDraft(DomainError):
    code = "announcement_not_draft"
    status = 409
    default_message = _("This announcement has already been sent.")


class ProviderError(Exception):
    """A provider refused or could not be reached; the message is tried again later."""
