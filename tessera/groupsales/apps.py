from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GroupsalesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tessera.groupsales"
    verbose_name = _("Group sales and boxes")
