"""The production server as a subprocess: ``manage.py serve`` (granian WSGI + the task workers,
under its supervisor) against the bench database."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def defence_env() -> dict[str, str]:
    """What the bench's server is told of the rate limits' store and risk control's automatic
    "under attack" (the in-process statement count of ``purchase`` uses the same)."""
    return {
        "TESSERA_RISK_ATTACK_RATE": os.environ.get("TESSERA_BENCH_RISK_ATTACK_RATE", "0"),
        "TESSERA_RATELIMIT_BACKEND": os.environ.get(
            "TESSERA_RATELIMIT_BACKEND",
            "redis" if os.environ.get("TESSERA_REDIS_URL") else "memory",
        ),
    }


class Server:
    """``with Server(...) as server:`` serves at ``server.base_url`` until the block ends.

    ``manage.py serve`` starts granian with ``--workers``/``--threads`` and
    ``--task-workers`` ``task_worker`` processes, as ``make run`` does but with the numbers
    given here. ``serve`` runs in a session of its own (its children each in their own process
    group within it), stopped with SIGTERM, which it passes on to its children; whatever of
    the session is left after the grace period gets SIGKILL. Output goes to ``log_path``.
    """

    def __init__(
        self,
        *,
        database_url: str,
        log_path: Path,
        web_workers: int = 1,
        web_threads: int = 8,
        task_workers: int = 1,
        extra_env: dict[str, str] | None = None,
    ):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.web_workers = web_workers
        self.web_threads = web_threads
        self.task_workers = task_workers
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tessera.settings",
            "TESSERA_DATABASE_URL": database_url,
            "TESSERA_PUBLIC_URL": self.base_url,
            "TESSERA_LOG_LEVEL": os.environ.get("TESSERA_BENCH_SERVER_LOG_LEVEL", "WARNING"),
            # The load generator is thousands of accounts behind one address and one set of
            # headers (one "device" by its signals): the address and device buckets would
            # refuse it, so the bench keeps only the per-account ones, in process memory (no
            # statement on the purchase path) unless Redis is configured.
            # TESSERA_BENCH_RATELIMITS (JSON, as TESSERA_RATELIMITS) chooses otherwise.
            "TESSERA_RATELIMITS": os.environ.get(
                "TESSERA_BENCH_RATELIMITS", '{"*": {"ip": null, "device": null}}'
            ),
            # The purchase bench measures the sale, not the bot defence: its clients are not
            # browsers and solve no proof of work, so risk control's automatic "under attack"
            # (a rate of joins and holds) stays off unless TESSERA_BENCH_RISK_ATTACK_RATE says
            # otherwise (the fairness group measures the defences).
            **defence_env(),
            **(extra_env or {}),
        }
        self.processes: list[subprocess.Popen] = []
        self._log = None

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start(self, *, timeout: float = 60.0) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        # ``python -m django serve`` is ``manage.py serve``; its command line just does not match
        # a ``pkill -f "manage.py serve"`` someone runs for their own server on a shared machine.
        django_admin = [sys.executable, "-m", "django"]
        self._spawn(
            [
                *django_admin,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.web_workers),
                "--threads",
                str(self.web_threads),
                "--task-workers",
                str(self.task_workers),
            ]
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"the server stopped while starting; see {self.log_path}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/api/v1/sessions/0/availability")
                connection.getresponse().read()
                connection.close()
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the server did not answer within {timeout:.0f} s; see {self.log_path}")

    def members(self) -> dict[int, str]:
        """pid → command line of every process in the server's sessions (children left
        behind by a parent that died keep the session)."""
        sessions = {p.pid for p in self.processes}
        found: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getsid(int(entry.name)) in sessions:
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    found[int(entry.name)] = cmdline
            except (OSError, UnicodeDecodeError):
                continue
        return found

    def pids(self) -> list[int]:
        """Every process of the server (serve, granian and its workers, task workers)."""
        return sorted(self.members())

    def problem(self) -> str | None:
        """Why the server is no longer whole (serve or a task worker gone, even if serve is
        about to start it again), else None."""
        if any(p.poll() is not None for p in self.processes):
            return f"a server process exited; see {self.log_path}"
        workers = sum("task_worker" in c for c in self.members().values())
        if workers < self.task_workers:
            return f"{self.task_workers - workers} task worker(s) gone; see {self.log_path}"
        return None

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Whatever is left (a granian worker whose parent died ignores SIGTERM) is killed.
        while self.members() and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in self.members():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for process in self.processes:
            process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Server:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
