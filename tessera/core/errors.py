"""Domain errors: every rule a user can break raises a subclass with a stable code.

The API turns them into one JSON shape; pages show ``message`` in the user's language.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "error"
    status = 400
    default_message = _("The request could not be completed.")

    def __init__(self, message: Any = None, *, details: dict | None = None):
        self.message = message if message is not None else self.default_message
        self.details = details or {}
        super().__init__(str(self.message))

    def as_dict(self) -> dict:
        return {"code": self.code, "message": str(self.message), "details": self.details}


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_message = _("You do not have permission to do this.")


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422
    default_message = _("The input is not valid.")
