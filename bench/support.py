"""Helpers shared by the benchmark groups: the throw-away database, percentiles, the table."""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432"


def bench_database_url() -> str:
    """``TESSERA_BENCH_DATABASE_URL``, else a new name on the local server."""
    given = os.environ.get("TESSERA_BENCH_DATABASE_URL", "").strip()
    if given:
        return given
    return f"{DEFAULT_SERVER_URL}/tessera_bench_{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}"


def _sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///path`` URL (the embedded default: tests of the bench on a
    machine without PostgreSQL), else None."""
    parts = urlsplit(url)
    return parts.path if parts.scheme == "sqlite" and parts.path not in ("", "/") else None


def _split(url: str) -> tuple[str, str]:
    """(the URL of the server's ``postgres`` database, the database name) of ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"benchmarks need PostgreSQL, not {parts.scheme!r}: {url}")
    name = parts.path.lstrip("/")
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"bench database name must be letters, digits and _: {name!r}")
    return urlunsplit(parts._replace(path="/postgres")), name


def _admin(url: str):
    import psycopg

    server_url, name = _split(url)
    return psycopg.connect(server_url, autocommit=True), name


def create_database(url: str) -> None:
    """Create the database of ``url``; refuses (raises) if it exists already."""
    path = _sqlite_path(url)
    if path is not None:
        if os.path.exists(path):
            raise SystemExit(f"database {path} exists already; the bench only uses a fresh one")
        return  # migrate creates the file
    connection, name = _admin(url)
    with connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists:
            raise SystemExit(f"database {name} exists already; the bench only uses a fresh one")
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    """Drop the database of ``url``, ending any session still connected to it."""
    path = _sqlite_path(url)
    if path is not None:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return
    connection, name = _admin(url)
    with connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values: list[float], fraction: float) -> float | None:
    """The ``fraction`` percentile (nearest rank) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def flatten(data: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flatten(value, f"{name}/"))
        else:
            rows.append((name, value))
    return rows


def format_value(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def table(results: dict[str, dict]) -> str:
    """One block per group: name, then its figures aligned."""
    lines = []
    for name, figures in results.items():
        lines.append(f"[{name}]")
        rows = flatten(figures)
        width = max((len(key) for key, _ in rows), default=0)
        lines.extend(f"  {key:<{width}}  {format_value(value)}" for key, value in rows)
    return "\n".join(lines)


class CountedStatements:
    """What ``statement_counter`` saw: each statement's verb and whether a transaction was
    open, and the commits."""

    _WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")

    def __init__(self) -> None:
        self.statements: list[tuple[str, bool, str]] = []
        self.commits = 0

    def figures(self) -> dict:
        writes = [
            sql
            for verb, _inside, sql in self.statements
            if verb in ("INSERT", "UPDATE", "DELETE")
            or (verb == "WITH" and any(w in sql for w in ("INSERT", "UPDATE", "DELETE")))
        ]
        autocommitted = sum(
            1 for verb, inside, sql in self.statements if not inside and sql in writes
        )
        return {
            "queries": len(self.statements),
            "writes": len(writes),
            "transactions": self.commits + autocommitted,
        }


@contextmanager
def statement_counter(connection):
    """Count the statements run on ``connection`` (savepoint bookkeeping included, as it is
    a round trip too) and its commits, while the block runs."""
    counted = CountedStatements()

    def wrapper(execute, sql, params, many, context):
        counted.statements.append((sql.split(None, 1)[0].upper(), connection.in_atomic_block, sql))
        return execute(sql, params, many, context)

    original = connection._commit

    def commit():
        counted.commits += 1
        return original()

    connection._commit = commit
    try:
        with connection.execute_wrapper(wrapper):
            yield counted
    finally:
        del connection._commit
