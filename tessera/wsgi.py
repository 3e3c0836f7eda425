import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")
django_application = get_wsgi_application()

from tessera.core import fastlane  # noqa: E402 - needs Django set up
from tessera.core.metrics import observe  # noqa: E402
from tessera.sale.fastlane import ROUTES as SALE_ROUTES  # noqa: E402
from tessera.sandbox.fastlane import ROUTES as SANDBOX_ROUTES  # noqa: E402
from tessera.waitingroom.wsgi import with_queue_status  # noqa: E402

# The hottest requests of an on-sale skip Django's middleware: the queue's status check, the
# buyer's checkout and status read, the providers' callbacks, the channels' orders (and the
# sandbox gateway's "pay" button, which a real gateway serves on its own machines).
# TESSERA_FAST_LANE=0 sends them through Django too (same answers, more CPU): for diagnosis
# and for measuring what the lane saves (docs/performance.md).
if os.environ.get("TESSERA_FAST_LANE", "1") == "0":
    answering = with_queue_status(django_application)
else:
    answering = fastlane.wrap(with_queue_status(django_application), SALE_ROUTES + SANDBOX_ROUTES)
# Outermost: every request gets its request id and is counted for /metrics (core.metrics).
application = observe(answering)
