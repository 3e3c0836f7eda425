from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "tessera.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from tessera.core import db, workers

        db.install()  # connections are checked after an error or idle time, not every request
        workers.connect_signals()  # a task's request id, log lines and metrics
