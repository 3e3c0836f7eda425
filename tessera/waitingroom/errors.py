"""Errors of the waiting room, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError, InvalidInput, NotFound


class AdmissionRequired(DomainError):
    code = "admission_required"
    status = 403
    default_message = _(
        "This on-sale has a waiting room: join the queue to get an admission pass first."
    )


class AdmissionInvalid(DomainError):
    code = "admission_invalid"
    status = 403
    default_message = _("This admission pass is not valid.")


class AdmissionExpired(DomainError):
    code = "admission_expired"
    status = 403
    default_message = _("Your admission pass has expired; join the queue again.")


class AdmissionForeign(DomainError):
    code = "admission_foreign"
    status = 403
    default_message = _("This admission pass belongs to another account or another on-sale.")


class QueueTokenInvalid(InvalidInput):
    code = "queue_token_invalid"
    status = 400
    default_message = _("This queue ticket is not valid.")


class RoomNotFound(NotFound):
    code = "waiting_room_not_found"
    default_message = _("This waiting room does not exist.")


class RoomNotJoinable(DomainError):
    code = "waiting_room_not_joinable"
    status = 409
    default_message = _("This waiting room is not taking new fans.")


class RoomInvalid(InvalidInput):
    code = "waiting_room_invalid"
    default_message = _("These waiting-room settings are not valid.")
