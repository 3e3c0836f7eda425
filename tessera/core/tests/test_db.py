"""Database connections between requests (``tessera.core.db``) and the lock-wait limit.

A hot request sends no ``SELECT 1``; a connection idle for more than a second, or one that
had an error, is checked first, and a dead one is replaced, so the request succeeds. The
tests are transactional: inside the suite's usual transaction nothing is ever checked.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from tessera.core import db

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[3]
URL = "/api/v1/sessions?limit=1"
ANSWER = {"items": [], "count": 0}


def _statements(client) -> list[str]:
    """The SQL one request through the test client sends on this thread's connection (its
    quoted values, such as the current time, as ``?``)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL)
    assert (response.status_code, response.json()) == (200, ANSWER)
    return [re.sub(r"'[^']*'", "?", query["sql"]) for query in captured.captured_queries]


def _wait_past_idle_limit() -> None:
    time.sleep(db.IDLE_CHECK_SECONDS + 0.1)


def test_a_hot_request_sends_no_health_check_and_an_idle_one_sends_one(client):
    # given a connection that a request has just handed back
    client.get(URL)

    # when the next requests come at once, and after more than a second of idleness
    hot = _statements(client)
    hot_again = _statements(client)
    _wait_past_idle_limit()
    idle = _statements(client)

    # then only the one after the idle time checked the connection first
    assert "SELECT 1" not in hot
    assert hot == hot_again
    assert idle == ["SELECT 1", *hot]


def test_a_connection_that_had_an_error_is_checked_before_the_next_request(client):
    # given a connection on which a statement failed
    client.get(URL)
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    assert connection.errors_occurred is True

    # when the next request comes at once
    statements = _statements(client)

    # then it checked the connection first, found it good and kept it
    assert statements[0] == "SELECT 1"
    assert "SELECT 1" not in statements[1:]
    assert connection.errors_occurred is False
    assert _statements(client) == statements[1:]


def _kill_this_threads_backend() -> int:
    """Terminate this thread's PostgreSQL backend from another connection, as a database
    restart or an administrator would; returns its process id."""
    import psycopg

    backend = connection.connection.info.backend_pid
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        host=params["HOST"],
        port=params["PORT"] or 5432,
        autocommit=True,
    ) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [backend]).fetchone() == (True,)
        deadline = time.monotonic() + 10
        while admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend]
        ).fetchone() != (0,):
            assert time.monotonic() < deadline, "the backend did not go"
            time.sleep(0.05)
    return backend


def test_a_lost_connection_does_not_fail_the_next_request(client):
    # given a connection that served requests and was then lost while idle
    client.get(URL)
    hot = _statements(client)
    if connection.vendor == "postgresql":
        killed = _kill_this_threads_backend()
    else:
        # A SQLite file has no server that could drop the connection; what can go wrong
        # with it is an error, which marks the connection for a check the same way.
        killed = None
        with pytest.raises(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
    _wait_past_idle_limit()

    # when the next request comes
    statements = _statements(client)

    # then the check found out first and the request succeeded on a new connection
    assert statements == ["SELECT 1", *hot]
    assert connection.errors_occurred is False
    if killed is not None:
        assert connection.connection.info.backend_pid != killed


def test_prepare_connections_closes_a_connection_past_its_age():
    # given an open connection whose maximum age has passed
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    db.release_connections()
    connection.close_at = time.monotonic() - 1

    # when a request starts
    checked = db.prepare_connections()

    # then it was closed without a check (SQLite's in-memory test database refuses to
    # close, so there it is checked like a persistent connection instead)
    if connection.vendor == "postgresql":
        assert (checked, connection.connection) == (0, None)
    else:
        assert (checked, connection.connection is not None) == (0, True)


PROBE = """
import json, time
import django
django.setup()
from django.db import OperationalError, connection
with connection.cursor() as cursor:
    cursor.execute("SHOW lock_timeout")
    shown = cursor.fetchone()[0]
    started = time.monotonic()
    try:
        cursor.execute("SELECT count(*) FROM accounts_user")
        outcome = "read"
    except OperationalError as exc:
        outcome = type(exc.__cause__).__name__
print(json.dumps({"shown": shown, "outcome": outcome, "waited": time.monotonic() - started}))
"""


def test_a_lock_wait_is_limited():
    if connection.vendor == "sqlite":
        # SQLite: a writer waits at most busy_timeout for the file lock (settings.py).
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == 20_000
        return
    # given PostgreSQL connections with the default limit, and a table locked by this test
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "5s"
    from django.db import transaction

    params = connection.settings_dict
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "tessera.settings",
            "TESSERA_VAR_DIR": os.environ.get("TESSERA_VAR_DIR", str(ROOT / "var")),
            "TESSERA_DATABASE_URL": (
                f"postgres://{params['USER']}@{params['HOST']}:{params['PORT'] or 5432}/"
                f"{params['NAME']}"
            ),
            "TESSERA_DB_LOCK_TIMEOUT_MS": "300",
        }
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE accounts_user IN ACCESS EXCLUSIVE MODE")

        # when another process, configured with a 300 ms limit, reads the table
        result = subprocess.run(  # noqa: S603 - our own interpreter and fixed code
            [sys.executable, "-c", PROBE],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    # then it gave up after about 300 ms with PostgreSQL's lock timeout error
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["shown"], report["outcome"]) == ("300ms", "LockNotAvailable")
    assert 0.25 <= report["waited"] < 5
