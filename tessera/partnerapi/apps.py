from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnerapiConfig(AppConfig):
    name = "tessera.partnerapi"
    verbose_name = _("Distributor API")
