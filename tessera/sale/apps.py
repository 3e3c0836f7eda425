from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SaleConfig(AppConfig):
    name = "tessera.sale"
    label = "sale"
    verbose_name = _("Sale")
