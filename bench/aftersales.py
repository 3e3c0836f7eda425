"""Group ``aftersales``: an organizer postpones, then cancels, a sold-out session.

A session of ``--aftersales-tickets`` places (default: the run's ``--seats``, at most
2,000) is sold out through the real sale (hold, order, sandbox payment, callback: tickets
issued, ledger booked) in orders of ``--aftersales-per-order`` (4) tickets. Then, with real
``manage.py task_worker`` processes running the jobs (``aftersales.changes``):

* ``postpone_s``: the session is postponed by a week (every ticket re-dated: a new
  credential version, the old one revoked) until the job reports done;
* ``cancel_50k_s``: the session is cancelled until the job reports every order refunded in
  full and its tickets revoked; ``money_back_s``: until the sandbox has returned every
  payment (the refund tasks the job opened);
* with ``--aftersales-kill`` (default on) the worker is killed with SIGKILL halfway through
  each job, and a new one started once the lease ran out: the job resumes.

Checks afterwards (they must all hold): every order refunded once (one refund request and
one provider refund per order), every ticket revoked, the daily ledger check finds no
difference. ``sell_places`` is shared with the killed-worker tests
(``tessera/aftersales/tests/test_changes_workers.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.db import close_old_connections
from django.db.models import Count
from django.utils import timezone

from bench import Context, group
from bench.fixtures import make_buyers, make_stadium, open_sale

DEFAULT_TICKETS = 2_000

ROOT = Path(__file__).resolve().parent.parent
LEASE_SECONDS = 3


def sell_places(*, session, unit_ids: list[int], per_order: int, now, prefix: str) -> int:
    """Sell these places in orders of ``per_order``, each to a fan of its own, paid at the
    sandbox cashier (the callback issues the tickets and books the charge); returns the
    number of orders."""
    from tessera.inventory import services as inventory
    from tessera.orders import services as orders
    from tessera.payments import services as payments
    from tessera.payments.testing import pay_locally

    chunks = [unit_ids[i : i + per_order] for i in range(0, len(unit_ids), per_order)]
    buyers = make_buyers(count=len(chunks), prefix=prefix)
    for buyer, chunk in zip(buyers, chunks, strict=True):
        hold = inventory.hold_units(session=session, user=buyer, unit_ids=chunk, now=now)
        order = orders.place_order(
            hold=hold, user=buyer, attendees=[f"Fan {buyer.pk}"] * len(chunk), now=now
        )
        payment = payments.start_payment(order=order, provider="sandbox", user=buyer, now=now)
        pay_locally(payment_id=payment.pk, now=now)
    return len(chunks)


class Workers:
    """``manage.py task_worker`` processes against the bench database, killed or stopped."""

    def __init__(self, database_url: str, log_dir: Path):
        self.database_url, self.log_dir = database_url, log_dir
        self.processes: list[subprocess.Popen] = []

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "tessera.settings",
                "TESSERA_DATABASE_URL": self.database_url,
                "TESSERA_TASK_LEASE_SECONDS": str(LEASE_SECONDS),
                "TESSERA_WORKER_HEARTBEAT_SECONDS": "0.5",
                "TESSERA_LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT),
            }
        )
        return env

    def start(self) -> subprocess.Popen:
        log = open(self.log_dir / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "manage.py", "task_worker", "--interval", "0.1"],
            cwd=ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def watch(ctx: Context, change_id: int, workers: Workers, *, kill: bool, label: str) -> dict:
    """Poll the change's progress until it is done (killing the worker halfway when asked);
    the seconds it took and what happened."""
    from tessera.aftersales import changes
    from tessera.aftersales.models import SessionChange

    started = time.perf_counter()
    killed_at = None
    last_print = 0.0
    while True:
        close_old_connections()
        state = changes.progress(SessionChange(pk=change_id))
        if state["status"] != "running":
            break
        elapsed = time.perf_counter() - started
        if elapsed - last_print >= 5:
            ctx.log(f"{label}: {state['done'] + state['failed']:,} / {state['total']:,}")
            last_print = elapsed
        if kill and killed_at is None and state["percent"] >= 50:
            victim = workers.processes[-1]
            workers.kill(victim)
            killed_at = state["done"]
            ctx.log(f"{label}: worker {victim.pid} killed at {killed_at:,} orders done")
            time.sleep(LEASE_SECONDS + 0.5)  # the dead worker's lease runs out
            workers.start()
        time.sleep(0.2)
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "killed_at_orders": killed_at,
        "done": state["done"],
        "failed": state["failed"],
        "total": state["total"],
    }


def _arguments(parser):
    parser.add_argument(
        "--aftersales-tickets",
        type=int,
        default=None,
        help=f"tickets sold (default: --seats, at most {DEFAULT_TICKETS})",
    )
    parser.add_argument("--aftersales-per-order", type=int, default=4, help="tickets per order")
    parser.add_argument(
        "--aftersales-kill",
        action=__import__("argparse").BooleanOptionalAction,
        default=True,
        help="kill the worker halfway through each job (default on)",
    )


@group("aftersales", order=80, add_arguments=_arguments)
def run(ctx: Context) -> dict:
    from tessera.aftersales import changes
    from tessera.aftersales.models import RefundRequest
    from tessera.inventory.models import InventoryUnit
    from tessera.orders.models import Order, OrderStatus
    from tessera.payments import services as payments
    from tessera.payments.models import Payment, Refund, RefundStatus
    from tessera.tickets.models import Revocation, Ticket, TicketStatus

    # by default the group measures 2,000 places so `make bench` ends (selling them through
    # the real sale takes most of the time); --aftersales-tickets 50000 runs the target's size
    places = ctx.args.aftersales_tickets or min(ctx.seats, DEFAULT_TICKETS)
    per_order = ctx.args.aftersales_per_order
    now = timezone.now()
    _venue, layout, _spec = make_stadium(places=places, label="aftersales")
    sale = open_sale(layout=layout, label="aftersales", now=now)
    unit_ids = list(
        InventoryUnit.objects.filter(session=sale.session)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ctx.log(f"selling {len(unit_ids):,} places in orders of {per_order}")
    started = time.perf_counter()
    order_count = sell_places(
        session=sale.session, unit_ids=unit_ids, per_order=per_order, now=now, prefix="as"
    )
    sell_s = time.perf_counter() - started
    tickets = Ticket.objects.filter(session=sale.session).count()
    ctx.log(f"sold: {order_count:,} orders, {tickets:,} tickets in {sell_s:.1f} s")

    log_dir = Path(tempfile.mkdtemp(prefix="tessera-bench-aftersales-"))
    workers = Workers(ctx.database_url, log_dir)
    results: dict = {"tickets": tickets, "orders": order_count, "sell_s": round(sell_s, 1)}
    try:
        workers.start()
        postponed = changes.start_postponement(
            session=sale.session,
            actor=None,
            reason="Bench postponement",
            new_starts_at=sale.session.starts_at + timedelta(days=7),
            refund_until=timezone.now() + timedelta(days=3),
            now=timezone.now(),
        )
        postpone = watch(
            ctx, postponed.pk, workers, kill=ctx.args.aftersales_kill, label="postpone"
        )
        results["postpone_s"] = postpone["seconds"]
        results["postpone"] = postpone

        cancelled = changes.start_cancellation(
            session=sale.session, actor=None, reason="Bench cancellation", now=timezone.now()
        )
        started = time.perf_counter()
        cancel = watch(ctx, cancelled.pk, workers, kill=ctx.args.aftersales_kill, label="cancel")
        results["cancel_50k_s"] = cancel["seconds"]
        results["cancel"] = cancel
        payment_count = Payment.objects.filter(order__session=sale.session).count()
        while True:
            close_old_connections()
            open_refunds = Refund.objects.filter(payment__order__session=sale.session).exclude(
                status=RefundStatus.SUCCEEDED
            )
            if not open_refunds.exists() and (
                Refund.objects.filter(payment__order__session=sale.session).count() >= payment_count
            ):
                break
            if time.perf_counter() - started > 3600:
                raise RuntimeError("the refunds did not finish within an hour")
            time.sleep(0.5)
        results["money_back_s"] = round(time.perf_counter() - started, 2)
    finally:
        workers.stop()
    close_old_connections()
    per_order_requests = (
        RefundRequest.objects.filter(order__session=sale.session)
        .values("order_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    refunds_per_payment = (
        Refund.objects.filter(payment__order__session=sale.session)
        .values("payment_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    check = payments.check_ledgers(now=timezone.now())
    results["checks"] = {
        "orders_refunded": Order.objects.filter(
            session=sale.session, status=OrderStatus.REFUNDED
        ).count(),
        "orders_refunded_twice": per_order_requests,
        "payments_refunded_twice": refunds_per_payment,
        "tickets_valid": Ticket.objects.filter(
            session=sale.session, status=TicketStatus.VALID
        ).count(),
        "revocations": Revocation.objects.filter(session=sale.session).count(),
        "ledger_differences": check.differences,
    }
    ok = (
        results["checks"]["orders_refunded"] == order_count
        and per_order_requests == 0
        and refunds_per_payment == 0
        and results["checks"]["tickets_valid"] == 0
        and check.differences == 0
    )
    results["ok"] = ok
    ctx.log(
        f"postpone {results['postpone_s']} s, cancel {results['cancel_50k_s']} s, money back "
        f"{results['money_back_s']} s; checks {'passed' if ok else 'FAILED'}"
    )
    if not ok:
        raise RuntimeError(f"after-sales checks failed: {results['checks']}")
    return results
