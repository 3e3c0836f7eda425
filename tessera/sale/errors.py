"""Errors of the sale's own flows, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError


class RealNameNotSupported(DomainError):
    """A sales channel or the box office cannot bind each ticket to an attendee identity
    of the buyer's own account (``tessera.identities``), so it cannot sell real-name
    sessions."""

    code = "real_name_not_supported"
    status = 409
    default_message = _(
        "This session sells real-name tickets: each ticket needs an attendee identity from "
        "the buyer's own account, so it is sold only on the buyer's own checkout, not through "
        "a sales channel or at the box office."
    )
