from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError


class RateLimited(DomainError):
    """Too many requests of one kind from one address, account or device."""

    code = "rate_limited"
    status = 429

    def __init__(self, *, retry_after: int, scope: str, action: str):
        super().__init__(
            _("Too many requests. Please wait %(seconds)s seconds and try again.")
            % {"seconds": retry_after},
            details={"retry_after": retry_after, "scope": scope, "action": action},
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class VerificationRequired(DomainError):
    code = "verification_required"
    status = 403

    def __init__(self, *, requirement: str, verify_url: str):
        messages = {
            "phone": _("This session asks buyers to verify a mobile phone before buying."),
            "email": _("This session asks buyers to verify an email address before buying."),
        }
        message = messages.get(
            requirement,
            _("This session asks buyers to verify a phone or an email before buying."),
        )
        super().__init__(message, details={"requirement": requirement, "verify_url": verify_url})
        self.verify_url = verify_url


class CodeInvalid(DomainError):
    code = "code_invalid"
    status = 422
    default_message = _("That code is not right. Check the latest code we sent and try again.")


class CodeExpired(DomainError):
    code = "code_expired"
    status = 422
    default_message = _("That code has expired or was already used. Ask for a new code.")


class CodeAttemptsExhausted(DomainError):
    code = "code_attempts_exhausted"
    status = 422
    default_message = _("Too many wrong codes. Ask for a new code.")


class ContactMissing(DomainError):
    code = "contact_missing"
    status = 422
    default_message = _("Enter a valid mobile phone number or email address.")


class CodeNotSent(DomainError):
    code = "code_not_sent"
    status = 503
    default_message = _("We could not send the code just now. Please try again in a minute.")
