from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResaleConfig(AppConfig):
    name = "tessera.resale"
    label = "resale"
    verbose_name = _("Resale")
