from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiKeysConfig(AppConfig):
    name = "tessera.apikeys"
    verbose_name = _("Partner API keys")
