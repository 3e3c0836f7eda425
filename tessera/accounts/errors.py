"""Errors of the accounts app: two-step sign-in and a person's account."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError


class InvalidSecondFactor(DomainError):
    code = "invalid_second_factor"
    status = 422
    default_message = _("That code is not right. Enter the 6-digit code your app shows now.")


class SecondFactorLocked(DomainError):
    code = "second_factor_locked"
    status = 429
    default_message = _("Too many wrong codes. Try again later.")


class SecondFactorRequired(DomainError):
    code = "second_factor_required"
    status = 409
    default_message = _("Platform operators must keep two-step sign-in turned on.")


class NoSecondFactor(DomainError):
    code = "no_second_factor"
    status = 409
    default_message = _("Two-step sign-in is not set up for this account.")
