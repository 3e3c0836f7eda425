"""Pass buyers and single-ticket buyers racing for the last places of the covered sessions,
in real threads with their own connections (PostgreSQL: TESSERA_DATABASE_URL=postgres://…;
on SQLite the writers queue, and the same invariants hold)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection

from tessera.core.errors import DomainError
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.services import hold_quantity
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import Order
from tessera.passes import services
from tessera.passes.models import Pass, PassEntry
from tessera.passes.tests.factories import NOW, make_league

pytestmark = pytest.mark.django_db(transaction=True)

SEATS = 4
PASS_BUYERS = 6
SINGLE_BUYERS_PER_SESSION = 3


def retrying(call):
    deadline = time.monotonic() + 60
    while True:
        try:
            return call()
        except OperationalError as exc:
            if connection.vendor != "sqlite" or "locked" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.002)


def test_pass_and_single_ticket_buyers_never_oversell_any_covered_session():
    # given three covered sessions of four seats each, six pass buyers and three buyers of
    # one ticket per session: nine wanting each session's four places
    league = make_league(matches=3, seats_per_row=SEATS)
    jobs = [("pass", make_buyer(), None) for _ in range(PASS_BUYERS)]
    for sale in league.sales:
        jobs += [("single", make_buyer(), sale) for _ in range(SINGLE_BUYERS_PER_SESSION)]
    start = threading.Barrier(len(jobs), timeout=30)

    def buy(job):
        kind, user, sale = job
        try:
            start.wait()
            if kind == "pass":
                return retrying(
                    lambda: services.buy_pass(
                        product_id=league.product.pk, user=user, provider="sandbox", now=NOW
                    )
                )
            return retrying(
                lambda: hold_quantity(
                    session=sale.session, user=user, zone=sale.zones["A"], quantity=1, now=NOW
                )
            )
        except DomainError as exc:
            return exc.code
        finally:
            connection.close()

    # when they all buy at once
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(buy, jobs))

    # then no session has more places taken than it has, each taken place belongs to a
    # pass that has a place in every session or to a single buyer's hold
    passes = [r for r in results[:PASS_BUYERS] if isinstance(r, services.BoughtPass)]
    singles = [r for r in results[PASS_BUYERS:] if isinstance(r, Hold)]
    refusals = [r for r in results if isinstance(r, str)]
    assert set(refusals) <= {"pass_sold_out", "places_unavailable"}
    assert len(passes) + len(singles) + len(refusals) == len(jobs)
    assert passes, "some pass buyer must win"
    for sale in league.sales:
        taken = InventoryUnit.objects.filter(session=sale.session, status=UnitStatus.HELD)
        singles_here = [h for h in singles if h.session_id == sale.session.pk]
        assert taken.count() == len(passes) + len(singles_here) <= SEATS
        assert taken.values("hold_id").distinct().count() == taken.count()
    assert Pass.objects.count() == len(passes) == Order.objects.count()
    for bought in passes:
        entries = PassEntry.objects.filter(sold_pass=bought.sold_pass)
        assert sorted(entries.values_list("session_id", flat=True)) == sorted(
            s.pk for s in league.sessions
        )
        assert all(InventoryUnit.objects.get(pk=e.unit_id).hold_id == e.hold_id for e in entries)
    # a refused pass buyer holds nothing anywhere
    for (kind, user, _sale), result in zip(jobs, results, strict=True):
        if kind == "pass" and isinstance(result, str):
            assert not Hold.objects.filter(user=user).exists()
