from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError


class UrlRefused(DomainError):
    code = "webhook_url_refused"
    status = 422
    default_message = _(
        "This URL cannot receive webhooks: use https:// and a public address "
        "(not a private, loopback or link-local one)."
    )


class KindsInvalid(DomainError):
    code = "webhook_kinds_invalid"
    status = 422
    default_message = _("Choose at least one event to subscribe to.")


class DeliveryBusy(DomainError):
    code = "webhook_delivery_busy"
    status = 409
    default_message = _("This delivery is being sent right now; try again in a moment.")
