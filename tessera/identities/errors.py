"""Errors of real-name tickets, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound

# What each refusal of a document number says, by DocumentInvalid.reason.
DOCUMENT_MESSAGES = {
    "type": _("Choose a document type."),
    "format": _("This is not a valid number for the chosen document type."),
    "region": _("This ID number does not start with a valid region code."),
    "birth_date": _("The birth date in this ID number is not a valid date."),
    "check_digit": _("The last character of this ID number does not match (check digit)."),
    "name": _("Give the name as on the document (at most 40 characters)."),
}


class DocumentRejected(InvalidInput):
    code = "identity_document_invalid"
    default_message = DOCUMENT_MESSAGES["format"]


class AttendeeExists(DomainError):
    code = "attendee_exists"
    status = 409
    default_message = _("This document is already in your attendee list.")


class AttendeeNotFound(NotFound):
    code = "attendee_not_found"
    default_message = _("No such attendee in your list.")


class TooManyAttendees(DomainError):
    code = "too_many_attendees"
    status = 409
    default_message = _("Your attendee list is full (at most 20 people).")


class AttendeesRequired(InvalidInput):
    code = "attendees_required"
    default_message = _(
        "This session sells real-name tickets: choose one attendee from your list for each ticket."
    )


class IdentityLimitReached(DomainError):
    code = "identity_limit_reached"
    status = 409
    default_message = _("This person already holds the most tickets allowed for this session.")
