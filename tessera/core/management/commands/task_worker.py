"""Run one task worker of the configured backend, with a heartbeat and the lease sweep.

``manage.py task_worker`` is what ``manage.py serve`` starts (``--task-workers`` of them) and
what a task-worker machine runs under systemd (docs/operations.md). The backend follows
``settings.TASKS``: django-tasks-db's polling worker, or an RQ ``SimpleWorker`` (tasks run in
this process, no fork per task) when tasks go through Redis. Before it takes any task the
worker writes its heartbeat and puts back in the queue the tasks of dead workers
(``core.workers``). SIGTERM or SIGINT: the task running finishes, then the worker stops and
removes its heartbeat.
"""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand
from django.utils import timezone

from tessera.core import workers

logger = logging.getLogger("tessera.tasks")


class Command(BaseCommand):
    help = "Run a task worker (database or RQ backend) with a heartbeat."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help="Database backend: seconds between polls of an empty queue (0.5).",
        )
        parser.add_argument(
            "--queue-name",
            default="default",
            help="Comma-separated queues to take tasks from (default: 'default').",
        )
        parser.add_argument("--worker-id", default=None, help="Default: host-pid-random.")

    def handle(self, *args, interval, queue_name, worker_id, verbosity, **options):
        worker_id = worker_id or workers.new_worker_id()
        kind = workers.backend_kind()
        heartbeat = workers.Heartbeat(worker_id=worker_id, backend=kind)
        heartbeat.start()
        try:
            swept = workers.requeue_abandoned_tasks(now=timezone.now())
            logger.info(
                "task worker %s (%s) started; %d abandoned tasks put back",
                worker_id,
                kind,
                len(swept.requeued),
            )
            queues = [name for name in queue_name.split(",") if name]
            if kind == "rq":
                self._run_rq(worker_id, queues, verbosity)
            else:
                self._run_database(worker_id, queues, interval)
        finally:
            heartbeat.stop()

    def _run_database(self, worker_id: str, queues: list[str], interval: float) -> None:
        from django_tasks_db.management.commands.db_worker import Worker

        worker = Worker(
            queue_names=queues,
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        worker.configure_signals()
        worker.run()

    def _run_rq(self, worker_id: str, queues: list[str], verbosity: int) -> None:
        import django_rq
        from rq import SimpleWorker

        from tessera.core.taskbackends import Job

        rq_queues = [django_rq.get_queue(name, job_class=Job) for name in queues]
        worker = SimpleWorker(
            rq_queues, connection=rq_queues[0].connection, job_class=Job, name=worker_id
        )
        # RQ's own line per job is quiet unless TESSERA_LOG_LEVEL=DEBUG (settings.LOGGING:
        # the worker's console says only what happened). No scheduler process: Tessera
        # enqueues no deferred (run_after) task.
        level = logging.getLevelName(logging.getLogger("rq.worker").getEffectiveLevel())
        worker.work(with_scheduler=False, logging_level=level if verbosity else "WARNING")
