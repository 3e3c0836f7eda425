"""What onboarding refuses: each with a stable code and a message in the reader's language."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied


class ApplicationInvalid(InvalidInput):
    code = "application_invalid"
    default_message = _("Please correct the marked fields.")


class ApplicationPending(DomainError):
    code = "application_pending"
    status = 409
    default_message = _("You already have an application waiting for review.")


class ApplicationNotFound(NotFound):
    code = "application_not_found"
    default_message = _("No such application.")


class ApplicationDecided(DomainError):
    code = "application_decided"
    status = 409
    default_message = _("This application has already been decided.")


class SlugTaken(InvalidInput):
    code = "slug_taken"
    default_message = _("Another organization already uses this short name.")


class TermsInvalid(InvalidInput):
    code = "terms_invalid"
    default_message = _("Please correct the contract's terms.")


class NotAllowed(PermissionDenied):
    code = "partner_not_allowed"
    default_message = _("Your role in this organization does not allow this.")


class InvitationInvalid(NotFound):
    code = "invitation_invalid"
    default_message = _("This invitation link is not valid.")


class InvitationExpired(DomainError):
    code = "invitation_expired"
    status = 410
    default_message = _("This invitation has expired. Ask for a new one.")


class InvitationUsed(DomainError):
    code = "invitation_used"
    status = 410
    default_message = _("This invitation has already been used or withdrawn.")


class InvitationForSomeoneElse(PermissionDenied):
    code = "invitation_other_person"
    default_message = _(
        "This invitation was sent to another email address. Sign in with the account of "
        "that address."
    )


class LastOwner(DomainError):
    code = "last_owner"
    status = 409
    default_message = _("An organization keeps at least one owner.")
