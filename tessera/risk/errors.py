"""Errors of risk control, each with a stable code (docs: /work/notes/contracts.md)."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError


class ChallengeRequired(DomainError):
    """HTTP 428: solve ``details.challenge`` at ``details.difficulty`` bits and send it again."""

    code = "challenge_required"
    status = 428
    default_message = _("Checking your browser: please try again in a moment.")


class ChallengeInvalid(DomainError):
    code = "challenge_invalid"
    status = 403
    default_message = _("This browser check is not valid. Please try again.")


class RiskRefused(DomainError):
    code = "risk_refused"
    status = 403
    default_message = _(
        "This request looks automated and was refused. If you are a fan, please try again "
        "from your own browser or contact support."
    )


class RiskSlowed(DomainError):
    """Answered as the rate limits answer (429 with Retry-After, ``scope`` risk)."""

    code = "rate_limited"
    status = 429
    default_message = _("You are going a little fast. Please wait a few seconds and try again.")


class AccountBlocked(DomainError):
    code = "account_blocked"
    status = 403
    default_message = _("This account is blocked. Please contact support.")


class CaseClosed(DomainError):
    code = "risk_case_closed"
    status = 409
    default_message = _("This review case has already been decided.")
