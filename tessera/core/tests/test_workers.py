"""Task workers: heartbeat, the lease sweep and the request id, on both task backends —
django-tasks-db's table and RQ on the real Redis (database 11, a queue of the test's own).

The workers here run in the test's process (django-tasks-db's ``Worker`` in batch mode,
RQ's ``SimpleWorker`` in burst mode) so they share the test's database; the same code under
real processes killed with SIGKILL is ``test_faults.py``'s.
"""

import logging
import uuid
from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from rq import SimpleWorker

from tessera.core import requestid, workers
from tessera.core.models import WorkerHeartbeat
from tessera.core.taskbackends import Job
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.tasks import tidy_expired_holds
from tessera.inventory.tests.factories import make_buyer, make_sale

DATABASE_TASKS = {"default": {"BACKEND": "tessera.core.taskbackends.DatabaseBackend"}}


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = DATABASE_TASKS
    settings.TASK_LEASE_SECONDS = 60
    settings.TASK_MAX_ATTEMPTS = 3
    return settings


@pytest.fixture
def rq_tasks(settings, redis_url):
    """The RQ backend over a queue only this test uses (tasks are sent to it with
    ``.using(queue_name=…)``); its keys are removed afterwards."""
    queue_name = f"test-{uuid.uuid4().hex[:12]}"
    # "default" gives django-tasks-rq its connection for reading results; nothing goes there
    settings.RQ_QUEUES = {
        name: {"URL": redis_url, "DEFAULT_TIMEOUT": 60} for name in (queue_name, "default")
    }
    settings.TASKS = {
        "default": {
            "BACKEND": "tessera.core.taskbackends.RQBackend",
            "QUEUES": [queue_name],
        }
    }
    settings.TASK_LEASE_SECONDS = 60
    settings.TASK_MAX_ATTEMPTS = 3
    queue = django_rq.get_queue(queue_name, job_class=Job)
    yield queue
    redis = queue.connection
    for job_id in queue.get_job_ids() + queue.started_job_registry.get_job_ids(cleanup=False):
        redis.delete(f"rq:job:{job_id}")
    queue.empty()
    for key in redis.scan_iter(match=f"*{queue_name}*"):
        redis.delete(key)


def expired_hold(now):
    """Two places held by a fan whose hold expired a minute ago (still marked held)."""
    sale = make_sale(sections=1, rows=1, seats_per_row=4, now=now)
    unit_ids = list(sale.units().values_list("id", flat=True)[:2])
    hold = inventory.hold_units(session=sale.session, user=make_buyer(), unit_ids=unit_ids, now=now)
    past = now - timedelta(minutes=1)
    Hold.objects.filter(pk=hold.pk).update(expires_at=past)
    InventoryUnit.objects.filter(pk__in=unit_ids).update(hold_expires_at=past)
    return unit_ids


def held(unit_ids) -> int:
    return InventoryUnit.objects.filter(pk__in=unit_ids, status=UnitStatus.HELD).count()


def beat(worker_id: str, at) -> None:
    WorkerHeartbeat.objects.create(
        worker_id=worker_id, backend="database", host="h", pid=1, started_at=at, beat_at=at
    )


def claim(task_result, worker_id: str, at, *, earlier_claims: int = 0) -> None:
    """The task as a worker leaves it when it claims it (django-tasks-db's RUNNING row)."""
    DBTaskResult.objects.filter(pk=task_result.id).update(
        status=TaskResultStatus.RUNNING,
        started_at=at,
        worker_ids=[f"gone-{i}" for i in range(earlier_claims)] + [worker_id],
    )


def run_database_worker() -> None:
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-batch-worker",
        excluded_queue_names=[],
    ).run()


# -- the heartbeat ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_worker_beats_while_it_runs_and_removes_its_heartbeat_when_it_stops(database_tasks):
    # given a heartbeat of a worker, beating every 50 ms
    heartbeat = workers.Heartbeat(worker_id="w-1", backend="database", interval_seconds=0.05)

    # when it starts and runs for a while
    heartbeat.start()
    first = WorkerHeartbeat.objects.get(pk="w-1")
    import time

    time.sleep(0.3)
    later = WorkerHeartbeat.objects.get(pk="w-1")
    assert workers.fresh_workers(now=timezone.now()) == {"w-1"}
    heartbeat.stop()

    # then its row was written at once, kept fresh by the thread, and removed at the end
    assert (first.backend, first.pid) == ("database", __import__("os").getpid())
    assert later.beat_at > first.beat_at
    assert not WorkerHeartbeat.objects.exists()


# -- the lease on the database backend ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker closes connections in a transaction
def test_tasks_of_a_worker_whose_heartbeat_is_stale_go_back_to_the_queue_and_run(
    database_tasks, caplog
):
    # given an expired hold, and its tidy-up task claimed by a worker that died 2 minutes ago
    now = timezone.now()
    unit_ids = expired_hold(now)
    abandoned = tidy_expired_holds.enqueue()
    beat("dead", now - timedelta(minutes=2))
    claim(abandoned, "dead", now - timedelta(minutes=2))
    # and tasks the sweep must leave alone: one of a live worker, one claimed a moment ago
    # by a worker not yet known, one already done
    beat("alive", now - timedelta(seconds=5))
    busy, fresh_claim, done = (tidy_expired_holds.enqueue() for _ in range(3))
    claim(busy, "alive", now - timedelta(minutes=10))
    claim(fresh_claim, "starting", now - timedelta(seconds=10))
    DBTaskResult.objects.filter(pk=done.id).update(status=TaskResultStatus.SUCCESSFUL)

    # when the sweep runs
    swept = workers.requeue_abandoned_tasks(now=now)

    # then only the dead worker's task is ready again, and the dead worker is forgotten
    statuses = dict(DBTaskResult.objects.values_list("id", "status"))
    assert swept.requeued == [str(abandoned.id)] and swept.failed == []
    assert statuses[uuid.UUID(str(abandoned.id))] == TaskResultStatus.READY
    assert statuses[uuid.UUID(str(busy.id))] == TaskResultStatus.RUNNING
    assert statuses[uuid.UUID(str(fresh_claim.id))] == TaskResultStatus.RUNNING
    assert statuses[uuid.UUID(str(done.id))] == TaskResultStatus.SUCCESSFUL
    assert set(WorkerHeartbeat.objects.values_list("pk", flat=True)) == {"alive"}
    assert "put back in the queue" in caplog.text

    # and a worker runs it: the places are free again
    assert held(unit_ids) == 2
    run_database_worker()
    assert DBTaskResult.objects.get(pk=abandoned.id).status == TaskResultStatus.SUCCESSFUL
    assert held(unit_ids) == 0


@pytest.mark.django_db
def test_a_task_whose_workers_keep_dying_is_failed_after_the_last_attempt(database_tasks):
    # given a task claimed for the third time (TASK_MAX_ATTEMPTS) by a worker now dead
    now = timezone.now()
    task_result = tidy_expired_holds.enqueue()
    claim(task_result, "dead", now - timedelta(minutes=5), earlier_claims=2)

    # when the sweep runs
    swept = workers.requeue_abandoned_tasks(now=now)

    # then it is failed with the reason, not run a fourth time
    row = DBTaskResult.objects.get(pk=task_result.id)
    assert (swept.requeued, swept.failed) == ([], [str(task_result.id)])
    assert (row.status, row.exception_class_path) == (
        TaskResultStatus.FAILED,
        "tessera.core.workers.TaskAbandoned",
    )
    assert row.traceback == "3 workers died while running this task (last: dead)."


@pytest.mark.django_db(transaction=True)  # the worker closes connections in a transaction
def test_a_task_carries_the_request_id_into_the_worker_log(database_tasks, caplog):
    # given a task enqueued while answering request "req-abcdef12"
    with requestid.bound("req-abcdef12"):
        task_result = tidy_expired_holds.enqueue()
    assert DBTaskResult.objects.get(pk=task_result.id).args_kwargs == {
        "args": [],
        "kwargs": {},
        "request_id": "req-abcdef12",
    }

    # when a worker runs it
    caplog.set_level(logging.DEBUG, logger="tessera.tasks")
    run_database_worker()

    # then the worker's lines about it carry the id, and nothing of it is left afterwards
    lines = [r for r in caplog.records if r.name == "tessera.tasks"]
    assert [r.getMessage().split(":")[0] for r in lines] == [
        f"task {task_result.id} started",
        f"task {task_result.id} successful",
    ]
    assert {requestid_of(r) for r in lines} == {"req-abcdef12"}
    assert requestid.get() == ""


@pytest.mark.django_db(transaction=True)
def test_the_worker_console_is_quiet_unless_a_task_did_something_or_failed(database_tasks, caplog):
    # given a tidy-up with nothing to do, then one that frees two places
    now = timezone.now()
    tidy_expired_holds.enqueue()
    caplog.set_level(logging.INFO)
    run_database_worker()
    routine = [r for r in caplog.records if r.name.startswith(("tessera.tasks", "django_tasks"))]
    expired_hold(now)
    busy = tidy_expired_holds.enqueue()
    caplog.clear()
    run_database_worker()

    # then the routine run wrote nothing at INFO, the busy one one line with what it did
    assert [r.getMessage() for r in routine] == []
    (line,) = [r for r in caplog.records if r.name.startswith(("tessera.tasks", "django_tasks"))]
    assert (line.levelname, line.getMessage().split(": ", 1)[0]) == (
        "INFO",
        f"task {busy.id} successful",
    )
    assert line.getMessage().endswith("; result 2")


def requestid_of(record) -> str:
    from tessera.core.logs import RequestIdFilter

    RequestIdFilter().filter(record)
    return record.request_id


# -- the RQ backend on the real Redis -------------------------------------------------------------


@pytest.mark.django_db
def test_on_rq_a_task_goes_through_redis_and_a_worker_runs_it(rq_tasks, caplog):
    # given an expired hold, and its tidy-up task enqueued through RQ during a request
    now = timezone.now()
    unit_ids = expired_hold(now)
    with requestid.bound("req-rq-000001"):
        task_result = tidy_expired_holds.using(queue_name=rq_tasks.name).enqueue()

    # then it waits in Redis, as a job of Tessera's job class, with the request id
    job = rq_tasks.fetch_job(task_result.id)
    assert rq_tasks.count == 1
    assert job.meta["request_id"] == "req-rq-000001"
    assert held(unit_ids) == 2

    # when an RQ worker works the queue
    caplog.set_level(logging.INFO, logger="tessera.tasks")
    SimpleWorker([rq_tasks], connection=rq_tasks.connection, job_class=Job).work(burst=True)

    # then it ran: the places are free, the result is the task's, the log has the request id
    result = tidy_expired_holds.get_result(task_result.id)
    assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, 2)
    assert held(unit_ids) == 0
    lines = [r for r in caplog.records if r.name == "tessera.tasks"]
    assert {requestid_of(r) for r in lines} == {"req-rq-000001"}
    assert any("successful" in r.getMessage() for r in lines)


@pytest.mark.django_db
def test_on_rq_a_job_claimed_by_a_dead_worker_is_requeued_after_the_lease_and_runs(rq_tasks):
    # given a tidy-up job taken from the queue by a worker that then died (its claim is in
    # RQ's started registry; its heartbeat stopped)
    now = timezone.now()
    unit_ids = expired_hold(now)
    task_result = tidy_expired_holds.using(queue_name=rq_tasks.name).enqueue()
    dying = SimpleWorker([rq_tasks], connection=rq_tasks.connection, job_class=Job, name="dead")
    job, _queue = dying.dequeue_job_and_maintain_ttl(timeout=1)
    dying.prepare_execution(job)  # as RQ's worker does before it runs a job
    dying.prepare_job_execution(job)
    beat("dead", now - timedelta(seconds=5))
    assert rq_tasks.count == 0
    assert rq_tasks.started_job_registry.get_job_ids(cleanup=False) == [task_result.id]

    # when the sweep runs within the lease, nothing moves; after it, the job is queued again
    assert workers.requeue_abandoned_tasks(now=now).requeued == []
    later = now + timedelta(seconds=61)
    swept = workers.requeue_abandoned_tasks(now=later)

    # then it waits again (its claim gone), and a live worker runs it
    assert swept.requeued == [task_result.id]
    assert rq_tasks.started_job_registry.get_job_ids(cleanup=False) == []
    assert rq_tasks.get_job_ids() == [task_result.id]
    assert rq_tasks.fetch_job(task_result.id).meta["tessera_claims"] == 2
    SimpleWorker([rq_tasks], connection=rq_tasks.connection, job_class=Job).work(burst=True)
    assert tidy_expired_holds.get_result(task_result.id).status == TaskResultStatus.SUCCESSFUL
    assert held(unit_ids) == 0


@pytest.mark.django_db
def test_the_periodic_tasks_command_enqueues_each_periodic_task_once(database_tasks):
    from django.core.management import call_command

    call_command("enqueue_periodic_tasks", verbosity=0)

    queued = sorted(DBTaskResult.objects.values_list("task_path", flat=True))
    assert queued == sorted(database_tasks.PERIODIC_TASKS)
    assert "tessera.core.tasks.requeue_abandoned_tasks" in queued
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"READY"}
