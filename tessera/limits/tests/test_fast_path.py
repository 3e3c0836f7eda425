"""The sale's fast path (PostgreSQL) declines only sessions with a limit on: a session whose
event has a row of limits all off keeps the checkout's pinned statements; one with a limit
on runs through the services (which write its marks)."""

import json

import pytest
from django.test import Client

from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.limits.models import PurchaseMark
from tessera.limits.tests.factories import set_limits
from tessera.sale.tests.test_budget import at_most

pytestmark = pytest.mark.django_db(transaction=True)


def checkout(client, sale):
    return client.post(
        f"/api/v1/sessions/{sale.session.pk}/checkout",
        json.dumps({"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"}),
        content_type="application/json",
    )


def test_limits_all_off_keep_the_checkouts_statements():
    sale = make_sale(sections=1, rows=2, seats_per_row=10)
    set_limits(event=sale.session.event, device_per_session=0, payer_per_event=0)
    fan = Client()
    fan.force_login(make_buyer())
    assert checkout(fan, sale).status_code == 201  # the process's caches warm up

    with at_most("checkout"):
        answer = checkout(fan, sale)

    assert answer.status_code == 201
    assert PurchaseMark.objects.count() == 0


def test_a_limit_on_takes_the_services_path_and_marks_the_hold():
    sale = make_sale(sections=1, rows=2, seats_per_row=10)
    set_limits(event=sale.session.event, device_per_event=5)
    fan = Client()
    fan.force_login(make_buyer())

    answer = checkout(fan, sale)

    assert answer.status_code == 201
    assert list(PurchaseMark.objects.values_list("kind", "quantity")) == [
        ("device", 1),
        ("address", 1),
    ]
