"""The group and box sales' domain errors (stable codes, messages in zh-hans and en)."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound


class SessionNotFound(NotFound):
    code = "session_not_found"
    default_message = _("No such session on sale.")


class RequestNotFound(NotFound):
    code = "group_request_not_found"
    default_message = _("No such group request.")


class BoxNotFound(NotFound):
    code = "box_not_found"
    default_message = _("No such box on sale.")


class GroupRequestInvalid(InvalidInput):
    code = "group_request_invalid"
    default_message = _("Please check the group request.")


class NotForSale(DomainError):
    code = "group_not_for_sale"
    status = 409
    default_message = _("This session takes no group requests or boxes now.")


class RequestNotQuotable(DomainError):
    code = "group_request_not_quotable"
    status = 409
    default_message = _("This request was already answered.")


class QuoteNotAcceptable(DomainError):
    code = "group_quote_not_acceptable"
    status = 409
    default_message = _("This quote can no longer be accepted.")


class NamesLocked(DomainError):
    code = "group_names_locked"
    status = 409
    default_message = _("The names cut-off has passed: names can no longer change.")


class NotNameable(DomainError):
    code = "group_not_nameable"
    status = 409
    default_message = _("Tickets can be named once the group's order is paid.")


class BoxInvalid(InvalidInput):
    code = "box_invalid"
    default_message = _("Please check the box.")


class BoxUnavailable(DomainError):
    code = "box_unavailable"
    status = 409
    default_message = _("This box is no longer available.")


class BoxSplit(DomainError):
    code = "box_split"
    status = 409
    default_message = _("A box's tickets are returned together, all of them or none.")
