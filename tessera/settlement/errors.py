from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError


class NotAPartner(DomainError):
    code = "not_a_partner"
    status = 422
    default_message = _("Only organizers, venue operators and distributors get statements.")


class PeriodInvalid(DomainError):
    code = "statement_period_invalid"
    status = 422
    default_message = _("A statement covers a whole period that has ended.")


class StatementFrozen(DomainError):
    code = "statement_frozen"
    status = 409
    default_message = _("This statement is approved; its figures no longer change.")


class StatementNotApprovable(DomainError):
    code = "statement_not_approvable"
    status = 409
    default_message = _("Only a draft statement that ties to the ledger can be approved.")


class StatementNotPayable(DomainError):
    code = "statement_not_payable"
    status = 409
    default_message = _("Only an approved statement can be marked paid.")


class NotAllowedToSettle(DomainError):
    code = "settlement_not_allowed"
    status = 403
    default_message = _(
        "Only the organization's finance members and owners, or the platform, may do this."
    )


class PaymentDetailsInvalid(DomainError):
    code = "statement_payment_invalid"
    status = 422
    default_message = _(
        "Give the payment's reference (at most 80 characters) and a date that is not in the future."
    )
