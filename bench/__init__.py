"""Tessera benchmarks: ``make bench`` (``python -m bench``).

Benchmarks are not tests: they print their figures, then, as the last line, one JSON object
with a key per group, also written to ``bench/results/latest.json``. Every run gets a fresh
PostgreSQL database that is dropped at the end (see ``__main__``).

A group is one module of this package that registers a function with ``@group``::

    from bench import Context, group

    def add_arguments(parser):            # optional, options of this group only
        parser.add_argument("--seatmap-repeat", type=int, default=20)

    @group("seatmap", order=30, add_arguments=add_arguments)
    def run(ctx: Context) -> dict:
        ...
        return {"availability_ms": 12.3}

Every module of the package is imported when the harness starts (Django is set up by then,
pointed at the bench database, so modules may import models at the top); adding a group is
adding one module. A group returns a JSON-ready dict; nested dicts are printed flattened.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["GROUPS", "Context", "Group", "discover", "group"]


@dataclass
class Context:
    """What a group gets: the parsed options and the bench database it may fill freely."""

    args: argparse.Namespace
    database_url: str
    quick: bool
    seats: int
    notes: list[str] = field(default_factory=list)

    def log(self, message: str) -> None:
        """A progress line (stdout, flushed; the JSON line always comes last)."""
        print(f"  · {message}", flush=True)


@dataclass(frozen=True)
class Group:
    name: str
    run: Callable[[Context], dict]
    order: int
    add_arguments: Callable[[argparse.ArgumentParser], None] | None
    needs_database: bool


GROUPS: dict[str, Group] = {}


def group(
    name: str,
    *,
    order: int = 100,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    needs_database: bool = True,
):
    """Register ``fn(ctx) -> dict`` as the benchmark group ``name`` (run in ``order``)."""

    def register(fn: Callable[[Context], dict]) -> Callable[[Context], dict]:
        if name in GROUPS and GROUPS[name].run is not fn:
            raise ValueError(f"benchmark group {name!r} is registered twice")
        GROUPS[name] = Group(
            name=name,
            run=fn,
            order=order,
            add_arguments=add_arguments,
            needs_database=needs_database,
        )
        return fn

    return register


def discover() -> dict[str, Group]:
    """Import every module of this package once, so their ``@group`` calls register."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(GROUPS.items(), key=lambda item: (item[1].order, item[0])))
