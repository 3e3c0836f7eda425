from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentitiesConfig(AppConfig):
    name = "tessera.identities"
    verbose_name = _("Real-name identities")
