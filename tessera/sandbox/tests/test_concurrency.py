"""Eight buyers' browsers press "pay" on one cashier link at once: one trade, one decision,
one delivery."""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client

from tessera.sandbox import pagepay
from tessera.sandbox.models import SandboxTrade
from tessera.sandbox.tests.conftest import make_terms

THREADS = 8


@pytest.mark.django_db(transaction=True)
def test_eight_presses_at_once_make_one_trade_with_one_decision(notify_server):
    terms = make_terms(notify_url=notify_server.url(), switches={"duplicates": 2})
    url = urlsplit(pagepay.page_pay_url(terms))
    link = f"{url.path}?{url.query}"
    # SQLite's in-memory test database serialises writers (and refuses concurrent ones), so
    # there the presses run one after another; PostgreSQL runs them at once.
    workers = THREADS if connection.vendor == "postgresql" else 1
    start = threading.Barrier(workers)

    def press(n: int) -> tuple[int, str]:
        try:
            start.wait(timeout=30)
            response = Client().post(link, {"choice": "pay" if n % 2 else "fail"})
            return response.status_code, response["Location"]
        finally:
            connection.close()

    with ThreadPoolExecutor(workers) as pool:
        answers = list(pool.map(press, range(THREADS)))

    trade = SandboxTrade.objects.get()
    back_to_shop = [a for a in answers if a == (303, terms.return_url)]
    told_already_decided = [a for a in answers if a == (303, link)]
    assert (len(back_to_shop), len(told_already_decided)) == (1, THREADS - 1)
    assert (trade.payment_id, trade.sequence) == (terms.payment_id, 2)
    assert trade.status in ("paid", "failed")
    # The test settings deliver inline: the one decision's two callbacks went out, no more.
    assert [r.path for r in notify_server.received] == ["/notify", "/notify"]
