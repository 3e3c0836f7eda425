"""Every operation of the OpenAPI schema, fuzzed by schemathesis through the served WSGI
application (the fast lane included): no server error, every answer's status documented and
its body valid against the declared schema.

The run is deterministic (hypothesis derandomized, no example database) and reaches real code:
a signed-in buyer (session cookie and CSRF token), a gate device's token on the check-in
operations and a sales channel's key on channel orders and the partner API.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.utils import translation
from hypothesis import HealthCheck, settings
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as openapi_checks

from tessera import wsgi
from tessera.api import api
from tessera.checkin.tests.factories import make_gates
from tessera.inventory.tests.factories import make_buyer, make_channel, make_sale
from tessera.sale import channels

EXAMPLES_PER_OPERATION = 10
CSRF = "F" * 32
CASES_RUN = []  # (operation, status) of every case this process ran

with translation.override("en"):
    schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = wsgi.application

CHECKS = [
    st_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.content_type_conformance,
]


@pytest.fixture(scope="module", autouse=True)
def cases_count():
    """How many cases this process ran, printed at the end (``-s`` shows it)."""
    yield
    operations = {operation for operation, _status in CASES_RUN}
    print(f"\nschemathesis: {len(CASES_RUN)} cases over {len(operations)} operations")


@pytest.fixture
def credentials(db, django_db_blocker):
    """A world with a session on sale, a buyer, a gate device and a channel key."""
    from django.test import Client
    from django.utils import timezone

    now = timezone.now()
    sale = make_sale(sections=1, rows=2, seats_per_row=5, standing_capacity=5, now=now)
    gates = make_gates()
    buyer = make_buyer(email="fuzz@example.com", preferred_language="en")
    client = Client()
    client.force_login(buyer)
    channel = make_channel(organization=sale.session.event.organization, code="fuzz-channel")
    _row, key = channels.issue_key(channel=channel, name="fuzz", actor=None, now=now)
    # The test's transaction must outlive each request (as wsgi_call does).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF},
        "device": gates.token,
        "channel": key,
    }
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, credentials):
    # identity: the test client would not decompress a gzip answer before the checks read it
    headers = {"X-CSRFToken": CSRF, "Accept-Language": "en", "Accept-Encoding": "identity"}
    path = case.operation.path
    if path.startswith("/api/v1/checkin/") and not path.endswith("/dashboard"):
        headers["Authorization"] = f"Bearer {credentials['device']}"
    elif path == "/api/v1/channel/orders" or path.startswith("/api/v1/partner/"):
        headers["Authorization"] = f"Bearer {credentials['channel']}"
    response = case.call(headers=headers, cookies=credentials["cookies"])
    CASES_RUN.append((case.operation.label, response.status_code))
    case.validate_response(response, checks=CHECKS, headers=headers)
