"""The reconciliation's refusals: each a DomainError with a stable code."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound


class StatementInvalid(InvalidInput):
    """A statement file that cannot be read; ``details`` names the line (1-based) and what
    is wrong with it. Nothing is stored."""

    code = "statement_invalid"
    default_message = _("This statement file cannot be read.")


class UnknownStatementProvider(InvalidInput):
    code = "statement_provider_unknown"
    default_message = _("Statements are imported for Alipay, WeChat Pay or the sandbox only.")


class ActionNotAllowed(DomainError):
    code = "reconciliation_action_not_allowed"
    status = 409
    default_message = _("This action does not resolve this mismatch.")


class MismatchClosed(DomainError):
    code = "mismatch_closed"
    status = 409
    default_message = _("This mismatch is no longer open.")


class NoteRequired(InvalidInput):
    code = "note_required"
    default_message = _("Say why (a note of at most 500 characters).")


class DayNotFound(NotFound):
    code = "reconciliation_day_not_found"
    default_message = _("There is no reconciliation for this provider and day.")
