import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")
django_application = get_wsgi_application()

from tessera.waitingroom.wsgi import with_queue_status  # noqa: E402 - needs Django set up

# The queue's status check, the bulk of an on-sale's requests, skips the middleware.
application = with_queue_status(django_application)
