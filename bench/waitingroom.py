"""Group ``waitingroom``: the queue's cheap status check against a bare Django endpoint, joins
over HTTP, and the cost of a queue of a million entries on each backend.

* ``status_rps`` / ``bare_rps`` / ``status_ratio``: ``GET /queue/-/status?t=<token>`` (a
  signed token checked against the watermark this process holds for at most a second,
  answered by ``tessera/waitingroom/wsgi.py`` ahead of Django's middleware) and
  ``GET /queue/-/ping`` (a bare view) per second, served by ``manage.py serve`` (the same
  ``bench.server.Server`` as the purchase group) and asked by ``--wr-clients`` keep-alive
  client threads; the two alternate in ``--wr-rounds`` rounds of ``--wr-seconds`` each.
* ``join_rps``: ``POST /api/v1/waitingrooms/{id}/entries`` per second, one distinct signed-in
  fan per join (session cookie written beforehand, as in the purchase group).
* ``million_entries_join_s`` / ``million_entries_mb``: ``--wr-entries`` (1,000,000; --quick
  100,000) accounts put into a pre-queue through ``QueueBackend.bulk_join`` (database:
  ``bulk_create`` in batches of 5,000; Redis: the join script, pipelined 10,000 at a time),
  then the pre-queue ordered at opening (``million_entries_order_s``). Size: PostgreSQL's
  ``pg_total_relation_size`` of the entry table; Redis ``MEMORY USAGE`` of the room's keys.
  Redis runs on ``--wr-redis`` (a separate db number and key prefix, deleted afterwards).
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django.test import override_settings

from bench import Context, group
from bench.fixtures import make_buyers, make_stadium, open_sale, sign_in_sessions
from bench.server import Server
from tessera.core.clock import now as clock_now
from tessera.waitingroom import backends, services
from tessera.waitingroom.models import WaitingRoom
from tessera.waitingroom.signing import QueueToken

ROOT = Path(__file__).resolve().parent.parent


def add_arguments(parser) -> None:
    parser.add_argument("--wr-clients", type=int, default=8, help="client threads (8)")
    parser.add_argument("--wr-seconds", type=float, default=None, help="per round (5; quick 2)")
    parser.add_argument("--wr-rounds", type=int, default=2, help="alternating rounds (2)")
    parser.add_argument("--wr-joins", type=int, default=None, help="HTTP joins (2000; quick 400)")
    parser.add_argument(
        "--wr-entries", type=int, default=None, help="bulk entries (1,000,000; quick 100,000)"
    )
    parser.add_argument("--wr-redis", default="redis://127.0.0.1:6379/9", help="Redis for bulk")


def _hammer(base_url: str, path: str, *, clients: int, seconds: float) -> tuple[float, int]:
    """Requests per second of GET ``path`` from ``clients`` keep-alive threads, and errors."""
    host, port = base_url.removeprefix("http://").split(":")
    counts = [0] * clients
    errors = [0] * clients
    stop_at = time.perf_counter() + seconds
    start = threading.Barrier(clients + 1)

    def run(i: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        start.wait()
        while time.perf_counter() < stop_at:
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    counts[i] += 1
                else:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - began), sum(errors)


def _joins(base_url: str, room_id: int, keys: list[str], clients: int) -> tuple[float, int, int]:
    host, port = base_url.removeprefix("http://").split(":")
    lock = threading.Lock()
    todo = list(keys)
    done = [0]
    errors = [0]

    def run() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.request("GET", "/accounts/login/")
        response = connection.getresponse()
        response.read()
        csrf = ""
        for value in response.headers.get_all("Set-Cookie") or []:
            if value.startswith("csrftoken="):
                csrf = value.split(";", 1)[0].split("=", 1)[1]
        while True:
            with lock:
                if not todo:
                    break
                key = todo.pop()
            connection.request(
                "POST",
                f"/api/v1/waitingrooms/{room_id}/entries",
                headers={
                    "Cookie": f"sessionid={key}; csrftoken={csrf}",
                    "X-CSRFToken": csrf,
                    "Referer": base_url + "/",
                },
            )
            response = connection.getresponse()
            response.read()
            with lock:
                if response.status == 201:
                    done[0] += 1
                else:
                    errors[0] += 1
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.perf_counter() - began), done[0], errors[0]


def _million(ctx: Context, backend, *, entries: int, label: str) -> dict:
    now = clock_now()
    room = WaitingRoom.objects.create(
        organization_id=_sale_org(),
        name=f"bench bulk {label}",
        prequeue_opens_at=now - timedelta(hours=1),
        opens_at=now + timedelta(hours=1),
    )
    user_ids = list(range(1, entries + 1))
    began = time.perf_counter()
    backend.bulk_join(room.pk, user_ids, now=now)
    join_s = time.perf_counter() - began
    began = time.perf_counter()
    last = backend.order_prequeue(room.pk, now=now)
    order_s = time.perf_counter() - began
    size = backend.size_bytes(room.pk)
    counters = backend.counters(room.pk, with_entries=True)
    ctx.log(
        f"{label}: {entries:,} entries joined in {join_s:.1f} s, ordered in {order_s:.1f} s, "
        f"{size / 2**20:.1f} MB (last position {last:,}, {counters.entries:,} entries)"
    )
    backend.forget(room.pk)
    room.delete()
    return {"join_s": round(join_s, 1), "order_s": round(order_s, 1), "mb": round(size / 2**20, 1)}


_ORG: list[int] = []


def _sale_org() -> int:
    return _ORG[0]


@group("waitingroom", order=40, add_arguments=add_arguments)
def run(ctx: Context) -> dict:
    args = ctx.args
    seconds = args.wr_seconds or (2.0 if ctx.quick else 5.0)
    joins = args.wr_joins or (400 if ctx.quick else 2000)
    entries = args.wr_entries or (100_000 if ctx.quick else 1_000_000)
    run_dir = ROOT / "var" / "bench" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    now = clock_now()
    _venue, layout, _spec = make_stadium(places=2000, label="waitingroom")
    sale = open_sale(layout=layout, label="waitingroom", now=now)
    _ORG[:] = [sale.session.event.organization_id]
    room = services.create_room(
        organization=sale.session.event.organization,
        name="bench queue",
        sessions=[sale.session],
        prequeue_opens_at=now - timedelta(hours=1),
        opens_at=now - timedelta(minutes=1),
        rate_per_minute=1,
        max_active_shoppers=10,
        now=now,
    )
    fans = make_buyers(count=joins, prefix="wrfan")
    keys = sign_in_sessions(users=fans, now=now)
    ctx.log(f"room {room.pk}, {len(fans):,} fans signed in")

    result: dict = {}
    with Server(database_url=ctx.database_url, log_path=run_dir / "waitingroom-server.log") as srv:
        join_rps, joined, join_errors = _joins(
            srv.base_url, room.pk, [keys[f.pk] for f in fans], args.wr_clients
        )
        ctx.log(f"joins: {joined:,} at {join_rps:,.0f}/s ({join_errors} errors)")
        # a fan far down the line: the status check says "waiting", with place and wait
        entry = backends.get_backend().entry_for(room.pk, fans[-1].pk)
        token = QueueToken(room.pk, entry.entry_id, entry.position, fans[-1].pk).sign()
        status_path = f"/queue/-/status?t={token}"
        _hammer(srv.base_url, status_path, clients=args.wr_clients, seconds=1.0)  # warm
        bare, status, errors = [], [], 0
        for _round in range(args.wr_rounds):
            rps, err = _hammer(
                srv.base_url, "/queue/-/ping", clients=args.wr_clients, seconds=seconds
            )
            bare.append(rps)
            errors += err
            rps, err = _hammer(srv.base_url, status_path, clients=args.wr_clients, seconds=seconds)
            status.append(rps)
            errors += err
        ctx.log(f"rounds: bare {[round(r) for r in bare]}, status {[round(r) for r in status]}")
        result["status_rps"] = round(sum(status) / len(status))
        result["bare_rps"] = round(sum(bare) / len(bare))
        result["status_ratio"] = round(result["status_rps"] / result["bare_rps"], 3)
        result["join_rps"] = round(join_rps, 1)
        result["http_errors"] = errors + join_errors
        ctx.log(
            f"status {result['status_rps']:,}/s vs bare {result['bare_rps']:,}/s: "
            f"ratio {result['status_ratio']}"
        )

    database = _million(ctx, backends.DatabaseBackend(), entries=entries, label="database")
    prefix = f"tessera-bench:{uuid.uuid4().hex[:8]}"
    with override_settings(REDIS_URL=args.wr_redis, WAITINGROOM_REDIS_PREFIX=prefix):
        redis_backend = backends.get_backend()
        redis_figures = _million(ctx, redis_backend, entries=entries, label="redis")
        leftovers = list(redis_backend.client.scan_iter(match=f"{prefix}:*"))
        if leftovers:
            redis_backend.client.delete(*leftovers)
    result["million_entries"] = entries
    result["million_entries_join_s"] = {
        "database": database["join_s"],
        "redis": redis_figures["join_s"],
    }
    result["million_entries_order_s"] = {
        "database": database["order_s"],
        "redis": redis_figures["order_s"],
    }
    result["million_entries_mb"] = {"database": database["mb"], "redis": redis_figures["mb"]}
    return result
