"""Task workers: their heartbeat, the lease on the tasks they claim, and what a task logs.

A worker (``manage.py task_worker``, started by ``manage.py serve`` or a systemd unit) runs
the configured backend's loop — django-tasks-db's polling worker, or an RQ ``SimpleWorker``
when tasks go through Redis — and a ``Heartbeat`` thread that writes the worker's
``WorkerHeartbeat`` row at start and every ``WORKER_HEARTBEAT_SECONDS`` (a long task does not
stop it; only the process's death does).

The lease: a task claimed by a worker stays claimed (django-tasks-db's RUNNING row, RQ's
started-job registry) only while that worker's heartbeat is younger than
``TASK_LEASE_SECONDS``. ``requeue_abandoned_tasks`` — run by every worker as it starts and
by the periodic task ``core.tasks.requeue_abandoned_tasks`` — puts the tasks of a worker
whose heartbeat is older (or missing, once the claim itself is older than the lease) back in
the queue, where another worker runs them again. Tessera's tasks are idempotent, so a task
that a dying worker had half done is safe to run again. A task claimed
``TASK_MAX_ATTEMPTS`` times by workers that all died is marked failed instead (it may be
what kills them).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import task_backends
from django_tasks.signals import task_finished, task_started

from tessera.core import requestid
from tessera.core.models import WorkerHeartbeat

logger = logging.getLogger("tessera.tasks")

ABANDONED_ERROR = "tessera.core.workers.TaskAbandoned"


class TaskAbandoned(Exception):
    """Recorded as the error of a task whose workers kept dying while running it."""


def backend_kind() -> str:
    """ "rq" when the default task backend is RQ, else "database"."""
    from tessera.core.taskbackends import RQBackend

    return "rq" if isinstance(task_backends["default"], RQBackend) else "database"


def new_worker_id() -> str:
    """Unique across machines and restarts, at most 64 characters (django-tasks-db's limit)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"


def lease() -> timedelta:
    return timedelta(seconds=settings.TASK_LEASE_SECONDS)


# -- the heartbeat --------------------------------------------------------------------------


class Heartbeat:
    """The ``WorkerHeartbeat`` row of one worker process, kept fresh by a daemon thread."""

    def __init__(self, *, worker_id: str, backend: str, interval_seconds: float | None = None):
        self.worker_id = worker_id
        self.backend = backend
        self.interval_seconds = (
            settings.WORKER_HEARTBEAT_SECONDS if interval_seconds is None else interval_seconds
        )
        self.started_at = timezone.now()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        """Write the row (again, if someone removed it)."""
        now = timezone.now()
        updated = WorkerHeartbeat.objects.filter(pk=self.worker_id).update(beat_at=now)
        if not updated:
            WorkerHeartbeat.objects.update_or_create(
                worker_id=self.worker_id,
                defaults={
                    "backend": self.backend,
                    "host": socket.gethostname()[:255],
                    "pid": os.getpid(),
                    "started_at": self.started_at,
                    "beat_at": now,
                },
            )

    def start(self) -> None:
        """Beat once now (so the worker is known before it claims anything), then from a
        thread every ``interval_seconds``."""
        self.beat()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval_seconds):
                try:
                    self.beat()
                except Exception:  # the database may be away for a while: beat again later
                    logger.warning("worker %s: heartbeat failed", self.worker_id, exc_info=True)
                    connection.close()
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop beating and remove the row: a worker that stops cleanly holds no task."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_seconds + 5)
        try:
            WorkerHeartbeat.objects.filter(pk=self.worker_id).delete()
        except Exception:
            logger.warning("worker %s: heartbeat row not removed", self.worker_id, exc_info=True)


def fresh_workers(*, now: datetime) -> set[str]:
    """Ids of the workers whose heartbeat is younger than the lease."""
    return set(
        WorkerHeartbeat.objects.filter(beat_at__gte=now - lease()).values_list(
            "worker_id", flat=True
        )
    )


# -- the lease ------------------------------------------------------------------------------


@dataclass
class Swept:
    requeued: list[str]
    failed: list[str]

    def as_dict(self) -> dict:
        return {"requeued": len(self.requeued), "failed": len(self.failed)}


def requeue_abandoned_tasks(*, now: datetime) -> Swept:
    """Put back in the queue every task claimed by a worker whose heartbeat is older than
    the lease (a claim by a worker without any heartbeat row counts once the claim is older
    than the lease); a task already claimed ``TASK_MAX_ATTEMPTS`` times is marked failed.
    Then forget heartbeat rows older than the lease. Returns the tasks' ids."""
    fresh = fresh_workers(now=now)
    if backend_kind() == "rq":
        swept = _sweep_rq(now=now, fresh=fresh)
    else:
        swept = _sweep_database(now=now, fresh=fresh)
    WorkerHeartbeat.objects.filter(beat_at__lt=now - lease()).delete()
    for task_id in swept.requeued:
        logger.warning("task %s: its worker stopped beating; put back in the queue", task_id)
    for task_id in swept.failed:
        logger.error("task %s: abandoned %d times; marked failed", task_id, _max_attempts())
    return swept


def _max_attempts() -> int:
    return settings.TASK_MAX_ATTEMPTS


def _sweep_database(*, now: datetime, fresh: set[str]) -> Swept:
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    alias = task_backends["default"].alias
    swept = Swept([], [])
    claimed = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, backend_name=alias
    ).values_list("id", "worker_ids", "started_at")
    for task_id, worker_ids, started_at in claimed:
        worker = worker_ids[-1] if worker_ids else ""
        if worker in fresh or (started_at is not None and started_at > now - lease()):
            continue
        # Conditional on the claim still being the one looked at: a worker that finished it
        # meanwhile, or another sweep, wins.
        still = DBTaskResult.objects.filter(
            pk=task_id, status=TaskResultStatus.RUNNING, started_at=started_at
        )
        with transaction.atomic():
            if len(worker_ids) >= _max_attempts():
                if still.update(
                    status=TaskResultStatus.FAILED,
                    finished_at=now,
                    exception_class_path=ABANDONED_ERROR,
                    traceback=f"{len(worker_ids)} workers died while running this task "
                    f"(last: {worker}).",
                ):
                    swept.failed.append(str(task_id))
            elif still.update(status=TaskResultStatus.READY, started_at=None):
                swept.requeued.append(str(task_id))
    return swept


def _sweep_rq(*, now: datetime, fresh: set[str]) -> Swept:
    import django_rq
    from rq.executions import Execution
    from rq.job import JobStatus

    from tessera.core.taskbackends import Job

    swept = Swept([], [])
    for name in sorted(task_backends["default"].queues):
        queue = django_rq.get_queue(name, job_class=Job)
        redis = queue.connection
        registry = queue.started_job_registry
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            execution = Execution(execution_id, job_id, connection=redis)
            try:
                execution.refresh()
                worker, claimed_at = execution.worker_name, execution.created_at
            except ValueError:
                # The execution's record is gone: its worker finished the job just now (and
                # took the registry entry with it, checked below), or died long ago.
                worker, claimed_at = "", None
            if worker in fresh or (claimed_at is not None and claimed_at > now - lease()):
                continue
            # Taking the entry out of the registry is the claim on it: a worker that finished
            # the job meanwhile (or another sweep) has taken it already.
            if not redis.zrem(registry.key, execution.composite_key):
                continue
            redis.delete(execution.key)
            job = queue.fetch_job(job_id)
            if job is None or job.get_status() != JobStatus.STARTED:
                continue
            attempts = int(job.meta.get("tessera_claims", 1))
            if attempts >= _max_attempts():
                with redis.pipeline() as pipeline:
                    job.set_status(JobStatus.FAILED, pipeline=pipeline)
                    queue.failed_job_registry.add(
                        job,
                        exc_string=f"{attempts} workers died while running this task.",
                        pipeline=pipeline,
                    )
                    pipeline.execute()
                swept.failed.append(job_id)
                continue
            job.meta["tessera_claims"] = attempts + 1
            job.save_meta()
            queue.enqueue_job(job)
            swept.requeued.append(job_id)
    return swept


# -- what a task logs -----------------------------------------------------------------------

_running = threading.local()


def expect_request_id(request_id: str) -> None:
    """The request id of the task about to start in this thread (RQ's job class says it;
    django-tasks-db's row carries it)."""
    _running.expected = request_id


def _task_started(sender, task_result, **kwargs) -> None:
    """A task begins in this thread: its request id becomes this thread's until it ends,
    and a line says so."""
    db_result = getattr(task_result, "db_result", None)
    stored = getattr(_running, "expected", "")
    _running.expected = ""
    if db_result is not None and isinstance(db_result.args_kwargs, dict):
        stored = db_result.args_kwargs.get("request_id", "")
    stack = getattr(_running, "stack", None)
    if stack is None:
        stack = _running.stack = []
    stack.append((requestid.bind(stored or requestid.get()), time.perf_counter()))
    # Routine runs (the periodic tasks every minute) stay out of the console: DEBUG.
    logger.debug("task %s started: %s", task_result.id, task_result.task.module_path)


def _task_finished(sender, task_result, **kwargs) -> None:
    from tessera.core import metrics

    stack = getattr(_running, "stack", None) or []
    token, started = stack.pop() if stack else (None, None)
    seconds = time.perf_counter() - started if started is not None else None
    outcome = str(task_result.status).lower()
    metrics.observe_task(task_result.task.module_path, outcome, seconds)
    did = _what_it_did(task_result) if outcome == "successful" else ""
    # The console stays quiet unless something happens: a failure is a WARNING, a run that
    # did something (returned a count above zero, or any other value) INFO, the rest DEBUG.
    if outcome != "successful":
        log = logger.warning
    elif did:
        log = logger.info
    else:
        log = logger.debug
    log(
        "task %s %s: %s%s%s",
        task_result.id,
        outcome,
        task_result.task.module_path,
        f" in {seconds * 1000:.0f} ms" if seconds is not None else "",
        f"; result {did}" if did else "",
    )
    if token is not None:
        requestid.unbind(token)


_NOTHING_NOTED = object()


def note_return_value(value) -> None:
    """The return value of the task that just ran in this thread, for a backend whose
    task-finished signal carries none (RQ's success callback)."""
    _running.returned = value


def _is_nothing(value) -> bool:
    """None, zero, empty, or a mapping/sequence of only such values ({"requeued": 0})."""
    if isinstance(value, dict):
        return all(_is_nothing(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_is_nothing(v) for v in value)
    return not value


def _what_it_did(task_result) -> str:
    """A successful task's return value as a short text, empty when it did nothing (None,
    zero, an empty collection)."""
    value = getattr(_running, "returned", _NOTHING_NOTED)
    _running.returned = _NOTHING_NOTED
    if value is _NOTHING_NOTED:
        try:
            value = task_result.return_value
        except Exception:  # a backend that keeps no return value
            return ""
    if _is_nothing(value):
        return ""
    text = repr(value)
    return text if len(text) <= 200 else text[:199] + "…"


def connect_signals() -> None:
    task_started.connect(_task_started, dispatch_uid="tessera.core.workers.started")
    task_finished.connect(_task_finished, dispatch_uid="tessera.core.workers.finished")


# -- the periodic tasks ---------------------------------------------------------------------


def enqueue_periodic_tasks() -> dict[str, str]:
    """Hand every task of ``settings.PERIODIC_TASKS`` to the workers once; path → the task
    result's id, or the error that kept it out of the queue. ``manage.py serve`` calls it
    every ``TESSERA_HOUSEKEEPING_SECONDS``; machines without ``serve``'s workers run
    ``manage.py enqueue_periodic_tasks`` from a timer (docs/operations.md). Running it on
    several machines at once is harmless: every periodic task is idempotent."""
    from django.utils.module_loading import import_string

    outcome = {}
    for path in settings.PERIODIC_TASKS:
        try:
            outcome[path] = str(import_string(path).enqueue().id)
        except Exception as exc:
            outcome[path] = f"not enqueued: {exc}"
            logger.error("%s not enqueued: %s", path, exc)
    return outcome
