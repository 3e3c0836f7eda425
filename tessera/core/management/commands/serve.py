"""Serve Tessera: the production WSGI server and the task workers, under one supervisor.

What runs (each number can be given with a flag or an environment variable):

- web: granian (WSGI) with ``--workers`` processes, by default one per usable core
  (``os.sched_getaffinity``), each with ``--threads`` threads, by default 4. Python runs one
  thread of a process at a time (the GIL), so the CPU work of requests spreads over cores
  only through processes; threads let a process go on while another request waits for the
  database. Every thread holds its own database connection, so a few are enough.
- tasks: ``--task-workers`` ``task_worker`` processes, by default 2, so that a payment
  callback never waits behind a slow task and one dying worker leaves another running. Each
  keeps a heartbeat; the tasks a killed worker had claimed go back to the queue once its
  heartbeat is older than the lease (``core.workers``), and every worker sweeps at start.
- metrics: every child writes its counters under ``PROMETHEUS_MULTIPROC_DIR`` (given, else
  ``var/metrics/<port>/``, emptied at start), so ``/metrics`` adds up all processes.
- this process, the supervisor: it hands the periodic tidy-up tasks to the workers every
  minute and starts again any child that exits or is killed (granian, a task worker), after
  a pause of 0.5 s that doubles, up to 30 s, while the child keeps dying within 10 s of its
  start; the other children keep running. granian itself starts a crashed web process again
  at once (``--respawn-failed-workers``), so the other web processes answer meanwhile; if
  that process crashes again within seconds granian gives up and exits, and then this
  supervisor starts granian again.

Only SIGINT (Ctrl-C) or SIGTERM stops ``serve``: every child gets SIGTERM, and whatever still
runs after ``STOP_GRACE_SECONDS`` is killed (SIGKILL) with its process group, so granian's
web processes go too. Each child runs in a process group of its own (a terminal's Ctrl-C
reaches only the supervisor, which stops the children in order) and, on Linux, receives
SIGTERM if the supervisor itself dies, so not even a killed ``serve`` leaves a server running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tessera.core.db import prepare_connections, release_connections

# How often the periodic tidy-up tasks are handed to the workers. Correctness never depends
# on them (expired holds are free to others at once); they keep rows and statuses tidy.
HOUSEKEEPING_SECONDS = float(os.environ.get("TESSERA_HOUSEKEEPING_SECONDS", "60"))
DEFAULT_THREADS = 4
DEFAULT_TASK_WORKERS = 2
# A child that dies is started again after FIRST_BACKOFF_SECONDS; each further death within
# STABLE_SECONDS of its start doubles the pause, up to MAX_BACKOFF_SECONDS.
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
STABLE_SECONDS = 10.0
# SIGTERM first; SIGKILL for what still runs this many seconds later.
STOP_GRACE_SECONDS = 10.0
POLL_SECONDS = 0.1

_PR_SET_PDEATHSIG = 1
try:
    import ctypes

    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
except (ImportError, OSError, AttributeError):  # pragma: no cover - not Linux
    _prctl = None


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def backoff_seconds(deaths: int) -> float:
    """The pause before starting a child again after its ``deaths``-th death in a row."""
    return min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** max(0, deaths - 1))


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def _number(value: str | int | None, *, name: str, default: int, minimum: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise CommandError(f"{name} must be at least {minimum}, not {number}")
    return number


@dataclass(frozen=True)
class Layout:
    """How many processes and threads ``serve`` starts."""

    web_processes: int
    threads: int
    task_workers: int
    cores: int

    def describe(self) -> str:
        def count(n: int, word: str, plural: str) -> str:
            return f"{n} {word if n == 1 else plural}"

        return (
            f"web: {count(self.web_processes, 'process', 'processes')} x "
            f"{count(self.threads, 'thread', 'threads')} "
            f"({count(self.cores, 'usable core', 'usable cores')}); "
            f"task workers: {self.task_workers}"
        )


def choose_layout(
    *,
    workers: str | int | None,
    threads: str | int | None,
    task_workers: str | int | None,
    no_worker: bool = False,
    cores: int | None = None,
) -> Layout:
    """The layout from the flags (or their environment variables; None or "" when unset):
    one web process per usable core, DEFAULT_THREADS threads each, DEFAULT_TASK_WORKERS
    task workers. Raises CommandError for a value that is not a whole number in range."""
    cores = usable_cores() if cores is None else cores
    return Layout(
        web_processes=_number(workers, name="--workers", default=cores, minimum=1),
        threads=_number(threads, name="--threads", default=DEFAULT_THREADS, minimum=1),
        task_workers=0
        if no_worker
        else _number(task_workers, name="--task-workers", default=DEFAULT_TASK_WORKERS, minimum=0),
        cores=cores,
    )


@dataclass
class Child:
    """One supervised process: what to run, and how it has fared."""

    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    deaths: int = 0  # in a row, each within STABLE_SECONDS of its start
    restart_at: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


class Command(BaseCommand):
    help = (
        "Serve the web app (granian WSGI, one process per core) and the task workers, "
        "starting again any of them that dies."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("TESSERA_HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("TESSERA_PORT", "8000"))
        parser.add_argument(
            "--workers",
            default=os.environ.get("TESSERA_WEB_WORKERS"),
            help="Web processes (TESSERA_WEB_WORKERS); default: the number of usable cores.",
        )
        parser.add_argument(
            "--threads",
            default=os.environ.get("TESSERA_WEB_THREADS"),
            help=f"Threads per web process (TESSERA_WEB_THREADS); default {DEFAULT_THREADS}. "
            "Each holds a database connection.",
        )
        parser.add_argument(
            "--task-workers",
            default=os.environ.get("TESSERA_TASK_WORKERS"),
            help=f"Task worker processes (TESSERA_TASK_WORKERS); default {DEFAULT_TASK_WORKERS}.",
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="Start no task worker (--task-workers 0)."
        )

    def handle(self, *args, host, port, workers, threads, task_workers, no_worker, **options):
        port = _number(port, name="--port", default=8000, minimum=1)
        layout = choose_layout(
            workers=workers, threads=threads, task_workers=task_workers, no_worker=no_worker
        )
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tessera.settings"),
        }
        # Payment gateways call back (and send buyers back) to this address unless told.
        self.env.setdefault("TESSERA_PUBLIC_URL", f"http://{host}:{port}")
        # The web processes size what may hold a thread (waiting status reads) by this.
        self.env["TESSERA_WEB_THREADS"] = str(layout.threads)
        children = [
            Child(
                "web server (granian)",
                self._web_command(host, port, layout.web_processes, layout.threads),
            )
        ]
        self.env["PROMETHEUS_MULTIPROC_DIR"] = str(self._metrics_directory(port))
        worker_command = [
            sys.executable,
            str(settings.BASE_DIR / "manage.py"),
            "task_worker",
            "--interval",
            "0.5",
        ]
        children += [
            Child(f"task worker {i + 1}", worker_command) for i in range(layout.task_workers)
        ]
        self._say(layout.describe())
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for child in children:
            self._start(child)
        self._say(
            f"Tessera is serving on http://{host}:{port}/  (Ctrl-C stops the web server"
            f"{' and the task workers' if layout.task_workers else ''})",
            style=self.style.SUCCESS,
        )
        next_housekeeping = time.monotonic() + 5
        try:
            while not stopping:
                self._supervise(children, stopping=lambda: stopping)
                if layout.task_workers and time.monotonic() >= next_housekeeping:
                    self._enqueue_housekeeping()
                    next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
                time.sleep(POLL_SECONDS)
        finally:
            self._stop(children)
        self._say("Tessera has stopped.")

    # -- the children ------------------------------------------------------------------------

    @staticmethod
    def _metrics_directory(port: int):
        """Where the children write their metrics (``core.metrics``), emptied at start: the
        given ``PROMETHEUS_MULTIPROC_DIR``, else ``var/metrics/<port>``."""
        from pathlib import Path

        given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        directory = Path(given) if given else settings.VAR_DIR / "metrics" / str(port)
        if directory.exists():
            for entry in directory.glob("*.db"):
                entry.unlink()
        else:
            directory.mkdir(parents=True)
        os.chmod(directory, 0o700)
        return directory

    def _web_command(self, host: str, port: int, workers: int, threads: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--no-ws",
            "--respawn-failed-workers",
            "--workers-kill-timeout",
            str(max(1, int(STOP_GRACE_SECONDS) - 2)),
            "tessera.wsgi:application",
        ]

    def _start(self, child: Child) -> None:
        supervisor = os.getpid()

        def in_the_child() -> None:
            # SIGTERM to the child when the supervisor dies (even by SIGKILL); if it died
            # before this took effect, the child stops at once.
            if _prctl is not None:
                _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != supervisor:
                os._exit(1)

        child.process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            child.command,
            cwd=settings.BASE_DIR,
            env=self.env,
            process_group=0,
            preexec_fn=in_the_child,  # safe: the supervisor runs no other threads
        )
        child.started_at = time.monotonic()

    def _supervise(self, children: list[Child], *, stopping) -> None:
        """Notice children that exited and start them again when their pause is over."""
        now = time.monotonic()
        for child in children:
            if child.process is not None:
                returncode = child.process.poll()
                if returncode is None:
                    continue
                lived = now - child.started_at
                child.deaths = child.deaths + 1 if lived < STABLE_SECONDS else 1
                pause = backoff_seconds(child.deaths)
                self._kill_group(child.process.pid)  # granian's web processes, if any are left
                self._say(
                    f"{child.name} (pid {child.process.pid}) {describe_exit(returncode)} "
                    f"after {lived:.1f} s; starting it again in {pause:.1f} s",
                    err=True,
                )
                child.process = None
                child.restart_at = now + pause
            elif now >= child.restart_at and not stopping():
                self._start(child)
                self._say(f"{child.name} started again (pid {child.pid})", err=True)

    def _stop(self, children: list[Child]) -> None:
        """SIGTERM to every child, SIGKILL to the process groups of those still running
        after STOP_GRACE_SECONDS (and to whatever their groups left behind)."""
        running = [c for c in children if c.process is not None and c.process.poll() is None]
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._say(f"{child.name} (pid {child.pid}) did not stop in time; killed", err=True)
        for child in children:
            if child.process is not None:
                self._kill_group(child.process.pid)
                child.process.wait()

    @staticmethod
    def _kill_group(pgid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)

    # -- housekeeping and output ---------------------------------------------------------------

    def _enqueue_housekeeping(self) -> None:
        """Hand the tasks named in ``settings.PERIODIC_TASKS`` to the workers."""
        from tessera.core.workers import enqueue_periodic_tasks

        prepare_connections()  # the supervisor's connection may have gone stale in a minute
        try:
            for path, result in enqueue_periodic_tasks().items():
                if result.startswith("not enqueued"):
                    self._say(f"{path} {result}", err=True)
        finally:
            release_connections()

    def _say(self, message: str, *, err: bool = False, style=None) -> None:
        stream = self.stderr if err else self.stdout
        stream.write(style(message) if style else message)
        stream.flush()
