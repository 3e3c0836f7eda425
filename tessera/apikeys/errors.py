from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound


class KeyNotFound(NotFound):
    code = "key_not_found"
    default_message = _("No such API key.")


class ChannelMissing(DomainError):
    code = "channel_missing"
    status = 409
    default_message = _(
        "Your organization has no sales channel yet. The organizer sets one up with your "
        "allocation; then you can create keys for it."
    )


class KeyInputInvalid(InvalidInput):
    code = "key_input_invalid"


class KeyNotUsable(DomainError):
    code = "key_not_usable"
    status = 409
    default_message = _("This key was revoked or has expired; it cannot be rotated.")


class NotADistributor(DomainError):
    code = "not_a_distributor"
    status = 403
    default_message = _("Only distributors have API keys.")


class WriteRoleRequired(DomainError):
    code = "permission_denied"
    status = 403
    default_message = _("Your role lets you read the keys, not change them.")
