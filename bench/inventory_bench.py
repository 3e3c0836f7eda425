"""Inventory benchmarks: best available on a 60,000-place stadium, unit generation, snapshots,
holds and availability counts.

Two groups of ``python -m bench``:

* ``best_available`` (no database): the pure search of ``inventory.best_available`` on
  in-memory snapshots of the stadium in four states: empty, 90 % sold at random, the half
  nearest the pitch sold out, and every other seat sold (no block exists, so the split
  fallback runs). Budget (DESIGN.md): k <= 8 in a 60,000-seat venue in <= 10 ms.
* ``inventory`` (database): ``generate_units`` for the stadium, best-available snapshots
  (cold and with the geometry cached), ``availability_by_zone`` and best-available holds.

Standalone, also on SQLite (the database of ``TESSERA_DATABASE_URL`` is migrated and
written to, so point it at a scratch database)::

    .venv/bin/python -m bench.inventory_bench [--database]
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time

from bench import Context, group

BUDGET_PLACES = 60_000


def _add_arguments(parser) -> None:
    parser.add_argument(
        "--best-available-places",
        type=int,
        default=None,
        help=f"places of the searched stadium (default {BUDGET_PLACES:,}; --quick: --seats)",
    )


def _time_ms(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def stadium_seats(places: int):
    """(unit_id, row_id, order, position, x, y, free) for every seat of a stadium of
    ``places`` places (``bench.fixtures.stadium_spec``), and its focal point."""
    from bench.fixtures import stadium_spec
    from tessera.venues.generator import LayoutSpec, plan_layout

    spec = LayoutSpec.stadium_60k() if places == BUDGET_PLACES else stadium_spec(places)
    plan = plan_layout(spec)
    seats = []
    unit_id = row_id = 0
    for s_index, section in enumerate(plan.sections):
        for r_index, row in enumerate(section.rows):
            row_id += 1
            for seat in row.seats:
                unit_id += 1
                seats.append(
                    (unit_id, row_id, (s_index, r_index), seat.position, seat.x, seat.y, True)
                )
    return seats, (plan.focal_x, plan.focal_y)


def search_figures(*, places: int = BUDGET_PLACES, repeat: int = 30) -> dict:
    """Median times (ms) of ``find_blocks`` (limit 5) for k = 1, 2, 4, 8 in four states."""
    from tessera.inventory.best_available import Snapshot, find_blocks, find_split

    seats, focal = stadium_seats(places)
    geometry = Snapshot.from_seats(seats)
    all_ids = [s[0] for s in seats]
    rng = random.Random(42)
    fx, fy = focal
    by_distance = sorted(seats, key=lambda s: (s[4] - fx) ** 2 + (s[5] - fy) ** 2)
    free_sets = {  # the free seats of each state
        "empty": set(all_ids),
        "sold_90pct_random": set(rng.sample(all_ids, len(all_ids) // 10)),
        "front_half_sold": {s[0] for s in by_distance[len(by_distance) // 2 :]},
        "every_other_sold": {s[0] for s in seats if s[3] % 2 == 1},
    }
    search_ms = {}
    for state, free in free_sets.items():
        snapshot = geometry.refreshed(free)
        for k in (1, 2, 4, 8):
            search_ms[f"{state}/k={k}"] = round(
                _time_ms(lambda s=snapshot, k=k: find_blocks(s, quantity=k, focal=focal), repeat),
                3,
            )
    singles = geometry.refreshed(free_sets["every_other_sold"])
    return {
        "seats": len(seats),
        "search_ms": search_ms,
        "max_search_ms": max(search_ms.values()),
        "split_every_other_sold_k8_ms": round(
            _time_ms(lambda: find_split(singles, quantity=8, focal=focal), 5), 2
        ),
        "snapshot_refresh_ms": round(
            _time_ms(lambda: geometry.refreshed(free_sets["sold_90pct_random"]), 5), 2
        ),
    }


@group("best_available", order=40, add_arguments=_add_arguments, needs_database=False)
def run_search(ctx: Context) -> dict:
    places = ctx.args.best_available_places or (ctx.seats if ctx.quick else BUDGET_PLACES)
    ctx.log(f"best available on a {places:,}-place stadium (in memory)")
    return search_figures(places=places, repeat=5 if ctx.quick else 30)


def database_figures(*, places: int, buyers: int = 20, log=print) -> dict:
    """Write a stadium and two sessions, then time the inventory's database work."""
    from django.db import connection

    from bench.fixtures import make_buyers, make_stadium, open_sale
    from tessera.catalog.models import PriceZone, Session, ZoneAssignment
    from tessera.core.clock import now as clock_now
    from tessera.inventory import selectors, services

    now = clock_now()
    label = f"inv{os.getpid()}"
    _, layout, _ = make_stadium(places=places, label=label)
    sale = open_sale(layout=layout, label=label, now=now)
    # A second session of the same layout and zones: generate_units timed on its own.
    first = sale.session
    second = Session.objects.get(pk=first.pk)
    second.pk = None
    second.save()
    zone_copy = {}
    for zone in PriceZone.objects.filter(session=first):
        old = zone.pk
        zone.pk = None
        zone.session = second
        zone.save()
        zone_copy[old] = zone
    ZoneAssignment.objects.bulk_create(
        ZoneAssignment(
            session=second,
            zone=zone_copy[a.zone_id],
            section_id=a.section_id,
            row_id=a.row_id,
            seat_id=a.seat_id,
        )
        for a in ZoneAssignment.objects.filter(session=first)
    )
    log(f"generate_units for {sale.capacity:,} places")
    started = time.perf_counter()
    created = services.generate_units(session=second, now=now)
    generate_s = time.perf_counter() - started

    zone_a = sale.zones["A"]
    selectors.clear_geometry_cache()
    figures = {
        "vendor": connection.vendor,
        "units": created,
        "generate_units_s": round(generate_s, 2),
        "snapshot_session_cold_ms": round(
            _time_ms(lambda: selectors.seat_snapshot(session=first, now=now), 1), 1
        ),
        "snapshot_session_warm_ms": round(
            _time_ms(lambda: selectors.seat_snapshot(session=first, now=now), 5), 1
        ),
        "snapshot_zone_a_warm_ms": round(
            _time_ms(lambda: selectors.seat_snapshot(session=first, now=now, zone=zone_a), 5), 1
        ),
        "availability_by_zone_ms": round(
            _time_ms(lambda: selectors.availability_by_zone(session=first, now=now), 5), 1
        ),
    }
    log(f"{buyers} best-available holds of 4 in zone A")
    times = []
    for buyer in make_buyers(count=buyers, prefix=f"{label}-"):
        started = time.perf_counter()
        services.hold_best_available(session=first, user=buyer, quantity=4, now=now, zone=zone_a)
        times.append((time.perf_counter() - started) * 1000)
    figures["hold_best_available_k4_median_ms"] = round(statistics.median(times), 1)
    return figures


@group("inventory", order=41)
def run_database(ctx: Context) -> dict:
    return database_figures(places=ctx.seats, buyers=5 if ctx.quick else 20, log=ctx.log)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")
    import django

    django.setup()
    if "--database" in sys.argv:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        results = database_figures(places=BUDGET_PLACES)
    else:
        results = search_figures()
    for name, value in results.items():
        print(f"  {name:<34} {value}")
    print(json.dumps({"bench": "inventory", **results}))


if __name__ == "__main__":
    main()
