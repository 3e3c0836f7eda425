"""Group ``holdcost``: the cost of taking "any N places of a zone" as the session fills.

A stadium session (``--seats`` places, default 60,000) is sold step by step to 0, 50, 95 and
99 % of its largest zone, by real UPDATE statements in the order a sell-out takes places
(lowest ids first, as "any N" does, with a tenth of them taken at random as chosen seats
are), so the table and its indexes carry what a real sale leaves behind. At each level:

* ``explain``: ``EXPLAIN (ANALYZE, BUFFERS)`` of the pick of ``sale.fastpath`` (the free
  places of the zone with the lowest ids, ``FOR UPDATE SKIP LOCKED``) and, for comparison,
  of the same pick over every holdable place (available or held and expired), the shape
  the services' path used before the partial indexes: execution ms and buffers touched;
* ``take_ms``: the median time of ``fastpath.take_places`` for 2 places (the account lock,
  then the whole statement), each rolled back.

The figures are also in docs/performance.md.
"""

from __future__ import annotations

import random
import statistics
import time

from django.db import connection, transaction

from bench import Context, group

LEVELS = (0, 50, 95, 99)
TAKES = 40

_PICK = """
SELECT u.id FROM inventory_inventoryunit u
 WHERE u.session_id = %(session)s AND u.zone_id = %(zone)s AND u.channel_id IS NULL
   AND {status} {after}
 ORDER BY {order} LIMIT 2 FOR UPDATE SKIP LOCKED
"""
_AFTER = "AND (u.session_id, u.zone_id, u.id) > (%(session)s, %(zone)s, %(after)s)"
_AVAILABLE = "u.status = 'available'"
_HOLDABLE = "(u.status = 'available' OR (u.status = 'held' AND u.hold_expires_at < %(now)s))"


def _explain(sql: str, params: dict) -> dict:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0][0]
        transaction.set_rollback(True)
    top = plan["Plan"]
    return {
        "ms": round(plan["Execution Time"], 3),
        "buffers": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
        "node": _scan_node(top),
    }


def _scan_node(node: dict) -> str:
    while node.get("Plans"):
        node = node["Plans"][0]
    return f"{node['Node Type']} {node.get('Index Name', '')}".strip()


def _fill(session_id: int, zone_id: int, target: int, rng: random.Random) -> int:
    """Sell places of the zone until ``target`` are sold: 9 in 10 lowest-id first, 1 in 10
    at random; returns the number sold."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM inventory_inventoryunit WHERE session_id = %s AND zone_id = %s "
            "AND status = 'available' ORDER BY id",
            [session_id, zone_id],
        )
        free = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT count(*) FROM inventory_inventoryunit WHERE session_id = %s AND zone_id = %s "
            "AND status = 'sold'",
            [session_id, zone_id],
        )
        sold = cursor.fetchone()[0]
    todo = max(0, target - sold)
    picks: list[int] = []
    lowest = 0
    chosen: set[int] = set()
    while len(picks) < todo:
        if rng.random() < 0.1:
            candidate = free[rng.randrange(len(free))]
        else:
            while free[lowest] in chosen:
                lowest += 1
            candidate = free[lowest]
        if candidate not in chosen:
            chosen.add(candidate)
            picks.append(candidate)
    with connection.cursor() as cursor:
        for start in range(0, len(picks), 4):  # a few places per statement, as buyers do
            cursor.execute(
                "UPDATE inventory_inventoryunit SET status = 'sold', order_line_id = 0 "
                "WHERE id = ANY(%s)",
                [picks[start : start + 4]],
            )
    return sold + len(picks)


def _last_sold(session_id: int, zone_id: int) -> int:
    """Where a process that sold the zone so far in id order stands: its highest sold id
    among the lowest-id run (the places sold at random lie beyond it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(min(id) - 1, 0) FROM inventory_inventoryunit "
            "WHERE session_id = %s AND zone_id = %s AND status = 'available'",
            [session_id, zone_id],
        )
        return cursor.fetchone()[0]


@group("holdcost", order=25)
def run(ctx: Context) -> dict:
    from bench.fixtures import make_buyers, make_stadium, open_sale
    from tessera.core.clock import now as clock_now
    from tessera.inventory.models import InventoryUnit
    from tessera.sale import fastpath

    places = ctx.seats if ctx.quick else max(ctx.seats, 60_000)
    _venue, layout, _spec = make_stadium(places=places, label="holdcost")
    sale = open_sale(layout=layout, label="holdcost", now=clock_now())
    [buyer] = make_buyers(count=1, prefix="holdcost")
    zone = max(
        sale.zones.values(),
        key=lambda z: InventoryUnit.objects.filter(session=sale.session, zone=z).count(),
    )
    size = InventoryUnit.objects.filter(session=sale.session, zone=zone).count()
    ctx.log(f"zone {zone.code}: {size:,} places of {sale.capacity:,}")
    rng = random.Random(7)
    levels = {}
    for level in LEVELS:
        target = min(size - 2 * TAKES - 2, size * level // 100)
        sold = _fill(sale.session.pk, zone.pk, target, rng)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE inventory_inventoryunit")
        after = _last_sold(sale.session.pk, zone.pk)
        params = {"session": sale.session.pk, "zone": zone.pk, "now": clock_now(), "after": after}
        fast = _explain(
            _PICK.format(status=_AVAILABLE, after=_AFTER, order="u.session_id, u.zone_id, u.id"),
            params,
        )
        before = _explain(_PICK.format(status=_HOLDABLE, after="", order="u.id"), params)
        timings = []
        for _ in range(TAKES):
            started = time.perf_counter()
            with transaction.atomic():
                fastpath.lock_account(session_id=sale.session.pk, user_id=buyer.pk)
                fastpath.take_places(
                    session_id=sale.session.pk,
                    user_id=buyer.pk,
                    now=clock_now(),
                    quantity=2,
                    zone_id=zone.pk,
                    check_account_limit=False,
                )
                transaction.set_rollback(True)
            timings.append((time.perf_counter() - started) * 1000)
        levels[f"{level}%"] = {
            "sold": sold,
            "pick_ms": fast["ms"],
            "pick_buffers": fast["buffers"],
            "pick_scan": fast["node"],
            "holdable_pick_ms": before["ms"],
            "holdable_pick_buffers": before["buffers"],
            "holdable_pick_scan": before["node"],
            "take_ms": round(statistics.median(timings), 3),
        }
        ctx.log(
            f"{level:>2}% sold: pick {fast['ms']} ms / {fast['buffers']} buffers "
            f"({fast['node']}); every holdable: {before['ms']} ms / {before['buffers']} "
            f"buffers; take {levels[f'{level}%']['take_ms']} ms"
        )
    first, last = levels[f"{LEVELS[0]}%"], levels[f"{LEVELS[-1]}%"]
    return {
        "zone_places": size,
        "take_ms_empty": first["take_ms"],
        "take_ms_99": last["take_ms"],
        "levels": levels,
    }
