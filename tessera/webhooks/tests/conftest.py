import importlib.util

import pytest
from django.conf import settings as django_settings

from tessera.webhooks.tests.factories import Receiver


@pytest.fixture(autouse=True)
def _local_webhooks(settings):
    """Deliveries to the receiver on 127.0.0.1 (http:// to localhost only in tests/DEBUG)."""
    settings.WEBHOOKS_ALLOW_LOCALHOST = True
    settings.WEBHOOKS_TIMEOUT_SECONDS = 3


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def recipe():
    """docs/examples/verify_webhook.py, the documented verification recipe, as a module."""
    path = django_settings.BASE_DIR / "docs" / "examples" / "verify_webhook.py"
    spec = importlib.util.spec_from_file_location("verify_webhook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
