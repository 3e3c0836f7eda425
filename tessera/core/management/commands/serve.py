"""Serve Tessera with the production WSGI server and the background task worker.

One command for one machine: granian (WSGI, bounded threads) plus a django-tasks-db
worker, both children of this process. Ctrl-C (SIGINT) or SIGTERM stops both; if either
exits, the other is stopped too.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

# How often the periodic tidy-up tasks are handed to the worker. Correctness never depends
# on them (expired holds are free to others at once); they keep rows and statuses tidy.
HOUSEKEEPING_SECONDS = 60


class Command(BaseCommand):
    help = "Serve the web app (granian WSGI) together with the background task worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("TESSERA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("TESSERA_PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("TESSERA_WEB_WORKERS", "1"))
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("TESSERA_WEB_THREADS", "8")),
            help="Blocking threads per worker; keep at or below the database pool size.",
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="Do not start the task worker."
        )

    def handle(self, *args, host, port, workers, threads, no_worker, **options):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tessera.settings"),
        }
        # Payment gateways call back (and send buyers back) to this address unless told.
        env.setdefault("TESSERA_PUBLIC_URL", f"http://{host}:{port}")
        web_cmd = [
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
            "tessera.wsgi:application",
        ]
        worker_cmd = [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.5"]
        children: list[subprocess.Popen] = [subprocess.Popen(web_cmd, env=env)]  # noqa: S603
        if not no_worker:
            children.append(subprocess.Popen(worker_cmd, env=env))  # noqa: S603
        self.stdout.write(
            self.style.SUCCESS(
                f"Tessera is serving on http://{host}:{port}/  (Ctrl-C stops the web server"
                f"{'' if no_worker else ' and the task worker'})"
            )
        )

        stopping = False

        def stop(signum=None, frame=None):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        next_housekeeping = time.monotonic() + 5
        try:
            while not stopping and all(c.poll() is None for c in children):
                if not no_worker and time.monotonic() >= next_housekeeping:
                    self._enqueue_housekeeping()
                    next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
                time.sleep(0.2)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            raise SystemExit(1)

    def _enqueue_housekeeping(self) -> None:
        """Hand the tasks named in ``settings.PERIODIC_TASKS`` to the worker."""
        for path in settings.PERIODIC_TASKS:
            try:
                import_string(path).enqueue()
            except Exception as exc:
                self.stderr.write(f"{path} not enqueued: {exc}")
