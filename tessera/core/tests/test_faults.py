"""Faults of real processes during a burst of purchases: ``manage.py serve`` (granian web
processes + task workers under the supervisor) on a free port, against a database of its
own (PostgreSQL when the suite runs on PostgreSQL, else an SQLite file), fans buying over
HTTP through the sandbox cashier, and a poller asking the web server every 50 ms.

- a task worker killed with SIGKILL while it holds a task: the web answers throughout, the
  supervisor starts a new worker, the task goes back to the queue once the dead worker's
  heartbeat is older than the lease and runs to the end; no task stays RUNNING;
- a web process killed with SIGKILL: granian replaces it and serving resumes;
- (PostgreSQL) every connection of the server to the database terminated, again and
  again, while callbacks arrive: refused callbacks are delivered again by the gateway or
  completed by the reconciliation task;

and after each: every order paid at the gateway has its tickets, none stays pending.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from bench.http_buyer import Client, Disconnected, Stats
from bench.purchase import csrf_secret
from bench.server import Server

ROOT = Path(__file__).resolve().parents[3]
SECRET_KEY = "fault-test-secret-key-" + "z" * 40
METRICS_TOKEN = "fault-test-metrics-token"
LEASE_SECONDS = 3
FANS = 36
BUYERS = 6
SETTLE_SECONDS = 90  # lost callbacks wait for the reconciliation (30 s after payment)

SETUP = r"""
import json, sys
import django
django.setup()
from django.utils import timezone
from bench.fixtures import sign_in_sessions
from tessera.inventory.tests.factories import make_buyer, make_sale
now = timezone.now()
sale = make_sale(sections=1, rows=4, seats_per_row=10, standing_capacity=400, now=now)
fans = [make_buyer() for _ in range(int(sys.argv[1]))]
print(json.dumps({
    "session": sale.session.pk,
    "zones": [sale.zones["A"].pk, sale.zones["GA"].pk],
    "cookies": list(sign_in_sessions(users=fans, now=now).values()),
}))
"""

ENQUEUE = r"""
import sys
import django
django.setup()
from tessera.core.tests.lingering import linger
print(linger.enqueue(sys.argv[1], float(sys.argv[2])).id)
"""

VERIFY = r"""
import json, sys
import django
django.setup()
from django.db.models import Count
from django_tasks_db.models import DBTaskResult
from tessera.core.models import AuditEntry, WorkerHeartbeat
from tessera.orders.models import Order
from tessera.payments.models import Payment
from tessera.sandbox.models import SandboxTrade
from tessera.tickets.models import Ticket
paid = SandboxTrade.objects.filter(status="paid")
paid_at_gateway = list(paid.values_list("payment_id", flat=True))
orders = {}
for payment in Payment.objects.filter(pk__in=paid_at_gateway).select_related("order"):
    order = payment.order
    orders[order.number] = {
        "status": order.status,
        "lines": order.lines.count(),
        "tickets": Ticket.objects.filter(order_line__order=order).count(),
        "payment": payment.status,
    }
by_status = DBTaskResult.objects.values_list("status").annotate(n=Count("id"))
tasks = dict(by_status.values_list("status", "n"))
marker = sys.argv[1] if len(sys.argv) > 1 else ""
print(json.dumps({
    "orders": orders,
    "tasks": tasks,
    "linger_runs": AuditEntry.objects.filter(action="test.linger", object_id=marker).count(),
    "linger": list(
        DBTaskResult.objects.filter(task_path__endswith="lingering.linger")
        .values_list("status", "worker_ids")
    ),
    "heartbeats": list(WorkerHeartbeat.objects.values_list("worker_id", "pid")),
}))
"""


def _environment(database_url: str, var_dir: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "tessera.settings",
            "TESSERA_VAR_DIR": str(var_dir),
            "TESSERA_DATABASE_URL": database_url,
            "TESSERA_SECRET_KEY": SECRET_KEY,
            "TESSERA_LOG_LEVEL": "WARNING",
            "TESSERA_TASK_LEASE_SECONDS": str(LEASE_SECONDS),
            "TESSERA_WORKER_HEARTBEAT_SECONDS": "0.5",
            "TESSERA_HOUSEKEEPING_SECONDS": "1",
            "TESSERA_METRICS_TOKEN": METRICS_TOKEN,
            "PYTHONPATH": str(ROOT),
        }
    )
    return environment


class Database:
    """A database for one test, migrated, and the scripts that run against it."""

    def __init__(self, url: str, var_dir: Path):
        self.url, self.var_dir = url, var_dir
        self.environment = _environment(url, var_dir)

    def run(self, script: str, *args: str) -> str:
        result = subprocess.run(  # noqa: S603 - our own interpreter and fixed scripts
            [sys.executable, "-c", script, *args],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout.strip().splitlines()[-1]

    def verify(self, marker: str = "") -> dict:
        return json.loads(self.run(VERIFY, marker))

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of one statement (``%s`` placeholders), on a connection of its own."""
        if self.url.startswith("sqlite:"):
            import sqlite3

            with contextlib.closing(sqlite3.connect(self.url.removeprefix("sqlite:///"))) as db:
                return db.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            return db.execute(sql, params).fetchall()

    def lingering(self) -> tuple[str, list[str], int | None] | None:
        """(status, worker ids, pid of the last claimer's heartbeat) of the lingering task."""
        rows = self.query(
            "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult "
            "WHERE task_path LIKE %s",
            ("%lingering.linger",),
        )
        if not rows:
            return None
        status, worker_ids = rows[0]
        worker_ids = worker_ids if isinstance(worker_ids, list) else json.loads(worker_ids)
        pids = self.query(
            "SELECT pid FROM core_workerheartbeat WHERE worker_id = %s",
            (worker_ids[-1] if worker_ids else "",),
        )
        return status, worker_ids, pids[0][0] if pids else None


def _pg_admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, dbname="postgres", autocommit=True) as admin:
        admin.execute(statement)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A migrated database to copy for each test: a PostgreSQL template database named after
    this worker's test database, or an SQLite file."""
    var_dir = tmp_path_factory.mktemp("faults-var")
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        host = settings_dict["HOST"] or "127.0.0.1"
        server = f"postgres://{settings_dict['USER']}@{host}:{settings_dict['PORT'] or 5432}"
        name = f"{settings_dict['NAME']}_faults"
        _pg_admin(f"{server}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg_admin(f"{server}/postgres", f'CREATE DATABASE "{name}"')
        url = f"{server}/{name}"
    else:
        url = f"sqlite:///{var_dir / 'template.sqlite3'}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=_environment(url, var_dir),
        check=True,
        timeout=180,
    )
    yield url, var_dir
    if connection.vendor == "postgresql":
        _pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database(template, tmp_path):
    template_url, template_var = template
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    if template_url.startswith("postgres"):
        server, _, template_name = template_url.rpartition("/")
        name = f"{template_name}_{uuid.uuid4().hex[:8]}"
        _pg_admin(template_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
        yield Database(f"{server}/{name}", var_dir)
        _pg_admin(template_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        shutil.copy(template_var / "template.sqlite3", var_dir / "faults.sqlite3")
        yield Database(f"sqlite:///{var_dir / 'faults.sqlite3'}", var_dir)


@contextlib.contextmanager
def served(database: Database, tmp_path: Path, *, web_workers: int = 1):
    server = Server(
        database_url=database.url,
        log_path=tmp_path / "serve.log",
        web_workers=web_workers,
        web_threads=4,
        task_workers=2,
        extra_env={k: v for k, v in database.environment.items() if k.startswith("TESSERA_")},
    )
    server.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with server:
        yield server


def get(server: Server, path: str, headers: dict | None = None) -> tuple[int, bytes] | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        answer = response.status, response.read()
        conn.close()
        return answer
    except OSError:
        return None


class Poller(threading.Thread):
    """Asks the web server every 50 ms (/health/live); counts the answers and failures."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server, self.stop = server, threading.Event()
        self.answered, self.failures = 0, []

    def run(self) -> None:
        while not self.stop.is_set():
            answer = get(self.server, "/health/live")
            if answer is not None and answer[0] == 200:
                self.answered += 1
            else:
                self.failures.append((time.monotonic(), answer))
            time.sleep(0.05)


class Burst:
    """``BUYERS`` fans at a time buying over HTTP: checkout, "pay" at the sandbox cashier,
    one status read that waits for the outcome."""

    def __init__(self, server: Server, sale: dict):
        self.server, self.sale = server, sale
        self.cookies = iter(sale["cookies"])
        self.lock = threading.Lock()
        self.stats = Stats()
        self.paid_by_fan = 0
        self.threads = [
            threading.Thread(target=self._buyer, args=(i,), daemon=True) for i in range(BUYERS)
        ]

    def start(self) -> Burst:
        for thread in self.threads:
            thread.start()
        return self

    def join(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "the buyers did not finish"

    def _buyer(self, index: int) -> None:
        rng = random.Random(index)
        client = Client(f"http://127.0.0.1:{self.server.port}", self.stats, timeout=30)
        try:
            while True:
                with self.lock:
                    cookie = next(self.cookies, None)
                if cookie is None:
                    return
                client.reset({"sessionid": cookie, "csrftoken": csrf_secret(cookie)})
                try:
                    self._purchase(client, rng)
                except (Disconnected, KeyError, TypeError, ValueError):
                    time.sleep(0.1)  # counted by the client; the next fan goes on
        finally:
            client.close()

    def _purchase(self, client: Client, rng: random.Random) -> None:
        body = {"zone": rng.choice(self.sale["zones"]), "quantity": rng.randint(1, 3)}
        answer = client.request(
            "checkout",
            "POST",
            f"/api/v1/sessions/{self.sale['session']}/checkout",
            json_body=body | {"provider": "sandbox"},
        )
        if answer.status != 201:
            self.stats.error(f"checkout:{answer.error_code}")
            return
        bought = answer.json()
        cashier = urlsplit(bought["payment"]["cashier_url"])
        answer = client.request(
            "cashier",
            "POST",
            f"{cashier.path}?{cashier.query}",
            form={"choice": "pay", "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        )
        if answer.status in (302, 303):
            with self.lock:
                self.paid_by_fan += 1
        client.request("status", "GET", f"{bought['status_url']}&wait=5")


def settled(database: Database, marker: str = "", *, timeout: float = SETTLE_SECONDS) -> dict:
    """The database once every order paid at the gateway is fulfilled and no task runs
    (or what it was when ``timeout`` ran out)."""
    deadline = time.monotonic() + timeout
    while True:
        state = database.verify(marker)
        done = all(o["status"] == "fulfilled" for o in state["orders"].values())
        if (done and not state["tasks"].get("RUNNING")) or time.monotonic() > deadline:
            return state
        time.sleep(1)


def assert_every_paid_order_has_its_tickets(state: dict, burst: Burst) -> None:
    orders = state["orders"]
    assert len(orders) >= burst.paid_by_fan > 0
    wrong = {n: o for n, o in orders.items() if o["status"] != "fulfilled"}
    assert wrong == {}
    assert all(o["tickets"] == o["lines"] > 0 for o in orders.values())
    assert all(o["payment"] == "succeeded" for o in orders.values())
    assert state["tasks"].get("RUNNING", 0) == 0


def scrape(server: Server) -> dict:
    answer = get(server, "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer is not None and answer[0] == 200
    found: dict = {}
    for family in text_string_to_metric_families(answer[1].decode()):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            found.setdefault(sample.name, {})[key] = sample.value
    return found


def task_workers(server: Server) -> dict[int, str]:
    return {pid: c for pid, c in server.members().items() if "task_worker" in c}


def wait_for(what: str, check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


@pytest.mark.django_db
def test_a_worker_killed_mid_burst_is_replaced_and_its_task_runs_again(database, tmp_path):
    # given a server, a sale with fans, and a poller asking the web server all along
    sale = json.loads(database.run(SETUP, str(FANS)))
    with served(database, tmp_path) as server:
        poller = Poller(server)
        poller.start()
        burst = Burst(server, sale).start()

        # when, mid-burst, a task worker is killed while it runs a task of 6 s
        marker = uuid.uuid4().hex
        database.run(ENQUEUE, marker, "6")

        def holder():
            found = database.lingering()
            return found[2] if found and found[0] == "RUNNING" else None

        victim = wait_for("a worker runs the lingering task", holder)
        assert victim in task_workers(server)
        os.kill(victim, signal.SIGKILL)
        status, claimed_by, _ = database.lingering()
        assert (status, len(claimed_by)) == ("RUNNING", 1)  # killed before it finished
        burst.join()

        # then a new worker took the dead one's place
        wait_for(
            "a new task worker",
            lambda: len(task_workers(server)) == 2 and victim not in task_workers(server),
        )
        # and the task went back to the queue after the lease and ran to the end
        state = settled(database, marker)
        assert state["linger_runs"] == 1
        assert [status for status, _ in state["linger"]] == ["SUCCESSFUL"]
        assert len(state["linger"][0][1]) == 2  # claimed by the dead worker, then another
        # and the web answered throughout, every paid order has its tickets
        poller.stop.set()
        poller.join()
        assert poller.failures == [] and poller.answered > 20
        assert_every_paid_order_has_its_tickets(state, burst)
        assert "was killed by SIGKILL" in server.log_path.read_text()
        # and /metrics adds up the processes: the tasks the workers ran, the requests
        # (a periodic task may be running at a scrape: the gauge comes back to 0, the dead
        # worker's task is not counted as running for ever)
        metrics = wait_for(
            "no task running",
            lambda: (m := scrape(server))["tessera_tasks_running"][()] == 0 and m,
            timeout=30,
        )
        ran = metrics["tessera_tasks_total"]
        linger_key = (("outcome", "successful"), ("task", "tessera.core.tests.lingering.linger"))
        assert ran[linger_key] == 1
        checkout = metrics["tessera_http_requests_total"][
            (
                ("method", "POST"),
                ("route", "/api/v1/sessions/<session_id>/checkout"),
                ("status", "201"),
            )
        ]
        assert checkout >= len(state["orders"])


@pytest.mark.django_db
def test_a_killed_web_process_is_replaced_and_no_paid_order_is_lost(database, tmp_path):
    # given a server with two web processes, and fans buying
    sale = json.loads(database.run(SETUP, str(FANS)))
    with served(database, tmp_path, web_workers=2) as server:
        granian = next(p for p, c in server.members().items() if "granian" in c and "-m" in c)
        web = sorted(
            p for p, c in server.members().items() if os.getpid() and _parent(p) == granian
        )
        assert len(web) == 2
        burst = Burst(server, sale).start()
        wait_for("purchases under way", lambda: burst.paid_by_fan >= 3)

        # when one web process is killed mid-burst
        os.kill(web[0], signal.SIGKILL)

        # then granian starts another; the server answers again, and the buyers finish
        def replaced():
            now = sorted(p for p in server.members() if _parent(p) == granian)
            return len(now) == 2 and web[0] not in now

        wait_for("a new web process", replaced)
        wait_for("the server answers", lambda: (get(server, "/health/live") or (0,))[0] == 200)
        burst.join()
        # and every order paid at the gateway gets its tickets (a callback the killed
        # process did not deliver is completed by the reconciliation task)
        state = settled(database)
        assert_every_paid_order_has_its_tickets(state, burst)


def _parent(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rindex(")") + 2 :].split()[1])


@pytest.mark.django_db
def test_database_connections_dropped_during_callbacks_lose_no_paid_order(database, tmp_path):
    if connection.vendor != "postgresql":
        # An SQLite file has no server connection to drop; the server's own connection
        # handling is tested on PostgreSQL (``TESSERA_DATABASE_URL=postgres://…``).
        assert database.url.startswith("sqlite:")
        return
    import psycopg

    name = database.url.rpartition("/")[2]
    sale = json.loads(database.run(SETUP, str(FANS)))
    with served(database, tmp_path) as server:
        poller = Poller(server)
        poller.start()
        burst = Burst(server, sale).start()
        wait_for("purchases under way", lambda: burst.paid_by_fan >= 2)

        # when every connection of the server to its database is terminated, every
        # 150 ms for 3 s, while fans pay and callbacks arrive
        terminated = 0
        with psycopg.connect(database.url, autocommit=True) as admin:
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                terminated += len(
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()",
                        [name],
                    ).fetchall()
                )
                time.sleep(0.15)
        burst.join()

        # then the web answered throughout (its liveness needs no database), and every
        # order paid at the gateway has its tickets: refused callbacks were delivered again
        # or the reconciliation task completed them; no task is left RUNNING
        assert terminated > 10
        state = settled(database)
        poller.stop.set()
        poller.join()
        assert poller.failures == []
        assert_every_paid_order_has_its_tickets(state, burst)
        ready = get(server, "/health/ready") or (0, b"")
        assert ready[0] == 200, ready[1]


RQ_STATE = r"""
import json, sys
import django
django.setup()
import django_rq
from rq.executions import Execution
from tessera.core.models import AuditEntry, WorkerHeartbeat
from tessera.core.taskbackends import Job
queue = django_rq.get_queue("default", job_class=Job)
registry = queue.started_job_registry
claims = []
for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
    execution = Execution(execution_id, job_id, connection=queue.connection)
    try:
        execution.refresh()
    except ValueError:  # finished between the two reads
        continue
    beat = WorkerHeartbeat.objects.filter(pk=execution.worker_name).first()
    claims.append([job_id, execution.worker_name, beat.pid if beat else None])
job = queue.fetch_job(sys.argv[1])
print(json.dumps({
    "claims": claims,
    "status": job.get_status().value if job else None,
    "claimed": job.meta.get("tessera_claims", 1) if job else None,
    "runs": AuditEntry.objects.filter(action="test.linger", object_id=sys.argv[2]).count(),
}))
"""


@pytest.mark.django_db
def test_on_rq_a_worker_killed_while_it_runs_a_task_is_replaced_and_the_task_runs_again(
    database, tmp_path, redis_url
):
    import redis

    client = redis.Redis.from_url(redis_url)

    def forget_default_queue():  # (other tests' queues in this database have other names)
        for key in client.scan_iter(match="rq:*:default*"):
            client.delete(key)

    forget_default_queue()
    database.environment |= {
        "TESSERA_REDIS_URL": redis_url,
        "TESSERA_TASK_BACKEND": "rq",
    }
    sale = json.loads(database.run(SETUP, str(FANS // 2)))
    try:
        with served(database, tmp_path) as server:
            poller = Poller(server)
            poller.start()
            burst = Burst(server, sale).start()

            # when an RQ task worker is killed while it runs a task of 20 s (long enough that
            # finding its worker, a Python process per look on a loaded machine, ends first)
            marker = uuid.uuid4().hex
            job_id = database.run(ENQUEUE, marker, "20")

            def holder():
                state = json.loads(database.run(RQ_STATE, job_id, marker))
                pids = [pid for claimed, _, pid in state["claims"] if claimed == job_id]
                return pids[0] if pids and pids[0] else None

            victim = wait_for("an RQ worker runs the lingering task", holder)
            assert victim in task_workers(server)
            os.kill(victim, signal.SIGKILL)
            killed = json.loads(database.run(RQ_STATE, job_id, marker))
            # killed before it finished (by now it may be back in the queue already)
            assert killed["status"] in ("started", "queued") and killed["runs"] == 0, killed
            burst.join()

            # then a new worker replaces it, the job goes back to the queue after the lease
            # and runs to the end, once
            wait_for(
                "a new task worker",
                lambda: len(task_workers(server)) == 2 and victim not in task_workers(server),
            )

            def finished():
                state = json.loads(database.run(RQ_STATE, job_id, marker))
                # finished, and its worker has let go of it (RQ drops the claim just after)
                return state if state["status"] == "finished" and not state["claims"] else None

            state = wait_for("the job finished", finished, timeout=120)
            assert (state["runs"], state["claimed"], state["claims"]) == (1, 2, [])
            # and the web answered throughout, every paid order has its tickets
            poller.stop.set()
            poller.join()
            assert poller.failures == []
            assert_every_paid_order_has_its_tickets(settled(database), burst)
    finally:
        forget_default_queue()
