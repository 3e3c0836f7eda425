from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatelimitConfig(AppConfig):
    name = "tessera.ratelimit"
    verbose_name = _("Rate limits and verified contacts")

    def ready(self):
        from tessera.ratelimit import buckets  # noqa: F401 - its settings receiver
