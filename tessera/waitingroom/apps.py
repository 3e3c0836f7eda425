from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WaitingroomConfig(AppConfig):
    name = "tessera.waitingroom"
    label = "waitingroom"
    verbose_name = _("Waiting room")
