"""Races between real threads, each with its own database connection.

On PostgreSQL the buyers really run in parallel (row locks, SKIP LOCKED, advisory locks).
On SQLite writers queue for the database lock. The test database there is an in-memory
shared-cache database, which answers "table is locked" at once where a file database waits
``busy_timeout``; ``waiting_for_the_lock`` does that waiting. The service call is one
transaction, so running it again after such a refusal is exactly what waiting would do.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from tessera.core.errors import DomainError
from tessera.core.models import IdempotencyRecord
from tessera.inventory import selectors
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.services import hold_best_available, hold_quantity, hold_units
from tessera.inventory.tests.factories import make_buyer, make_sale

pytestmark = pytest.mark.django_db(transaction=True)

NOW = timezone.now()


def waiting_for_the_lock(call):
    deadline = time.monotonic() + 60
    while True:
        try:
            return call()
        except OperationalError as exc:
            locked = connection.vendor == "sqlite" and "locked" in str(exc)
            if not locked or time.monotonic() > deadline:
                raise
            time.sleep(0.002)


def race(call, args: list) -> list:
    """Run ``call(arg)`` for every arg, each in its own thread, all released at once.

    Returns, per arg, the hold or the code of the DomainError raised.
    """
    start = threading.Barrier(len(args), timeout=30)

    def one(arg):
        try:
            start.wait()
            return waiting_for_the_lock(lambda: call(arg))
        except DomainError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(args)) as pool:
        return list(pool.map(one, args))


def holds_of(results):
    return [r for r in results if isinstance(r, Hold)]


def test_sixteen_buyers_racing_for_two_seats_one_wins():
    # Given two seats and sixteen buyers
    sale = make_sale()
    seats = [u.pk for u in sale.seat_units("S2", "A", [9, 10])]
    buyers = [make_buyer() for _ in range(16)]
    # When they all hold both seats at once
    results = race(
        lambda buyer: hold_units(session=sale.session, user=buyer, unit_ids=seats, now=NOW), buyers
    )
    # Then exactly one hold exists and the others were told the places are gone
    winners = holds_of(results)
    assert len(winners) == 1
    assert sorted(r for r in results if not isinstance(r, Hold)) == ["places_unavailable"] * 15
    assert list(Hold.objects.values_list("id", flat=True)) == [winners[0].pk]
    assert sorted(
        InventoryUnit.objects.filter(status=UnitStatus.HELD).values_list("id", "hold_id")
    ) == [(seats[0], winners[0].pk), (seats[1], winners[0].pk)]


def test_thirty_two_buyers_of_three_standing_places_never_oversell():
    # Given a standing zone of 50 and 32 buyers wanting 3 places each
    sale = make_sale(standing_capacity=50)
    buyers = [make_buyer() for _ in range(32)]
    # When they all hold at once
    results = race(
        lambda buyer: hold_quantity(
            session=sale.session, user=buyer, zone=sale.zones["GA"], quantity=3, now=NOW
        ),
        buyers,
    )
    # Then 16 got 3 places each, 48 in all, and the 16 others were refused
    winners = holds_of(results)
    assert len(winners) == 16
    assert sorted(r for r in results if not isinstance(r, Hold)) == ["places_unavailable"] * 16
    held = InventoryUnit.objects.filter(zone=sale.zones["GA"], status=UnitStatus.HELD)
    assert held.count() == 48
    assert sorted(held.values_list("hold_id", flat=True).distinct()) == sorted(
        w.pk for w in winners
    )
    assert all(InventoryUnit.objects.filter(hold=w).count() == 3 for w in winners)
    assert Hold.objects.count() == 16
    assert (
        InventoryUnit.objects.filter(zone=sale.zones["GA"], status=UnitStatus.AVAILABLE).count()
        == 2
    )


def test_parallel_holds_of_one_account_never_pass_its_limit():
    # Given an account limit of 6 and one buyer sending 8 holds of 2 places at once
    sale = make_sale(max_tickets_per_order=2, max_tickets_per_account=6)
    buyer = make_buyer()
    pairs = [
        [u.pk for u in sale.seat_units(section, row, [n, n + 1])]
        for section in ("S1", "S2")
        for row in ("A", "B")
        for n in (1, 3)
    ]
    # When they all run at once
    results = race(
        lambda pair: hold_units(session=sale.session, user=buyer, unit_ids=pair, now=NOW), pairs
    )
    # Then exactly three passed (6 places) and five were refused by the limit
    assert len(holds_of(results)) == 3
    assert sorted(r for r in results if not isinstance(r, Hold)) == ["limit_exceeded"] * 5
    assert selectors.count_account_units(session=sale.session, user=buyer, now=NOW) == 6
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 6
    assert Hold.objects.count() == 3


def test_parallel_best_available_buyers_get_disjoint_adjacent_blocks():
    # Given a section of 3 rows of 10 and 10 buyers wanting the best 2 seats at once
    sale = make_sale()
    buyers = [make_buyer() for _ in range(10)]
    results = race(
        lambda buyer: hold_best_available(
            session=sale.session, user=buyer, quantity=2, now=NOW, section=sale.sections["S2"]
        ),
        buyers,
    )
    # Then every winner holds two adjacent seats of one row, nobody shares a seat, and a
    # refusal only ever says the places were taken
    winners = holds_of(results)
    assert winners
    assert {r for r in results if not isinstance(r, Hold)} <= {"places_unavailable"}
    seen = set()
    for hold in winners:
        units = list(selectors.list_hold_units(hold))
        assert len(units) == 2
        assert units[0].seat.row_id == units[1].seat.row_id
        assert [b.seat.position - a.seat.position for a, b in pairwise(units)] == [1]
        seen.update(u.pk for u in units)
    assert len(seen) == 2 * len(winners)
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 2 * len(winners)


def test_parallel_retries_with_one_idempotency_key_hold_once():
    # Given a signed-in buyer whose app sends the same hold request 8 times at once
    sale = make_sale(standing_capacity=20, max_tickets_per_account=6)
    signed_in = Client()
    signed_in.force_login(make_buyer())
    url = f"/api/v1/sessions/{sale.session.pk}/holds"
    body = json.dumps({"zone": sale.zones["GA"].pk, "quantity": 2})

    def send(_):
        client = Client()
        client.cookies = signed_in.cookies
        response = client.post(
            url,
            data=body,
            content_type="application/json",
            headers={"Idempotency-Key": "tap-tap-tap"},
        )
        return response.status_code, response.json()

    # When they run
    results = race(send, list(range(8)))
    # Then one hold was made and every request got its answer
    assert Hold.objects.count() == 1
    hold = Hold.objects.get()
    assert {status for status, _ in results} == {201}
    assert {body["id"] for _, body in results} == {str(hold.pk)}
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 2
    assert IdempotencyRecord.objects.count() == 1
