"""``python -m bench [--groups a,b] [--quick] [--seats N] [group options]``.

Creates a fresh PostgreSQL database (``TESSERA_BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/tessera_bench_<timestamp>_<pid>``), migrates it, runs the
chosen groups against it and drops it at the end, also when a group fails or the run is
interrupted. Prints a table, then one JSON line (a key per group), also written to
``bench/results/latest.json`` (``TESSERA_BENCH_RESULTS_DIR`` names another directory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
import traceback
from pathlib import Path

from bench import support

RESULTS_DIR = Path(
    os.environ.get("TESSERA_BENCH_RESULTS_DIR") or Path(__file__).resolve().parent / "results"
)
QUICK_SEATS = 2_000
FULL_SEATS = 50_000


def _parser(groups) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Tessera benchmarks (PostgreSQL, throw-away database)."
    )
    parser.add_argument(
        "--groups",
        default=",".join(groups),
        help=f"comma-separated groups to run (default: all = {','.join(groups)})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run: {QUICK_SEATS:,} seats and short timed phases",
    )
    parser.add_argument(
        "--seats",
        type=int,
        default=None,
        help=f"places of the benchmark session (default {FULL_SEATS:,}, --quick {QUICK_SEATS:,})",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="do not drop the bench database at the end"
    )
    for found in groups.values():
        if found.add_arguments is not None:
            found.add_arguments(parser.add_argument_group(f"group {found.name}"))
    return parser


def _stop_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds through ``finally``: the database is dropped


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    database_url = support.bench_database_url()
    os.environ["TESSERA_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")
    os.environ.setdefault("TESSERA_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from bench import Context, discover

    groups = discover()
    args = _parser(groups).parse_args(argv)
    chosen = [name.strip() for name in args.groups.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in groups]
    if unknown or not chosen:
        raise SystemExit(f"unknown groups {unknown}; known: {', '.join(groups)}")
    selected = [g for g in groups.values() if g.name in chosen]
    seats = args.seats or (QUICK_SEATS if args.quick else FULL_SEATS)
    context = Context(args=args, database_url=database_url, quick=args.quick, seats=seats)

    print(
        f"Tessera bench · groups {', '.join(g.name for g in selected)} · {seats:,} places"
        f"{' · quick' if args.quick else ''} · {os.cpu_count()} CPUs · "
        f"Python {platform.python_version()} · {time.strftime('%Y-%m-%d %H:%M:%S')}",
        flush=True,
    )
    results: dict[str, dict] = {}
    failed = False
    created = False
    try:
        if any(g.needs_database for g in selected):
            from django.core.management import call_command

            support.create_database(database_url)
            created = True
            print(f"  · database {database_url.rsplit('/', 1)[-1]} created; migrating", flush=True)
            call_command("migrate", verbosity=0, interactive=False)
        for found in selected:
            print(f"[{found.name}] running", flush=True)
            started = time.perf_counter()
            try:
                results[found.name] = found.run(context)
            except Exception as exc:
                traceback.print_exc()
                results[found.name] = {"error": f"{type(exc).__name__}: {exc}"}
                failed = True
            print(f"[{found.name}] done in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        from django.db import connections

        from tessera.orders import changes

        changes.stop_listening()
        connections.close_all()
        if created and not args.keep_db:
            support.drop_database(database_url)
            print(f"  · database {database_url.rsplit('/', 1)[-1]} dropped", flush=True)
        elif created:
            print(f"  · database kept: {database_url}", flush=True)

    for note in context.notes:
        print(f"note: {note}")
    print(support.table(results))
    line = json.dumps(results, default=str, allow_nan=False)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "latest.json").write_text(line + "\n")
    print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
