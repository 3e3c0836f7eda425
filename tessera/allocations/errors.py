"""Errors of channel allocations, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput


class ChannelNotAllocatable(DomainError):
    code = "channel_not_allocatable"
    status = 409
    default_message = _("Places can be allocated only to an active distributor's channel.")


class AllocationInvalid(InvalidInput):
    code = "allocation_invalid"
    default_message = _("This allocation request is not valid.")


class NothingToReturn(DomainError):
    code = "nothing_to_return"
    status = 409
    default_message = _("No place of this allocation is unsold and free to return.")


class AllocationEnded(DomainError):
    code = "allocation_ended"
    status = 409
    default_message = _("This allocation has ended; its unsold places are back in the open pool.")


class AllocationBusy(DomainError):
    code = "allocation_busy"
    status = 409
    default_message = _("These places are being sold right now; please try again.")
