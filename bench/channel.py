"""Group ``channel``: a distributor's system selling a session through the channel order API.

``--channel-clients`` (default 50) keep-alive clients in a closed loop, each request a paid
order of ``--channel-quantity`` (2) places of one of the session's zones
(``POST /api/v1/channel/orders`` with the channel's API key and a fresh Idempotency-Key),
until every place is sold or ``--cap`` seconds have passed. The load comes from ``wrk``
(C, a Lua script for the requests: the load generator's own CPU is small and measured), the
server is ``manage.py serve`` as for the purchase group.

Figures: ``tickets_s`` (tickets in 201 answers per second), ``sellout_s`` (until the
session is sold out), p50/p99 of the answers, non-2xx answers by status (409 only at the
very end, when the last zones run out), CPU per ticket by process kind, and from the
database afterwards: tickets = sold places, one ticket per place, one ledger charge per
order (``oversold`` must be 0). The same run's database ceiling and a bare Django
endpoint's req/s (``wrk`` with the same connections against ``/queue/-/ping``) are printed
beside, so the figures can be read as ratios on a noisy machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from django.db import close_old_connections
from django.db.models import Count

from bench import Context, group
from bench.server import ROOT, Server

LUA = r"""
-- One paid channel order per request: a fresh Idempotency-Key each time, zones in turn; a
-- zone that answered 409 (sold out) is skipped while others have places. The bench stops
-- wrk (SIGINT) when the database says the session is sold out.
local counter = 0
local thread_id = 0
local zones = {}
local exhausted = {}
local quantities = {}

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  for z in string.gmatch(args[1], "[^,]+") do
    table.insert(zones, tonumber(z))
    table.insert(quantities, tonumber(args[4]))
  end
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  session = args[3]
  run = args[5]
end

local current = 1

function request()
  counter = counter + 1
  for _ = 1, #zones do
    current = current % #zones + 1
    if not exhausted[current] then break end
  end
  wrk.headers["Idempotency-Key"] = run .. "-" .. id .. "-" .. counter
  local body = '{"session":' .. session .. ',"zone":' .. zones[current]
    .. ',"quantity":' .. quantities[current] .. '}'
  return wrk.format("POST", nil, nil, body)
end

function response(status, headers, body)
  -- a sold-out answer names its zone ({"details": {..., "zone": 12}}): ask that zone for one
  -- place at a time, then skip it
  if status == 409 then
    local zone = tonumber(string.match(body, '"zone":%s*(%d+)') or "")
    for i, z in ipairs(zones) do
      if z == zone then
        if quantities[i] > 1 then quantities[i] = 1 else exhausted[i] = true end
      end
    end
  end
end

function done(summary, latency, requests)
  for _, p in ipairs({50, 90, 99}) do
    io.write("WRK p" .. p .. "_ms=" .. latency:percentile(p) / 1000 .. "\n")
  end
  io.write("WRK requests=" .. summary.requests .. "\n")
  io.write("WRK duration_s=" .. summary.duration / 1e6 .. "\n")
  local e = summary.errors
  io.write("WRK socket_errors=" .. (e.connect + e.read + e.write + e.timeout) .. "\n")
  io.write("WRK non_2xx=" .. e.status .. "\n")
end
"""


def add_arguments(parser) -> None:
    parser.add_argument(
        "--channel-clients", type=int, default=50, help="keep-alive clients (default 50)"
    )
    parser.add_argument(
        "--channel-quantity", type=int, default=2, help="places per order (default 2)"
    )
    parser.add_argument(
        "--channel-web-workers",
        type=int,
        default=None,
        help="web processes for this group (default: serve's choice, one per core)",
    )
    parser.add_argument(
        "--channel-web-threads", type=int, default=None, help="threads per web process"
    )


def _wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "the channel group needs wrk (Debian: `sudo apt-get install wrk`): it generates "
            "the load in C so the load generator costs little CPU"
        )
    return found


def _run_wrk(args: list[str], *, script: Path, seconds: float, log: Path, until=None) -> dict:
    """Run wrk for ``seconds`` (or until ``until()`` is true, checked twice a second: then
    wrk is stopped with SIGINT and prints its summary); its figures."""
    command = [_wrk(), "-t2", "-d", f"{max(1, int(seconds))}s", "-s", str(script), *args]
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - wrk on our own server
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    stopped_at = None
    while process.poll() is None:
        time.sleep(0.5)
        if until is not None and stopped_at is None and until():
            stopped_at = time.perf_counter()
            process.send_signal(signal.SIGINT)
    output = process.stdout.read()
    with log.open("a") as sink:
        sink.write(output)
    figures: dict = {"wall_s": round((stopped_at or time.perf_counter()) - started, 2)}
    for line in output.splitlines():
        if line.startswith("WRK "):
            key, _, value = line[4:].partition("=")
            figures[key] = float(value)
        if line.strip().startswith("Requests/sec:"):
            figures["requests_s"] = float(line.split()[-1])
    return figures


def _bare_rps(server: Server, *, clients: int, seconds: float, run_dir: Path) -> float:
    script = run_dir / "bare.lua"
    script.write_text("")
    figures = _run_wrk(
        ["-c", str(clients), f"{server.base_url}/queue/-/ping"],
        script=script,
        seconds=seconds,
        log=run_dir / "wrk-bare.log",
    )
    return figures.get("requests_s", 0.0)


def _free_places(sale) -> int:
    from tessera.inventory.models import InventoryUnit

    return InventoryUnit.objects.filter(session=sale.session, status="available").count()


def verify(sale, channel) -> dict:
    from tessera.inventory.models import InventoryUnit
    from tessera.orders.models import LedgerEntry, Order
    from tessera.tickets.models import Ticket

    units = InventoryUnit.objects.filter(session=sale.session)
    sold = units.filter(status="sold").count()
    tickets = Ticket.objects.filter(session=sale.session, status="valid")
    ticket_count = tickets.count()
    duplicates = tickets.values("unit_id").annotate(n=Count("id")).filter(n__gt=1).count()
    orders = Order.objects.filter(session=sale.session, channel=channel)
    charges = LedgerEntry.objects.filter(order__in=orders, kind="charge")
    charged_twice = charges.values("order_id").annotate(n=Count("id")).filter(n__gt=1).count()
    return {
        "capacity": sale.capacity,
        "sold": sold,
        "tickets": ticket_count,
        "orders": orders.count(),
        "oversold": max(0, sold - sale.capacity)
        + max(0, ticket_count - sold)
        + duplicates
        + charged_twice,
        "unticketed": max(0, sold - ticket_count),
        "orders_without_one_charge": orders.count() - charges.count() + charged_twice,
        "held_left": units.filter(status="held").count(),
    }


@group("channel", order=40, add_arguments=add_arguments)
def run(ctx: Context) -> dict:
    from bench.fixtures import make_stadium, open_sale
    from bench.purchase import CpuMeter, measure_ceiling
    from tessera.accounts.models import Organization
    from tessera.core.clock import now as clock_now
    from tessera.inventory.models import SalesChannel
    from tessera.sale import channels

    args = ctx.args
    cap = args.cap or (20.0 if ctx.quick else 300.0)
    run_dir = ROOT / "var" / "bench" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    _venue, layout, _spec = make_stadium(places=ctx.seats, label="channel")
    sale = open_sale(layout=layout, label="channel", now=clock_now())
    organization = Organization.objects.get(pk=sale.session.event.organization_id)
    channel = SalesChannel.objects.create(
        organization=organization, code=f"bench-{sale.session.pk}", name="基准分销", name_en="Bench"
    )
    _row, key = channels.issue_key(channel=channel, name="bench", actor=None, now=clock_now())
    ctx.log(f"session {sale.session.pk}: {sale.capacity:,} places; channel {channel.code}")
    result: dict = {}
    scratch = open_sale(layout=layout, label="channel-scratch", now=clock_now())
    result |= measure_ceiling(ctx=ctx, sale=scratch, seconds=3 if ctx.quick else 5, threads=8)
    script = run_dir / "channel.lua"
    script.write_text(LUA)
    server = Server(
        database_url=ctx.database_url,
        log_path=run_dir / "server-channel.log",
        web_workers=args.channel_web_workers or len(os.sched_getaffinity(0)),
        web_threads=args.channel_web_threads or 8,
        task_workers=1,
    )
    with server:
        ctx.log(f"server on {server.base_url}; log {server.log_path}")
        result["bare_django_rps"] = round(
            _bare_rps(server, clients=args.channel_clients, seconds=5, run_dir=run_dir), 1
        )
        ctx.log(f"bare Django endpoint: {result['bare_django_rps']:,} req/s")
        zones = ",".join(str(z.pk) for z in sale.zones.values())
        meter = CpuMeter(set(server.pids()))

        def sold_out() -> bool:
            close_old_connections()
            return _free_places(sale) == 0

        figures = _run_wrk(
            [
                "-c",
                str(args.channel_clients),
                "--latency",
                f"{server.base_url}/api/v1/channel/orders",
                "--",
                zones,
                key,
                str(sale.session.pk),
                str(args.channel_quantity),
                f"r{int(time.time())}",
            ],
            script=script,
            seconds=cap,
            log=run_dir / "wrk-channel.log",
            until=sold_out,
        )
        cpu = meter.read()
    close_old_connections()
    checked = verify(sale, channel)
    elapsed = figures["wall_s"]
    tickets = checked["tickets"]
    sold_out = checked["sold"] == checked["capacity"]
    result |= {
        "tickets_s": round(tickets / elapsed, 1),
        "orders_s": round(checked["orders"] / elapsed, 1),
        "sellout_s": round(elapsed, 1) if sold_out else None,
        "elapsed_s": round(elapsed, 1),
        "sold_out": sold_out,
        "p50_ms": round(figures.get("p50_ms", 0), 2),
        "p90_ms": round(figures.get("p90_ms", 0), 2),
        "p99_ms": round(figures.get("p99_ms", 0), 2),
        "requests": int(figures.get("requests", 0)),
        "non_2xx": int(figures.get("non_2xx", 0)),
        "socket_errors": int(figures.get("socket_errors", 0)),
        "clients": args.channel_clients,
        **checked,
        "cpu": cpu,
        "cpu_ms_per_ticket": {
            kind: round(1000 * seconds / max(1, tickets), 3)
            for kind, seconds in cpu["cpu_s"].items()
        },
    }
    ctx.log(
        f"{tickets:,} tickets in {elapsed:.1f} s: {result['tickets_s']:,} tickets/s, "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, oversold {checked['oversold']}"
    )
    return result
