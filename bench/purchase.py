"""Group ``purchase``: the purchase path, from the database's raw ceiling to a sell-out over HTTP.

* ``ceiling_tx_s``: single-row conditional UPDATEs (the hold statement of DESIGN.md) per
  second from many psycopg connections over distinct rows: what the database itself allows.
* ``holds_s``: holds per second through ``inventory.services.hold_units`` /
  ``hold_quantity`` from several threads, a distinct buyer per hold, 1–4 places each.
* The sell-out: a session of ``--seats`` places served by ``manage.py serve`` (granian WSGI +
  the task worker) on its own port, and ``--buyers`` concurrent fans, each: visit the sign-in
  page (CSRF cookie), hold 1–4 places (best available or any in a zone), order, start a sandbox
  payment, press "pay" on the sandbox cashier, and poll the order until its tickets are issued
  (the sandbox's signed callback travels from the task worker over HTTP). Until the session is
  sold out or ``--cap`` seconds have passed. ``oversold`` is computed from the database.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.db import close_old_connections, connection
from django.db.models import Count, Q

from bench import Context, group
from bench.fixtures import (
    BUYER_PASSWORD,
    Sale,
    make_buyers,
    make_stadium,
    open_sale,
    sign_in_sessions,
)
from bench.http_buyer import Client, Disconnected, Stats
from bench.server import ROOT, Server
from bench.support import percentile
from tessera.core.clock import now as clock_now

CEILING_SQL = (
    "UPDATE inventory_inventoryunit SET status = 'held', hold_id = %s, hold_expires_at = %s "
    "WHERE id = %s AND (status = 'available' OR (status = 'held' AND hold_expires_at < %s))"
)
# A buyer's page reading the order's status after paying waits this long for the outcome
# (the server answers as soon as the callback is applied).
STATUS_WAIT_S = 10
PURCHASE_TIMEOUT_S = 120.0
GRACE_S = 30.0
SIGNIN_SAMPLE = 8


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--buyers", type=int, default=None, help="concurrent fans over HTTP (default 32, quick 16)"
    )
    parser.add_argument(
        "--web-workers",
        default="1",
        help="granian worker processes; a comma list (e.g. 1,2) runs one sell-out per value "
        "and reports the best (default 1)",
    )
    parser.add_argument(
        "--web-threads", type=int, default=8, help="granian blocking threads per worker (8)"
    )
    parser.add_argument(
        "--task-workers",
        type=int,
        default=1,
        help="task_worker processes serve starts (default 1)",
    )
    parser.add_argument(
        "--cap", type=float, default=None, help="sell-out time cap in seconds (300, quick 20)"
    )
    parser.add_argument(
        "--hold-mode",
        choices=("mix", "quantity", "best"),
        default="mix",
        help="how fans choose seated places: best available, any N in a zone, or half each",
    )
    parser.add_argument(
        "--direct-seconds",
        type=float,
        default=None,
        help="length of the ceiling and the holds measurements (5 s, quick 1.5 s)",
    )
    parser.add_argument(
        "--direct-threads", type=int, default=8, help="threads of the ceiling and holds runs (8)"
    )
    parser.add_argument("--skip-direct", action="store_true", help="only the sell-out over HTTP")
    parser.add_argument(
        "--web-nodes",
        type=int,
        default=1,
        help="web servers (each serve with its own port, processes and task workers) against "
        "the same database, buyers spread over them, as behind a load balancer (default 1)",
    )
    parser.add_argument(
        "--chaos",
        action="store_true",
        help="kill web and task-worker processes with SIGKILL at random moments during the "
        "sell-out (serve restarts them); holds last 1 minute so abandoned places come back; "
        "afterwards the database is checked (nothing sold twice, every paid order has its "
        "tickets and one charge, every payment paid at the gateway applied)",
    )
    parser.add_argument(
        "--py-spy",
        action="store_true",
        help="record the web and task workers with py-spy during the sell-out (collapsed "
        "stacks in var/bench/, top functions in the figures)",
    )


# -- direct measurements ----------------------------------------------------------------------


def measure_ceiling(*, ctx: Context, sale: Sale, seconds: float, threads: int) -> dict:
    """Single-row conditional UPDATEs in autocommit from ``threads`` connections, each over
    its own rows; the rows' holds are already expired so a second pass matches again."""
    import psycopg

    from tessera.accounts.models import User
    from tessera.inventory.models import Hold, InventoryUnit

    now = clock_now()
    user = User.objects.order_by("id").first()
    holds = [
        Hold.objects.create(
            session=sale.session,
            user=user,
            quantity=1,
            created_at=now,
            expires_at=now - timedelta(minutes=1),
        ).pk
        for _ in range(threads)
    ]
    unit_ids = list(
        InventoryUnit.objects.filter(session=sale.session)
        .order_by("id")
        .values_list("id", flat=True)
    )
    slices = [unit_ids[i::threads] for i in range(threads)]
    counts = [0] * threads
    matched = [0] * threads
    stop = threading.Event()
    ready = threading.Barrier(threads + 1)
    expired = now - timedelta(minutes=1)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with psycopg.connect(ctx.database_url, autocommit=True) as conn:
                ids = slices[i]
                ready.wait()
                k = 0
                while not stop.is_set():
                    cursor = conn.execute(CEILING_SQL, (holds[i], expired, ids[k % len(ids)], now))
                    matched[i] += cursor.rowcount
                    counts[i] += 1
                    k += 1
        except BaseException as exc:
            errors.append(exc)
            ready.abort()

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    ready.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    InventoryUnit.objects.filter(session=sale.session).update(
        status="available", hold=None, hold_expires_at=None
    )
    Hold.objects.filter(pk__in=holds).delete()
    return {
        "ceiling_tx_s": round(sum(counts) / elapsed, 1),
        "ceiling_matched_pct": round(100 * sum(matched) / max(1, sum(counts)), 1),
    }


def measure_holds(*, sale: Sale, users: list, seconds: float, threads: int) -> dict:
    """Holds through the services from ``threads`` threads, a distinct user per hold: half
    the threads hold chosen seats (``hold_units``, each over its own block of zones A and B),
    half hold any N in zone C or the terrace (``hold_quantity``)."""
    from tessera.catalog.models import Session
    from tessera.core.errors import DomainError
    from tessera.inventory import services
    from tessera.inventory.models import InventoryUnit

    unit_threads = max(1, threads // 2)
    chosen = list(
        InventoryUnit.objects.filter(session=sale.session, zone__code__in=("A", "B"))
        .order_by("id")
        .values_list("id", flat=True)
    )
    size = len(chosen) // unit_threads
    chunks = [chosen[i * size : (i + 1) * size] for i in range(unit_threads)]
    quantity_zones = [sale.zones["C"], sale.zones["T"]]
    next_user = itertools.count()
    user_lock = threading.Lock()
    totals = {"units": [0, 0], "quantity": [0, 0]}  # holds, places
    errors: dict[str, int] = {}
    stop = threading.Event()
    ready = threading.Barrier(threads + 1)
    failures: list[BaseException] = []

    def take_user():
        with user_lock:
            i = next(next_user)
        return users[i] if i < len(users) else None

    def work(i: int) -> None:
        rng = random.Random(i)
        kind = "units" if i < unit_threads else "quantity"
        try:
            session = Session.objects.select_related("event", "layout").get(pk=sale.session.pk)
            zones = list(quantity_zones)
            position = 0
            ready.wait()
            while not stop.is_set():
                user = take_user()
                quantity = rng.randint(1, 4)
                if user is None:
                    break
                try:
                    if kind == "units":
                        ids = chunks[i][position : position + quantity]
                        if not ids:
                            break
                        position += len(ids)
                        services.hold_units(
                            session=session, user=user, unit_ids=ids, now=clock_now()
                        )
                        placed = len(ids)
                    else:
                        if not zones:
                            break
                        zone = zones[rng.randrange(len(zones))]
                        try:
                            services.hold_quantity(
                                session=session,
                                user=user,
                                zone=zone,
                                quantity=quantity,
                                now=clock_now(),
                            )
                        except services.PlacesUnavailable:
                            if quantity == 1:
                                zones.remove(zone)
                            raise
                        placed = quantity
                    with user_lock:
                        totals[kind][0] += 1
                        totals[kind][1] += placed
                except DomainError as exc:
                    with user_lock:
                        errors[exc.code] = errors.get(exc.code, 0) + 1
        except BaseException as exc:
            failures.append(exc)
            ready.abort()
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    ready.wait()
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline and any(w.is_alive() for w in workers):
        time.sleep(0.05)
    stop.set()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    holds = totals["units"][0] + totals["quantity"][0]
    return {
        "holds_s": round(holds / elapsed, 1),
        "holds_places_s": round((totals["units"][1] + totals["quantity"][1]) / elapsed, 1),
        "holds_units_s": round(totals["units"][0] / elapsed, 1),
        "holds_quantity_s": round(totals["quantity"][0] / elapsed, 1),
        "holds_errors": errors,
    }


# -- CPU accounting ---------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _process_cpu() -> dict[int, tuple[str, float]]:
    """pid → (kind, CPU seconds) for postgres and the bench's own Python processes."""
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # utime + stime, plus cutime + cstime: the CPU of children already reaped (PostgreSQL
        # backends that ended during the run live on in the postmaster's figures)
        seconds = sum(int(f) for f in fields[11:15]) / _TICK
        if comm == "postgres" or cmdline.startswith("postgres"):
            kind = "postgres"
        elif "task_worker" in cmdline:
            kind = "task_worker"
        elif "granian" in cmdline or "tessera.wsgi" in cmdline:
            kind = "web"
        elif comm == "wrk":
            kind = "load_generator"
        else:
            continue
        found[int(entry.name)] = (kind, seconds)
    return found


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the machine since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / _TICK, sum(fields) / _TICK


class CpuMeter:
    """CPU seconds used during a run by: this process (the buyers), the server's web and task
    worker processes, PostgreSQL (every database on the machine: backends that end during the
    run are counted through the postmaster's reaped-children time) and everything else."""

    def __init__(self, server_pids: set[int]):
        self.server_pids = server_pids
        self.start = self._by_kind()
        self.start_machine = _machine_cpu()
        self.start_self = sum(os.times()[:2])

    def _by_kind(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for pid, (kind, seconds) in _process_cpu().items():
            if kind == "postgres":
                kind = "postgres_all_databases"
            elif kind != "load_generator" and pid not in self.server_pids:
                continue  # someone else's Python
            totals[kind] = totals.get(kind, 0.0) + seconds
        return totals

    def read(self, server_pids: list[int] | None = None) -> dict:
        """The CPU used since the meter started; ``server_pids``: the servers' processes now
        (processes started meanwhile, e.g. restarted after a crash, count from zero; the
        CPU of processes that died meanwhile is lost to ``other``)."""
        if server_pids is not None:
            self.server_pids = set(server_pids)
        end = self._by_kind()
        busy0, total0 = self.start_machine
        busy1, total1 = _machine_cpu()
        split = {"bench_client": sum(os.times()[:2]) - self.start_self}
        for kind in sorted(set(end) | set(self.start)):
            split[kind] = end.get(kind, 0.0) - self.start.get(kind, 0.0)
        split = {k: round(v, 1) for k, v in split.items()}
        split["other"] = round((busy1 - busy0) - sum(split.values()), 1)
        return {
            "wall_s": round((total1 - total0) / (os.cpu_count() or 1), 1),
            "busy_pct": round(100 * (busy1 - busy0) / max(total1 - total0, 1e-9), 1),
            "cpu_s": split,
        }


# -- the sell-out over HTTP -------------------------------------------------------------------


@dataclass
class Purchase:
    places: int
    started: float
    finished: float
    steps_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class ZoneState:
    code: str
    id: int
    seated: bool
    capacity: int
    exhausted: bool = False


class Sellout:
    """Concurrent fans buying one session over HTTP until it is sold out."""

    def __init__(
        self,
        *,
        base_urls: list[str],
        sale: Sale,
        fans: list[tuple[int, str]],
        buyers: int,
        hold_mode: str,
        stats: Stats,
    ):
        self.base_urls = base_urls
        self.sale = sale
        self.session_id = sale.session.pk
        self.buyers = buyers
        self.hold_mode = hold_mode
        self.stats = stats
        self.fans = iter(fans)
        self.lock = threading.Lock()
        capacity = sale.zone_capacity()
        self.zones = [
            ZoneState(code=code, id=zone.pk, seated=code != "T", capacity=capacity[code])
            for code, zone in sale.zones.items()
            if capacity[code]
        ]
        self.purchases: list[Purchase] = []
        self.stop = threading.Event()
        self.abandon = threading.Event()

    # fans and zones, shared by the buyer threads
    def next_fan(self) -> tuple[int, str] | None:
        with self.lock:
            return next(self.fans, None)

    def pick_zone(self, rng: random.Random) -> ZoneState | None:
        """A zone with places left, chosen in proportion to its size."""
        with self.lock:
            open_zones = [z for z in self.zones if not z.exhausted]
        if not open_zones:
            return None
        return rng.choices(open_zones, weights=[z.capacity for z in open_zones])[0]

    def exhausted(self, zone: ZoneState) -> None:
        with self.lock:
            zone.exhausted = True

    def reopen(self, zone_ids: set[int]) -> None:
        with self.lock:
            for zone in self.zones:
                if zone.id in zone_ids:
                    zone.exhausted = False

    # one fan
    def _checkout(
        self, client: Client, rng: random.Random, quantity: int
    ) -> tuple[dict, int] | None:
        """Check out ``quantity`` places (1 when fewer are left), moving to another zone when
        one is empty. None when the whole session answers places_unavailable."""
        zone = self.pick_zone(rng)
        while zone is not None:
            best = zone.seated and (
                self.hold_mode == "best" or (self.hold_mode == "mix" and rng.random() < 0.5)
            )
            body = {"zone": zone.id, "quantity": quantity, "provider": "sandbox"}
            if best:
                body |= {"best_available": True, "accept_split": True}
            answer = client.request(
                "checkout", "POST", f"/api/v1/sessions/{self.session_id}/checkout", json_body=body
            )
            if answer.status == 201:
                bought = answer.json()
                return bought, len(bought["order"]["lines"])
            code = answer.error_code
            if code != "places_unavailable":
                self.stats.error(f"checkout:{code}")
                return None
            if quantity > 1:
                quantity = 1  # fewer left than asked: take one
                continue
            self.exhausted(zone)
            zone = self.pick_zone(rng)
        return None

    def purchase(self, client: Client, rng: random.Random, fan: tuple[int, str]) -> bool:
        """One fan's purchase: the checkout call, "pay" at the sandbox cashier (the
        gateway's page, not ours), and one status read that waits for the outcome.
        False when the session had nothing left for them."""
        _user_id, session_key = fan
        client.reset({"sessionid": session_key, "csrftoken": csrf_secret(session_key)})
        started = time.perf_counter()
        held = self._checkout(client, rng, rng.randint(1, 4))
        if held is None:
            return False
        bought, places = held
        t_checkout = time.perf_counter()
        cashier = urlsplit(bought["payment"]["cashier_url"])
        cashier_path = cashier.path + (f"?{cashier.query}" if cashier.query else "")
        answer = client.request(
            "cashier",
            "POST",
            cashier_path,
            form={"choice": "pay", "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        )
        if answer.status not in (200, 302, 303):
            self.stats.error(f"cashier:http_{answer.status}")
            return True
        t_cashier = time.perf_counter()
        while True:
            answer = client.request("status", "GET", f"{bought['status_url']}&wait={STATUS_WAIT_S}")
            status = (answer.json() or {}).get("status") if answer.status == 200 else None
            if status == "fulfilled":
                break
            if status not in ("pending_payment", "paid"):
                self.stats.error(f"fulfil:{status or answer.error_code}")
                return True
            if time.perf_counter() - t_cashier > PURCHASE_TIMEOUT_S or self.abandon.is_set():
                self.stats.error("fulfil:timeout")
                return True
            retry_after = answer.headers.get("Retry-After")
            if retry_after:  # the server could not wait for us now: ask again later
                time.sleep(min(float(retry_after), 2.0))
        finished = time.perf_counter()
        purchase = Purchase(
            places=places,
            started=started,
            finished=finished,
            steps_ms={
                "checkout": (t_checkout - started) * 1000,
                "cashier": (t_cashier - t_checkout) * 1000,
                "outcome_wait": (finished - t_cashier) * 1000,
            },
        )
        with self.lock:
            self.purchases.append(purchase)
        return True

    def buyer(self, index: int) -> None:
        rng = random.Random(1000 + index)
        # buyers are spread over the web nodes, as behind a load balancer
        client = Client(self.base_urls[index % len(self.base_urls)], self.stats)
        try:
            while not self.stop.is_set():
                fan = self.next_fan()
                if fan is None:
                    self.stats.error("fans:ran_out")
                    return
                try:
                    if not self.purchase(client, rng, fan):
                        return
                except Disconnected:
                    time.sleep(0.2)  # the error is counted; do not burn through the fans
                except Exception as exc:  # an answer we did not expect: count it, go on
                    self.stats.error(f"buyer:{type(exc).__name__}")
                    time.sleep(0.2)
        finally:
            client.close()

    def run_round(self) -> None:
        threads = [
            threading.Thread(target=self.buyer, args=(i,), daemon=True) for i in range(self.buyers)
        ]
        for t in threads:
            t.start()
        self.threads = threads

    def alive(self) -> bool:
        return any(t.is_alive() for t in getattr(self, "threads", []))


def held_places(session_id: int) -> int:
    from tessera.inventory.models import InventoryUnit

    return InventoryUnit.objects.filter(session_id=session_id, status="held").count()


def csrf_secret(session_key: str) -> str:
    """The fan's CSRF cookie, as a browser keeps it from an earlier visit: 32 letters and
    digits (Django's format for the unmasked secret), derived from the session key."""
    import hashlib

    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    digest = hashlib.sha256(session_key.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:32])


def free_zone_ids(session_id: int) -> set[int]:
    from tessera.inventory.models import InventoryUnit

    now = clock_now()
    return set(
        InventoryUnit.objects.filter(session_id=session_id, channel__isnull=True)
        .filter(Q(status="available") | Q(status="held", hold_expires_at__lt=now))
        .values_list("zone_id", flat=True)
        .distinct()
    )


def verify(sale: Sale) -> dict:
    """What the database says after the run: sold places, tickets, orders, money and what
    was left behind. ``oversold`` and ``money_errors`` must be 0."""
    from django.db.models import F, Q, Sum

    from tessera.inventory.models import InventoryUnit
    from tessera.orders.models import LedgerEntry, Order
    from tessera.payments.models import CallbackLog, Payment
    from tessera.tickets.models import Ticket

    units = InventoryUnit.objects.filter(session=sale.session)
    by_status = dict(units.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    sold = by_status.get("sold", 0)
    tickets = Ticket.objects.filter(session=sale.session, status="valid")
    ticket_count = tickets.count()
    duplicates = tickets.values("unit_id").annotate(n=Count("id")).filter(n__gt=1).count()
    session_orders = Order.objects.filter(session=sale.session)
    orders = dict(
        session_orders.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    fulfilled = session_orders.filter(status="fulfilled")
    # every fulfilled order: one charge of its total, one ticket per line
    charged = fulfilled.annotate(
        charges=Count("ledger", filter=Q(ledger__kind="charge")),
        charged=Sum("ledger__amount", filter=Q(ledger__kind="charge")),
    )
    wrong_charge = charged.exclude(charges=1).count() + charged.exclude(charged=F("total")).count()
    without_tickets = (
        fulfilled.annotate(n_tickets=Count("lines__ticket"), n_lines=Count("lines"))
        .exclude(n_tickets=F("n_lines"))
        .count()
    )
    payments = Payment.objects.filter(order__session=sale.session)
    charged_twice = (
        LedgerEntry.objects.filter(order__session=sale.session, kind="charge")
        .values("payment_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1, payment_id__isnull=False)
        .count()
    )
    callbacks = CallbackLog.objects.filter(payment__order__session=sale.session).exclude(
        headers__has_key="X-Tessera-Source"
    )
    # hold → tickets issued, by the server's clock: the hold's created_at and the order's
    # fulfilled_at (both the ``now`` of their requests), free of the buyers' waiting
    latencies = [
        (done - held).total_seconds() * 1000
        for held, done in fulfilled.values_list("hold__created_at", "fulfilled_at")
    ]
    return {
        "latencies_ms": latencies,
        "capacity": sale.capacity,
        "sold": sold,
        "tickets": ticket_count,
        "oversold": max(0, sold - sale.capacity) + max(0, ticket_count - sold) + duplicates,
        "money_errors": wrong_charge + without_tickets + charged_twice,
        "unticketed": max(0, sold - ticket_count),
        "units_by_status": by_status,
        "orders_by_status": orders,
        "payments_by_status": dict(
            payments.values_list("status").annotate(n=Count("id")).values_list("status", "n")
        ),
        "callbacks_received": callbacks.count(),
        "callbacks_by_outcome": dict(
            callbacks.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n")
        ),
        "reconciled": CallbackLog.objects.filter(
            payment__order__session=sale.session, headers__has_key="X-Tessera-Source"
        ).count(),
        # places still held when the run ended: by a live hold (a purchase in flight or a
        # checkout whose answer was lost) they come back when it expires
        "held_at_end": by_status.get("held", 0),
    }


def measure_queries(*, sale: Sale, session_keys: list[str]) -> dict:
    """One purchase in this process through Django's test client (the same middleware,
    views and services as the server, no HTTP): SQL statements and transactions per step.
    These counts do not depend on the machine's load; the milliseconds do.

    ``purchase_sql`` counts the merchant's side: the buyer's checkout, the provider's
    callback and the buyer's status read. The sandbox gateway's own page (``cashier``) is
    the provider's work and is reported apart (``gateway_sql``).
    """
    from django.test import override_settings

    from bench.server import defence_env

    served = defence_env()  # the rate limits' store and risk control as the server has them
    with override_settings(
        RATELIMIT_BACKEND=served["TESSERA_RATELIMIT_BACKEND"],
        RISK_ATTACK_RATE=int(served["TESSERA_RISK_ATTACK_RATE"]),
    ):
        for session_key in session_keys:  # the first purchase warms caches; the last counts
            figures = _one_purchase_in_process(sale=sale, session_key=session_key)
    merchant = {k: v for k, v in figures.items() if k != "cashier"}
    total = {
        key: round(sum(f[key] for f in merchant.values()), 1)
        for key in ("queries", "writes", "transactions", "ms")
    }
    return {
        "purchase_sql": total,
        "sql_per_purchase": total["queries"],
        "gateway_sql": figures["cashier"],
        "step_sql": figures,
    }


@contextmanager
def _callbacks_captured():
    """The sandbox gateway's callbacks of the block, caught instead of sent (this process has
    no server to send them to): the list fills when the cashier's decision commits."""
    from tessera.sandbox import delivery

    captured: list = []
    original = delivery.deliver

    def catch(job, *, delay_seconds: float = 0.0) -> None:
        captured.extend(job.callbacks)

    delivery.deliver = catch
    try:
        yield captured
    finally:
        delivery.deliver = original


def _one_purchase_in_process(*, sale: Sale, session_key: str) -> dict[str, dict]:
    import json

    from django.test import Client as DjangoClient

    from bench.support import statement_counter

    browser = DjangoClient(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    browser.cookies["sessionid"] = session_key
    browser.cookies["csrftoken"] = csrf_secret(session_key)
    headers = {"HTTP_X_CSRFTOKEN": csrf_secret(session_key)}
    figures: dict[str, dict] = {}

    def step(name: str, call):
        with statement_counter(connection) as counted:
            started = time.perf_counter()
            response = call()
            ms = (time.perf_counter() - started) * 1000
        figures[name] = counted.figures() | {"ms": round(ms, 1)}
        return response

    bought = step(
        "checkout",
        lambda: browser.post(
            f"/api/v1/sessions/{sale.session.pk}/checkout",
            json.dumps({"zone": sale.zones["A"].pk, "quantity": 2, "provider": "sandbox"}),
            content_type="application/json",
            **headers,
        ),
    ).json()
    cashier = urlsplit(bought["payment"]["cashier_url"])
    with _callbacks_captured() as captured:
        step(
            "cashier",
            lambda: browser.post(
                cashier.path + (f"?{cashier.query}" if cashier.query else ""),
                {"choice": "pay", "csrfmiddlewaretoken": csrf_secret(session_key)},
                **headers,
            ),
        )
    [callback] = captured
    gateway = DjangoClient(HTTP_HOST="127.0.0.1")
    step(
        "callback",
        lambda: gateway.post(
            "/api/v1/payments/callbacks/sandbox",
            callback.body,
            content_type="application/json",
            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in callback.headers.items()},
        ),
    )
    answer = step("status", lambda: browser.get(bought["status_url"] + "&wait=5")).json()
    if answer["status"] != "fulfilled":
        raise RuntimeError(f"the in-process purchase ended {answer['status']!r}, not fulfilled")
    return figures


def measure_signin(*, base_url: str, users: list, stats: Stats) -> dict:
    """Real sign-ins over HTTP (sign-in page, then the form POST), 4 at a time."""
    timings: list[float] = []
    failures = 0
    lock = threading.Lock()
    queue = iter(users)

    def work() -> None:
        nonlocal failures
        client = Client(base_url, stats)
        try:
            while True:
                with lock:
                    user = next(queue, None)
                if user is None:
                    return
                client.reset()
                started = time.perf_counter()
                client.request("signin_page", "GET", "/accounts/login/")
                answer = client.request(
                    "signin",
                    "POST",
                    "/accounts/login/",
                    form={
                        "username": user.username,
                        "password": BUYER_PASSWORD,
                        "csrfmiddlewaretoken": client.cookies.get("csrftoken", ""),
                    },
                )
                ok = answer.status == 302 and "sessionid" in client.cookies
                with lock:
                    if ok:
                        timings.append((time.perf_counter() - started) * 1000)
                    else:
                        failures += 1
        finally:
            client.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(4)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {
        "signin_ms_p50": _round(percentile(timings, 0.5), 1),
        "signins_s": round(len(timings) / elapsed, 2),
        "signin_failures": failures,
    }


def _py_spy() -> str | None:
    for candidate in (
        os.environ.get("TESSERA_BENCH_PY_SPY", ""),
        shutil.which("py-spy") or "",
        str(Path(sys.executable).parent / "py-spy"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def summarize_profile(path: Path, *, top: int = 15) -> dict:
    """The functions of our code (``tessera/``) that took the most CPU, counting their
    callees ("inclusive"), and the frames that took the most CPU themselves ("self"), as
    "12.3% function (file)" lines, from a py-spy collapsed-stack file."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [f.rsplit(":", 1)[0] + ")" if f.endswith(")") else f for f in stack.split(";")]
        for frame in set(frames):
            if "tessera/" in frame:
                inclusive[frame] = inclusive.get(frame, 0) + samples
        own[frames[-1]] = own.get(frames[-1], 0) + samples

    def lines(counts: dict[str, int]) -> list[str]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return [f"{100 * n / max(total, 1):.1f}% {frame}" for frame, n in ranked]

    return {"samples": total, "tessera_inclusive": lines(inclusive), "self": lines(own)}


def _start_py_spy(server: Server, out_dir: Path, seconds: float) -> list[subprocess.Popen]:
    """py-spy on every granian worker and task worker: collapsed stacks (``.txt``, for
    flamegraph.pl / speedscope) of the CPU they use, written when the sell-out ends."""
    binary = _py_spy()
    if binary is None:
        print("  · py-spy not found (PATH or TESSERA_BENCH_PY_SPY); no profile", flush=True)
        return []
    spies = []
    for pid in server.pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "task_worker" in cmdline:
            name = "task_worker"
        elif "granian" in cmdline and "manage.py" not in cmdline:
            name = "web"
        else:
            continue
        out = out_dir / f"profile-{name}-{pid}.txt"
        spies.append(
            subprocess.Popen(  # noqa: S603 - py-spy on our own child processes
                [
                    binary,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(int(seconds) + 60),
                    "--rate",
                    "100",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--gil",  # only threads holding the GIL: where the CPU goes
                    "-o",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return spies


class Chaos:
    """Kills processes of the servers with SIGKILL at random moments (every 2 to 5 s) while
    the sell-out runs: a web worker, granian itself or a task worker, never ``serve`` (the
    supervisor that starts them again, as systemd would start it)."""

    def __init__(self, servers: list[Server], *, seed: int = 5):
        self.servers = servers
        self.rng = random.Random(seed)
        self.kills: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _victims(self) -> list[tuple[int, str]]:
        found = []
        for server in self.servers:
            for pid, cmdline in server.members().items():
                if "task_worker" in cmdline:
                    found.append((pid, "task_worker"))
                elif "granian" in cmdline:
                    found.append((pid, "web"))
        return found

    def _run(self) -> None:
        while not self.stop.wait(self.rng.uniform(2, 5)):
            victims = self._victims()
            if not victims:
                continue
            pid, kind = self.rng.choice(victims)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.kills.append(kind)

    def __enter__(self) -> Chaos:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def sell_out(
    *,
    ctx: Context,
    sale: Sale,
    fans: list[tuple[int, str]],
    web_workers: int,
    run_dir: Path,
    signin_users: list | None,
) -> dict:
    from contextlib import ExitStack

    args = ctx.args
    buyers = args.buyers or (16 if ctx.quick else 32)
    cap = args.cap or (20.0 if ctx.quick else 300.0)
    nodes = max(1, args.web_nodes)
    stats = Stats()
    result: dict = {
        "web_nodes": nodes,
        "web_workers": web_workers,
        "web_threads": args.web_threads,
        "task_workers": args.task_workers,
        "buyers": buyers,
        "chaos": bool(args.chaos),
        # other work on the machine skews everything: see also cpu/cpu_s/other
        "load_1m_at_start": round(os.getloadavg()[0], 2),
    }
    servers = [
        Server(
            database_url=ctx.database_url,
            log_path=run_dir / f"server-w{web_workers}-n{node}.log",
            web_workers=web_workers,
            web_threads=args.web_threads,
            task_workers=args.task_workers,
            extra_env={
                # reconciliation completes payments whose callback a killed process lost
                "TESSERA_HOUSEKEEPING_SECONDS": "5" if args.chaos else "60",
            },
        )
        for node in range(nodes)
    ]
    with ExitStack() as stack:
        for server in servers:
            stack.enter_context(server)
            ctx.log(
                f"server on {server.base_url} ({web_workers}×{args.web_threads} threads, "
                f"{args.task_workers} task worker(s)); log {server.log_path}"
            )
        for server in servers:
            warm = Client(server.base_url, Stats())
            for _ in range(4 * web_workers):
                warm.request("warm", "GET", f"/api/v1/sessions/{sale.session.pk}/availability")
            warm.close()
        result["bare_django_rps"] = bare_rps(servers[0].base_url, seconds=3 if ctx.quick else 5)
        ctx.log(f"bare Django endpoint: {result['bare_django_rps']:,} req/s")
        if signin_users:
            result |= measure_signin(
                base_url=servers[0].base_url, users=signin_users, stats=Stats()
            )
            ctx.log(
                f"real sign-ins over HTTP: p50 {result['signin_ms_p50']} ms, "
                f"{result['signins_s']}/s"
            )
        sellout = Sellout(
            base_urls=[server.base_url for server in servers],
            sale=sale,
            fans=fans,
            buyers=buyers,
            hold_mode=args.hold_mode,
            stats=stats,
        )
        spies = []
        if args.py_spy:
            for server in servers:
                spies += _start_py_spy(server, run_dir, cap)
        meter = CpuMeter(set().union(*(server.pids() for server in servers)))
        chaos = stack.enter_context(Chaos(servers)) if args.chaos else None
        started = time.perf_counter()
        sellout.run_round()
        last_report = started
        rounds = 1
        failure = None
        while True:
            time.sleep(0.5)
            now = time.perf_counter()
            failure = next((f for f in (s.problem() for s in servers) if f), None)
            if failure and not args.chaos:
                sellout.stop.set()
                sellout.abandon.set()
                break
            if now - last_report >= 5:
                last_report = now
                done = len(sellout.purchases)
                places = sum(p.places for p in sellout.purchases)
                ctx.log(
                    f"{now - started:6.1f} s: {done:,} purchases, {places:,} tickets, "
                    f"{stats.requests / (now - started):,.0f} req/s"
                    + (f", {len(chaos.kills)} processes killed" if chaos else "")
                )
                close_old_connections()
            if now - started > cap:
                sellout.stop.set()
                if not sellout.alive() or now - started > cap + GRACE_S:
                    sellout.abandon.set()
                    break
                continue
            if sellout.alive():
                continue
            close_old_connections()
            free = free_zone_ids(sale.session.pk)
            if not free and args.chaos and held_places(sale.session.pk):
                # checkouts whose answer a killed process lost hold places until their
                # hold runs out (a minute): wait for them to come back
                time.sleep(2)
                continue
            if not free:
                break
            rounds += 1
            ctx.log(f"{now - started:6.1f} s: places left in {len(free)} zone(s); buyers go again")
            sellout.reopen(free)
            sellout.run_round()
        for t in sellout.threads:
            t.join(timeout=PURCHASE_TIMEOUT_S)
        ended = time.perf_counter()
        if chaos is not None:
            chaos.stop.set()
            result["chaos_kills"] = {
                kind: chaos.kills.count(kind) for kind in sorted(set(chaos.kills))
            }
            result["reconciliation_wait_s"] = wait_for_reconciliation(sale, ctx)
        cpu = meter.read([pid for server in servers for pid in server.pids()])
        for spy in spies:
            if spy.poll() is None:
                spy.send_signal(signal.SIGINT)
        for spy in spies:
            try:
                spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()
        close_old_connections()
        figures = verify(sale)
    if failure and not args.chaos:
        raise RuntimeError(f"the sell-out stopped: {failure}")
    profiles = {}
    for spy in spies:
        out = Path(spy.args[spy.args.index("-o") + 1])
        if out.exists() and out.stat().st_size:
            profiles[out.name] = summarize_profile(out)
            ctx.log(f"profile {out}: flamegraph.pl or speedscope.app read it")
    purchases = sellout.purchases
    last = max((p.finished for p in purchases), default=ended)
    sold_out = figures["sold"] == figures["capacity"]
    elapsed = (last if sold_out else ended) - started
    client_ms = [(p.finished - p.started) * 1000 for p in purchases]
    server_ms = figures.pop("latencies_ms")
    steps = sorted({k for p in purchases for k in p.steps_ms})
    merchant_requests = stats.requests - len(stats.step_ms.get("cashier", []))
    callbacks = figures["callbacks_received"]
    tickets = max(1, figures["tickets"])
    result |= {
        "sellout_s": round(elapsed, 1) if sold_out else None,
        "elapsed_s": round(elapsed, 1),
        "sold_out": sold_out,
        "http_tickets_s": round(figures["tickets"] / elapsed, 1),
        "purchases": len(purchases),
        "purchases_s": round(len(purchases) / elapsed, 1),
        # the buyer's checkout and status reads plus the provider's callbacks, per purchase
        # (the provider's own cashier page is not ours and not counted)
        "requests_per_purchase": round((merchant_requests + callbacks) / max(1, len(purchases)), 2),
        "p50_ms": _round(percentile(server_ms, 0.5), 1),
        "p99_ms": _round(percentile(server_ms, 0.99), 1),
        "client_p50_ms": _round(percentile(client_ms, 0.5), 1),
        "client_p99_ms": _round(percentile(client_ms, 0.99), 1),
        "requests": stats.requests,
        "requests_s": round(stats.requests / (ended - started), 1),
        "rounds": rounds,
        "step_p50_ms": {
            k: _round(percentile([p.steps_ms[k] for p in purchases], 0.5), 1) for k in steps
        },
        "requests_by_step": {k: len(v) for k, v in sorted(stats.step_ms.items())},
        "request_p50_ms": {
            k: _round(percentile(v, 0.5), 1) for k, v in sorted(stats.step_ms.items())
        },
        "errors": dict(sorted(stats.errors.items())),
        "cpu": cpu,
        "cpu_ms_per_ticket": {
            kind: round(1000 * seconds / tickets, 2) for kind, seconds in cpu["cpu_s"].items()
        },
        **figures,
    }
    if profiles:
        result["profile"] = profiles
    return result


def bare_rps(base_url: str, *, seconds: float, clients: int = 32) -> float:
    """A bare Django view through the whole middleware stack (``/queue/-/ping``), requests
    per second from ``wrk`` when it is installed, else from this process's clients."""
    wrk = shutil.which("wrk")
    if wrk:
        finished = subprocess.run(  # noqa: S603 - wrk on our own server
            [wrk, "-t2", f"-c{clients}", f"-d{max(1, int(seconds))}s", f"{base_url}/queue/-/ping"],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
        for line in finished.stdout.splitlines():
            if line.strip().startswith("Requests/sec:"):
                return round(float(line.split()[-1]), 1)
    stats = Stats()
    deadline = time.perf_counter() + seconds

    def work() -> None:
        client = Client(base_url, stats)
        while time.perf_counter() < deadline:
            client.request("ping", "GET", "/queue/-/ping")
        client.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return round(stats.requests / seconds, 1)


def wait_for_reconciliation(sale: Sale, ctx: Context, *, limit_s: float = 180.0) -> float:
    """After chaos: seconds until every trade paid at the gateway has its payment applied
    (reconciliation runs every few seconds in the servers)."""
    from tessera.payments.models import Payment
    from tessera.sandbox.models import SandboxTrade, SandboxTradeStatus

    started = time.perf_counter()
    while True:
        close_old_connections()
        paid = set(
            SandboxTrade.objects.filter(status=SandboxTradeStatus.PAID).values_list(
                "payment_id", flat=True
            )
        )
        open_ = Payment.objects.filter(
            pk__in=paid, status="created", order__session=sale.session
        ).count()
        waited = time.perf_counter() - started
        if open_ == 0 or waited > limit_s:
            ctx.log(f"reconciliation: {open_} paid trade(s) still open after {waited:.0f} s")
            return round(waited, 1)
        time.sleep(2)


# -- the group --------------------------------------------------------------------------------


@group("purchase", order=20, add_arguments=add_arguments)
def run(ctx: Context) -> dict:
    args = ctx.args
    worker_counts = [int(w) for w in str(args.web_workers).split(",") if w.strip()]
    seconds = args.direct_seconds or (1.5 if ctx.quick else 5.0)
    run_dir = ROOT / "var" / "bench" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    now = clock_now()
    started = time.perf_counter()
    _venue, layout, spec = make_stadium(places=ctx.seats, label="purchase")
    ctx.log(
        f"stadium: {spec.seat_count:,} seats + {spec.standing_capacity:,} standing "
        f"in {time.perf_counter() - started:.1f} s"
    )
    result: dict = {}
    fans_users = make_buyers(count=ctx.seats, prefix="fan")
    fans = [(u.pk, key) for u, key in zip(fans_users, _keys(fans_users, now), strict=True)]
    signin_users = make_buyers(count=SIGNIN_SAMPLE // (2 if ctx.quick else 1), prefix="signin")
    ctx.log(
        f"{len(fans):,} fans signed in (sessions written) in "
        f"{time.perf_counter() - started:.1f} s since start"
    )

    if not args.skip_direct:
        scratch = open_sale(layout=layout, label="scratch", now=now)
        result |= measure_queries(sale=scratch, session_keys=[fans[-2][1], fans[-1][1]])
        ctx.log(f"one purchase in-process: {result['purchase_sql']}")
        ctx.log(f"scratch session: {scratch.capacity:,} units; ceiling for {seconds:.0f} s")
        result |= measure_ceiling(
            ctx=ctx, sale=scratch, seconds=seconds, threads=args.direct_threads
        )
        ctx.log(f"ceiling {result['ceiling_tx_s']:,} tx/s; holds for {seconds:.0f} s")
        result |= measure_holds(
            sale=scratch, users=fans_users, seconds=seconds, threads=args.direct_threads
        )
        ctx.log(f"holds {result['holds_s']:,}/s")

    runs = []
    for index, workers in enumerate(worker_counts):
        t0 = time.perf_counter()
        sale = open_sale(
            layout=layout,
            label=f"http-w{workers}-{index}",
            now=clock_now(),
            # under chaos a checkout whose answer is lost leaves its places held: a short
            # hold brings them back within the run
            hold_minutes=1 if args.chaos else 15,
        )
        ctx.log(
            f"sale session {sale.session.pk}: {sale.capacity:,} units "
            f"({sale.seated:,} seats, {sale.standing:,} standing) in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        runs.append(
            sell_out(
                ctx=ctx,
                sale=sale,
                fans=fans,
                web_workers=workers,
                run_dir=run_dir,
                signin_users=signin_users if index == 0 else None,
            )
        )
        r = runs[-1]
        ctx.log(
            f"{workers} web worker(s): {r['sold']:,}/{r['capacity']:,} sold in "
            f"{r['elapsed_s']} s, {r['http_tickets_s']} tickets/s, oversold {r['oversold']}"
        )
    best = max(runs, key=lambda r: (r["sold_out"], r["http_tickets_s"]))
    result |= best
    if len(runs) > 1:
        result["runs"] = {
            f"{i + 1}:web_workers_{r['web_workers']}": {
                k: r[k]
                for k in (
                    "sellout_s",
                    "elapsed_s",
                    "http_tickets_s",
                    "p50_ms",
                    "p99_ms",
                    "sold",
                    "oversold",
                    "requests_s",
                    "requests_per_purchase",
                    "cpu_ms_per_ticket",
                    "load_1m_at_start",
                    "errors",
                )
            }
            for i, r in enumerate(runs)
        }
    ordered = [
        "ceiling_tx_s",
        "bare_django_rps",
        "holds_s",
        "http_tickets_s",
        "sellout_s",
        "oversold",
        "money_errors",
        "requests_per_purchase",
        "sql_per_purchase",
        "cpu_ms_per_ticket",
        "p50_ms",
        "p99_ms",
        "sold",
        "capacity",
    ]
    return {k: result[k] for k in ordered if k in result} | {
        k: v for k, v in result.items() if k not in ordered
    }


def _keys(users, now) -> list[str]:
    keys = sign_in_sessions(users=users, now=now)
    return [keys[u.pk] for u in users]
