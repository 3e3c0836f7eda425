"""Tessera's task backends: django-tasks-db's and django-tasks-rq's, with the request id of
the request that enqueued a task stored with it (``core.requestid``), so the worker that
runs it logs the same id.

``settings.TASKS`` names one of them: ``DatabaseBackend`` (the default; workers poll the
``django_tasks_db`` table) or ``RQBackend`` (when Redis is configured; tasks are RQ jobs).
Workers of either kind are ``manage.py task_worker`` (``core.workers``).
"""

from __future__ import annotations

from typing import Any

import django_rq
from django_tasks.base import TASK_MAX_PRIORITY, TaskResult, TaskResultStatus
from django_tasks.signals import task_enqueued
from django_tasks.utils import get_random_id
from django_tasks_db.backend import DatabaseBackend as _DatabaseBackend
from django_tasks_db.compat import normalize_json
from django_tasks_rq.backend import Job as _RQJob
from django_tasks_rq.backend import RQBackend as _RQBackend
from django_tasks_rq.backend import failed_callback, success_callback
from rq.job import Callback, JobStatus

from tessera.core import requestid

# Where the request id travels: a key beside "args" and "kwargs" in django-tasks-db's JSON
# column, a key of the RQ job's meta.
REQUEST_ID_KEY = "request_id"


class DatabaseBackend(_DatabaseBackend):
    """django-tasks-db's backend; the task's row also holds the request id (same INSERT)."""

    def _task_to_db_task(self, task, args, kwargs):
        from django_tasks_db.models import DBTaskResult

        stored: dict[str, Any] = {"args": args, "kwargs": kwargs}
        if request_id := requestid.get():
            stored[REQUEST_ID_KEY] = request_id
        return DBTaskResult.objects.create(
            id=self._get_id(),
            args_kwargs=normalize_json(stored),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after,
            backend_name=self.alias,
        )


class Job(_RQJob):
    """The RQ job class of Tessera's workers: the request id stored with the job becomes
    this thread's while the task runs (``workers``' task signals; its log lines carry it)."""

    def perform(self) -> Any:
        from tessera.core.workers import expect_request_id, note_return_value

        expect_request_id(self.meta.get(REQUEST_ID_KEY, ""))
        value = super().perform()
        # RQ's success callback (where the task-finished signal goes out) has no return value
        # on the task result yet; the worker's log line says what the task did.
        note_return_value(value)
        return value


class RQBackend(_RQBackend):
    """django-tasks-rq's backend; the job's meta also holds the request id."""

    def enqueue(self, task, args, kwargs) -> TaskResult:
        self.validate_task(task)
        result: TaskResult = TaskResult(
            task=task,
            id=get_random_id(),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        meta = {"backend_name": self.alias}
        if request_id := requestid.get():
            meta[REQUEST_ID_KEY] = request_id
        queue = django_rq.get_queue(task.queue_name, job_class=Job)
        job = queue.create_job(
            task.module_path,
            args=args,
            kwargs=kwargs,
            job_id=result.id,
            status=JobStatus.SCHEDULED if task.run_after else JobStatus.QUEUED,
            on_failure=Callback(failed_callback),
            on_success=Callback(success_callback),
            meta=meta,
        )
        if task.run_after is None:
            job = queue.enqueue_job(job, at_front=task.priority == TASK_MAX_PRIORITY)
        else:
            job = queue.schedule_job(job, task.run_after)
        object.__setattr__(result, "enqueued_at", job.enqueued_at)
        task_enqueued.send(type(self), task_result=result)
        return result
