"""A session change run by real ``manage.py task_worker`` processes, against a database of its
own (PostgreSQL when the suite runs on PostgreSQL, else an SQLite file): the worker is killed
with SIGKILL halfway through the job; once its lease runs out a new worker takes the task
back and the job resumes. Afterwards every order was dealt with exactly once: one refund per
order and per payment (cancellation), one new credential version per ticket (postponement,
move: each ticket at its place in the new venue),
and the daily ledger check finds no difference."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tessera.core.tests.test_faults import LEASE_SECONDS, ROOT
from tessera.core.tests.test_faults import database as database  # fixture
from tessera.core.tests.test_faults import template as template  # fixture

ORDERS = 40
BATCH = 4

SETUP = r"""
import json, sys
import django
django.setup()
from datetime import timedelta
from django.utils import timezone
from bench.aftersales import sell_places
from tessera.inventory.tests.factories import make_sale
now = timezone.now()
sale = make_sale(sections=1, rows=4, seats_per_row=20, starts_at=now + timedelta(days=20), now=now)
units = list(sale.units().order_by("pk").values_list("pk", flat=True))
orders = sell_places(session=sale.session, unit_ids=units, per_order=2, now=now, prefix="kw")
print(json.dumps({"session": sale.session.pk, "orders": orders}))
"""

START = r"""
import json, sys
import django
django.setup()
from datetime import timedelta
from django.utils import timezone
from tessera.aftersales import changes
from tessera.catalog.models import Session
now = timezone.now()
session = Session.objects.get(pk=int(sys.argv[1]))
if sys.argv[2] == "cancel":
    change = changes.start_cancellation(session=session, actor=None, reason="Storm", now=now)
elif sys.argv[2] == "move":
    from tessera.catalog.models import PriceZone
    from tessera.venues.models import Section
    from tessera.venues.tests.factories import make_layout, make_venue
    old = session.layout.venue
    venue = make_venue(organization=old.organization, city=old.city, slug="killed-worker-arena")
    target = Section.objects.get(
        layout=make_layout(venue=venue, sections=1, rows=4, seats_per_row=20)
    )
    zone = PriceZone.objects.filter(session=session).order_by("pk").first()
    change = changes.start_move(
        session=session, layout=target.layout, zones={target.pk: zone.pk}, section_map={},
        refund_until=now + timedelta(days=2), actor=None, reason="Roof", now=now,
    )
else:
    change = changes.start_postponement(
        session=session, actor=None, reason="Ill", now=now,
        new_starts_at=session.starts_at + timedelta(days=7), refund_until=now + timedelta(days=2),
    )
print(json.dumps({"change": change.pk}))
"""

VERIFY = r"""
import json, sys
import django
django.setup()
from django.db.models import Count, F
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from tessera.aftersales.models import RefundRequest, SessionChangeOrder
from tessera.orders.models import Order
from tessera.payments import services as payments
from tessera.payments.models import Payment, Refund
from tessera.tickets.models import Revocation, Ticket
session = int(sys.argv[1])
tasks = DBTaskResult.objects.filter(task_path__endswith="run_session_change")
print(json.dumps({
    "orders": dict(
        Order.objects.filter(session_id=session).values_list("status").annotate(n=Count("id"))
    ),
    "requests_per_order": sorted(set(
        RefundRequest.objects.filter(order__session_id=session).values("order_id")
        .annotate(n=Count("id")).values_list("n", flat=True))),
    "refunds_per_payment": sorted(set(
        Refund.objects.filter(payment__order__session_id=session).values("payment_id")
        .annotate(n=Count("id")).values_list("n", flat=True))),
    "refund_status": dict(Refund.objects.filter(payment__order__session_id=session)
        .values_list("status").annotate(n=Count("id"))),
    "payments": Payment.objects.filter(order__session_id=session).count(),
    "ticket_versions": dict(Ticket.objects.filter(session_id=session).values_list("version")
        .annotate(n=Count("id"))),
    "ticket_status": dict(Ticket.objects.filter(session_id=session).values_list("status")
        .annotate(n=Count("id"))),
    "revocations_per_ticket": sorted(set(
        Revocation.objects.filter(session_id=session).values("ticket_id")
        .annotate(n=Count("id")).values_list("n", flat=True))),
    "markers": dict(SessionChangeOrder.objects.values_list("status").annotate(n=Count("id"))),
    "attempts": sorted(set(SessionChangeOrder.objects.values_list("attempts", flat=True))),
    "claims": sorted(len(ids) for ids in tasks.values_list("worker_ids", flat=True)),
    "task_status": sorted(set(tasks.values_list("status", flat=True))),
    "ledger_differences": payments.check_ledgers(now=timezone.now()).differences,
    "tickets_on_new_layout": Ticket.objects.filter(
        session_id=session, unit__section__layout_id=F("session__layout_id")
    ).count(),
}))
"""


def start_worker(db, tmp_path, n: int) -> subprocess.Popen:
    environment = dict(db.environment)
    environment["TESSERA_SESSION_CHANGE_BATCH_ORDERS"] = str(BATCH)
    log = (tmp_path / f"worker-{n}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "manage.py", "task_worker", "--interval", "0.1"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def progress(db, change: int) -> dict:
    """The change's counters, read straight from its row (a script would be too slow to
    catch the job halfway)."""
    status, done, failed, total = db.query(
        "SELECT status, done, failed, total FROM aftersales_sessionchange WHERE id = %s",
        (change,),
    )[0]
    return {"status": status, "done": done, "failed": failed, "total": total}


def running_batches(db) -> int:
    """Tasks of the job a worker holds right now."""
    return db.query(
        "SELECT count(*) FROM django_tasks_database_dbtaskresult "
        "WHERE task_path LIKE %s AND status = 'RUNNING'",
        ("%run_session_change",),
    )[0][0]


def wait_for(what: str, check, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["cancel", "postpone", "move"])
def test_a_worker_killed_halfway_through_a_session_change_the_job_resumes_and_does_each_order_once(
    database, tmp_path, kind
):
    # given a sold-out session: 40 orders of two tickets, paid at the sandbox
    sale = json.loads(database.run(SETUP))
    assert sale["orders"] == ORDERS
    first = start_worker(database, tmp_path, 1)
    second = None
    try:
        # when the organizer starts the change and the worker is killed halfway through
        change = json.loads(database.run(START, str(sale["session"]), kind))["change"]
        state = wait_for(
            "a worker holds a batch of the job, a quarter done",
            lambda: (
                (s := progress(database, change))["done"] >= ORDERS // 4
                and running_batches(database)
                and s
            ),
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        # a batch is short: the worker may have finished the one seen above and not yet
        # claimed the next when the signal came; what it held at its death is still RUNNING
        held_at_death = running_batches(database)
        stopped = progress(database, change)
        assert state["done"] <= stopped["done"] < ORDERS
        assert stopped["status"] == "running"
        time.sleep(LEASE_SECONDS + 0.5)  # the dead worker's lease runs out
        second = start_worker(database, tmp_path, 2)

        # then the new worker resumes the job to the end
        final = wait_for(
            "the job is done",
            lambda: (s := progress(database, change))["status"] != "running" and s,
            timeout=180,
        )
        assert (final["status"], final["done"], final["failed"], final["total"]) == (
            "done",
            ORDERS,
            0,
            ORDERS,
        )
        if kind == "cancel":
            wait_for(
                "the money is back",
                lambda: (
                    json.loads(database.run(VERIFY, str(sale["session"])))["refund_status"]
                    == {"succeeded": ORDERS}
                ),
                timeout=300,
            )
        # the batch the dead worker held goes back to the queue once its lease ran out and
        # runs again (finding nothing left to do, or the orders still pending)
        wait_for(
            "every task of the job finished",
            lambda: (
                not database.query(
                    "SELECT count(*) FROM django_tasks_database_dbtaskresult "
                    "WHERE task_path LIKE %s AND status <> 'SUCCESSFUL'",
                    ("%run_session_change",),
                )[0][0]
            ),
            timeout=120,
        )
        facts = json.loads(database.run(VERIFY, str(sale["session"])))
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=20)

    # each order was dealt with exactly once, and the killed task was claimed again
    assert facts["markers"] == {"done": ORDERS}
    assert facts["attempts"] == [1]
    # the batch the dead worker held (if it held one) ran again elsewhere, nothing else did
    assert max(facts["claims"]) == (2 if held_at_death else 1)
    assert facts["task_status"] == ["SUCCESSFUL"]
    assert facts["ledger_differences"] == 0
    if kind == "cancel":
        assert facts["orders"] == {"refunded": ORDERS}
        assert facts["requests_per_order"] == [1]
        assert facts["refunds_per_payment"] == [1]
        assert facts["payments"] == ORDERS
        assert facts["ticket_status"] == {"revoked": 2 * ORDERS}
        assert facts["revocations_per_ticket"] == [1]
    else:
        assert facts["orders"] == {"fulfilled": ORDERS}
        assert facts["requests_per_order"] == []
        assert facts["ticket_status"] == {"valid": 2 * ORDERS}
        # one new credential version per ticket: the old one revoked once
        assert len(facts["ticket_versions"]) == 1
        assert facts["revocations_per_ticket"] == [1]
    if kind == "move":
        # every ticket has its place at the new venue
        assert facts["tickets_on_new_layout"] == 2 * ORDERS
