"""A system check of the sandbox gateway's settings."""

from django.core.checks import Error, register

from tessera.sandbox.conf import DELIVERY_MODES, delivery_mode


@register()
def check_delivery_mode(app_configs=None, **kwargs) -> list[Error]:
    if delivery_mode() in DELIVERY_MODES:
        return []
    return [
        Error(
            f"SANDBOX_DELIVERY is {delivery_mode()!r}; it must be one of {DELIVERY_MODES}.",
            id="sandbox.E001",
        )
    ]
