from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError


class DeletionNotPossibleYet(DomainError):
    code = "deletion_not_possible_yet"
    status = 409
    default_message = _("Your account cannot be deleted yet.")


class WrongPassword(DomainError):
    code = "wrong_password"
    status = 403
    default_message = _("The password is not right.")
