"""Errors of the fan-facing endpoints, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import NotFound


class SessionNotFound(NotFound):
    code = "session_not_found"
    default_message = _("No such session.")


class SectionNotFound(NotFound):
    code = "section_not_found"
    default_message = _("No such section in this session.")
