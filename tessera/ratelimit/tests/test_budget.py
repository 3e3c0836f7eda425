"""What the limits cost on the purchase path, in SQL statements: nothing with the memory
(or Redis) backend, one statement with the database backend (docs/architecture.md)."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.ratelimit.models import Bucket

pytestmark = pytest.mark.django_db(transaction=True)


def statements_of_a_checkout(sale) -> tuple[int, list[str]]:
    fan = Client(headers={"X-Real-IP": "10.1.1.1"})
    fan.force_login(make_buyer())
    body = json.dumps({"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"})
    url = f"/api/v1/sessions/{sale.session.pk}/checkout"
    with CaptureQueriesContext(connection) as captured:
        answer = fan.post(url, body, content_type="application/json")
    assert answer.status_code == 201, answer.content
    verbs = [q["sql"].split(None, 1)[0].upper() for q in captured.captured_queries]
    run = [
        q["sql"]
        for q, v in zip(captured.captured_queries, verbs, strict=True)
        if v not in ("BEGIN", "COMMIT", "ROLLBACK")
    ]
    return len(run), run


@pytest.mark.parametrize(("backend", "extra"), [("memory", 0), ("database", 1)])
def test_a_checkout_costs_what_its_backend_costs(settings, backend, extra):
    sale = make_sale(sections=1, rows=3, seats_per_row=10)
    settings.RATELIMIT_BACKEND = backend
    settings.RATELIMIT_ENABLED = False
    statements_of_a_checkout(sale)  # the process's caches warm up
    without, _ = statements_of_a_checkout(sale)
    settings.RATELIMIT_ENABLED = True
    with_limits, sql = statements_of_a_checkout(sale)
    assert with_limits == without + extra, "\n".join(sql)
    # the database backend's one statement took the three buckets of a checkout
    assert Bucket.objects.count() == (3 if backend == "database" else 0)
