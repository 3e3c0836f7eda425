from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "tessera.webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from tessera.partners.signals import partner_event
        from tessera.webhooks.receivers import record_partner_event

        partner_event.connect(record_partner_event, dispatch_uid="tessera.webhooks.record")
