from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    name = "tessera.sandbox"
    label = "sandbox"
    verbose_name = _("Sandbox gateway")

    def ready(self) -> None:
        from tessera.sandbox import checks  # noqa: F401 - registers the system check
