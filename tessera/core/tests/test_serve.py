"""``manage.py serve`` as it runs: real processes on a free port, against a file SQLite
database in a temporary directory (migrated once per module).

The supervisor starts again any child that dies, the others keep running, and only SIGTERM
(or Ctrl-C) stops everything. Processes are found through /proc (parent and process ids).
"""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tessera.core.management.commands.serve import (
    DEFAULT_TASK_WORKERS,
    DEFAULT_THREADS,
    FIRST_BACKOFF_SECONDS,
    MAX_BACKOFF_SECONDS,
    Layout,
    backoff_seconds,
    choose_layout,
    describe_exit,
    usable_cores,
)

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 60.0  # seconds any one wait may take before the test fails (a loaded machine)


def _environment(var_dir: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "tessera.settings",
            "TESSERA_VAR_DIR": str(var_dir),
            "TESSERA_DATABASE_URL": f"sqlite:///{var_dir / 'serve.sqlite3'}",
            "TESSERA_SECRET_KEY": "serve-test-secret-key-" + "x" * 40,
            "TESSERA_LOG_LEVEL": "WARNING",
        }
    )
    return environment


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, session id) of a process, None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[3])


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def _session(sid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[2] == sid and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def _wait_for(what: str, check, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


class Served:
    """A running ``manage.py serve`` and ways to look at its processes."""

    def __init__(self, process: subprocess.Popen, port: int, log: Path):
        self.process, self.port, self.log = process, port, log

    def get(self, path: str) -> tuple[int, bytes] | None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            connection.request("GET", path)
            response = connection.getresponse()
            answer = response.status, response.read()
            connection.close()
            return answer
        except OSError:
            return None

    def answers(self) -> bool:
        return self.get("/api/v1/sessions?limit=1") == (200, b'{"items": [], "count": 0}')

    def task_workers(self) -> list[int]:
        return [p for p in _children(self.process.pid) if "task_worker" in _cmdline(p)]

    def granian(self) -> int:
        (pid,) = [p for p in _children(self.process.pid) if "granian" in _cmdline(p)]
        return pid

    def web_processes(self) -> list[int]:
        return _children(self.granian())

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A var directory with a migrated SQLite database, copied for each server."""
    var_dir = tmp_path_factory.mktemp("serve-template")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=_environment(var_dir),
        check=True,
        timeout=300,
    )
    return var_dir


@pytest.fixture
def served(migrated, tmp_path):
    var_dir = tmp_path / "var"
    shutil.copytree(migrated, var_dir)
    port, log = _free_port(), tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [
                sys.executable,
                "manage.py",
                "serve",
                "--port",
                str(port),
                "--workers",
                "1",
                "--threads",
                "2",
                "--task-workers",
                "2",
            ],
            cwd=ROOT,
            env=_environment(var_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Served(process, port, log)
    try:
        _wait_for("the server answers", server.answers)
        _wait_for("two task workers run", lambda: len(server.task_workers()) == 2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in _session(process.pid):  # nothing may outlive a failed test either
            os.kill(pid, signal.SIGKILL)


def test_a_killed_task_worker_is_started_again_and_the_web_keeps_answering(served):
    # given a server with its two task workers
    assert "web: 1 process x 2 threads" in served.output()
    assert "task workers: 2" in served.output()
    killed, other = served.task_workers()
    web = served.web_processes()

    # when one task worker is killed
    os.kill(killed, signal.SIGKILL)

    # then a new one takes its place, the other never stopped, and the web answered throughout
    def replaced():
        workers = served.task_workers()
        return workers if len(workers) == 2 and killed not in workers else None

    assert other in _wait_for("a new task worker", replaced)
    assert served.answers()
    assert served.web_processes() == web
    assert "was killed by SIGKILL" in served.output()
    assert "started again" in served.output()
    assert served.process.poll() is None


def test_a_killed_web_process_is_started_again_by_granian(served):
    # given the one web process of the server
    granian = served.granian()
    (web,) = served.web_processes()
    workers = served.task_workers()

    # when it is killed
    os.kill(web, signal.SIGKILL)

    # then granian starts another within seconds and requests succeed again
    def replaced():
        found = served.web_processes()
        return len(found) == 1 and web not in found

    _wait_for("a new web process", replaced)
    _wait_for("the server answers again", served.answers)
    assert served.granian() == granian  # granian stayed; only its web process was replaced
    assert served.task_workers() == workers
    assert served.process.poll() is None


def test_sigterm_stops_every_child_and_leaves_nothing_behind(served):
    # given the server and every process under it
    granian = served.granian()
    everyone = [served.process.pid, granian, *served.web_processes(), *served.task_workers()]
    assert len(everyone) == 5

    # when serve gets SIGTERM
    served.process.send_signal(signal.SIGTERM)

    # then it stops, after every child, and nothing of its session is left
    assert served.process.wait(timeout=TIMEOUT) == 0
    assert [pid for pid in everyone if _alive(pid)] == []
    assert _session(served.process.pid) == []
    assert served.get("/") is None
    assert served.output().rstrip().endswith("Tessera has stopped.")


# -- choices that need no process ----------------------------------------------------------


def test_layout_defaults_to_one_web_process_per_usable_core():
    assert usable_cores() == len(os.sched_getaffinity(0))
    assert choose_layout(workers=None, threads=None, task_workers=None, cores=3) == Layout(
        web_processes=3, threads=DEFAULT_THREADS, task_workers=DEFAULT_TASK_WORKERS, cores=3
    )
    assert (DEFAULT_THREADS, DEFAULT_TASK_WORKERS) == (4, 2)


def test_layout_takes_the_flags_or_their_environment_values():
    layout = choose_layout(workers="5", threads=2, task_workers="0", cores=2)
    assert layout == Layout(web_processes=5, threads=2, task_workers=0, cores=2)
    assert layout.describe() == "web: 5 processes x 2 threads (2 usable cores); task workers: 0"
    single = choose_layout(workers="", threads="1", task_workers="3", no_worker=True, cores=1)
    assert single == Layout(web_processes=1, threads=1, task_workers=0, cores=1)
    assert single.describe() == "web: 1 process x 1 thread (1 usable core); task workers: 0"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"workers": "0"}, "--workers must be at least 1, not 0"),
        ({"threads": "many"}, "--threads must be a whole number, not 'many'"),
        ({"task_workers": "-1"}, "--task-workers must be at least 0, not -1"),
    ],
)
def test_layout_refuses_numbers_out_of_range(given, message):
    from django.core.management import CommandError

    arguments = {"workers": None, "threads": None, "task_workers": None, "cores": 2} | given
    with pytest.raises(CommandError) as caught:
        choose_layout(**arguments)
    assert str(caught.value) == message


def test_restart_pause_doubles_while_a_child_keeps_dying():
    pauses = [backoff_seconds(deaths) for deaths in range(1, 10)]
    assert pauses == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert (FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS) == (0.5, 30.0)
    assert describe_exit(-signal.SIGKILL) == "was killed by SIGKILL"
    assert describe_exit(3) == "exited with status 3"
