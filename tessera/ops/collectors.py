"""Figures read from the database (and Redis) when ``/metrics`` is scraped.

They describe shared state, so any web process answers the same; reading them costs a few
aggregate queries per scrape (every 15 s or so), nothing on the request path. On several
web machines every one reports them: aggregate them with ``max`` (not ``sum``) across
instances.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Min, Q, Sum
from django_tasks import task_backends
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from tessera.core import workers
from tessera.core.models import WorkerHeartbeat


class StateCollector:
    """A prometheus-client collector over the database; ``now`` is read per scrape."""

    def __init__(self, now: datetime):
        self.now = now

    def describe(self):
        return []

    def collect(self):
        yield from self._tasks()
        yield from self._sale()
        yield from self._waiting_rooms()

    # -- tasks ---------------------------------------------------------------------------------

    def _tasks(self):
        depth = GaugeMetricFamily(
            "tessera_task_queue_depth", "Tasks waiting for a worker, by queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "tessera_task_queue_oldest_age_seconds",
            "Age of the oldest task waiting for a worker, by queue (0 when none waits).",
            labels=["queue"],
        )
        running = GaugeMetricFamily(
            "tessera_tasks_running", "Tasks claimed by a worker and not finished."
        )
        if workers.backend_kind() == "rq":
            waiting, claimed = self._rq_queues()
        else:
            waiting, claimed = self._database_queues()
        for queue, (count, oldest) in sorted(waiting.items()):
            depth.add_metric([queue], count)
            age.add_metric(
                [queue], max(0.0, (self.now - oldest).total_seconds()) if oldest else 0.0
            )
        running.add_metric([], claimed)
        alive = GaugeMetricFamily(
            "tessera_task_workers_alive",
            "Task workers whose heartbeat is younger than the lease.",
        )
        alive.add_metric([], len(workers.fresh_workers(now=self.now)))
        last_beat = WorkerHeartbeat.objects.aggregate(at=Min("beat_at"))["at"]
        stalest = GaugeMetricFamily(
            "tessera_task_worker_heartbeat_oldest_age_seconds",
            "Age of the stalest worker heartbeat on record (a dead worker's until swept).",
        )
        stalest.add_metric([], (self.now - last_beat).total_seconds() if last_beat else 0.0)
        yield from (depth, age, running, alive, stalest)

    def _database_queues(self):
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        alias = task_backends["default"].alias
        rows = (
            DBTaskResult.objects.ready()
            .filter(backend_name=alias)
            .values("queue_name")
            .annotate(n=Count("id"), oldest=Min("enqueued_at"))
        )
        waiting = {"default": (0, None)} | {
            row["queue_name"]: (row["n"], row["oldest"]) for row in rows
        }
        claimed = DBTaskResult.objects.filter(
            backend_name=alias, status=TaskResultStatus.RUNNING
        ).count()
        return waiting, claimed

    def _rq_queues(self):
        import django_rq

        from tessera.core.taskbackends import Job

        waiting, claimed = {}, 0
        for name in sorted(task_backends["default"].queues):
            queue = django_rq.get_queue(name, job_class=Job)
            first = queue.get_job_ids(0, 0)
            job = queue.fetch_job(first[0]) if first else None
            oldest = job.enqueued_at if job is not None else None
            if oldest is not None and oldest.tzinfo is None:
                from datetime import UTC

                oldest = oldest.replace(tzinfo=UTC)
            waiting[name] = (queue.count, oldest)
            claimed += queue.started_job_registry.get_job_count(cleanup=False)
        return waiting, claimed

    # -- the sale ------------------------------------------------------------------------------

    def _sale(self):
        from tessera.inventory.models import Hold, HoldStatus
        from tessera.orders.models import Order
        from tessera.payments.models import CallbackLog
        from tessera.tickets.models import Ticket

        live = Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__gt=self.now).aggregate(
            holds=Count("id"), places=Sum("quantity")
        )
        holds = GaugeMetricFamily("tessera_holds_active", "Holds not yet expired nor used.")
        holds.add_metric([], live["holds"] or 0)
        held = GaugeMetricFamily("tessera_holds_active_places", "Places in active holds.")
        held.add_metric([], live["places"] or 0)

        orders = GaugeMetricFamily("tessera_orders", "Orders by status.", labels=["status"])
        for status, count in (
            Order.objects.values_list("status").annotate(n=Count("id")).order_by("status")
        ):
            orders.add_metric([status], count)

        tickets = Ticket.objects.aggregate(
            issued=Count("id"), valid=Count("id", filter=Q(status="valid"))
        )
        sold = CounterMetricFamily(
            "tessera_tickets_sold", "Tickets issued since the platform began (refunds included)."
        )
        sold.add_metric([], tickets["issued"])
        valid = GaugeMetricFamily("tessera_tickets_valid", "Tickets issued and not revoked.")
        valid.add_metric([], tickets["valid"])

        callbacks = CounterMetricFamily(
            "tessera_payment_callbacks",
            "Payment callbacks received (and reconciliations applied), by provider and outcome.",
            labels=["provider", "outcome"],
        )
        for provider, outcome, count in (
            CallbackLog.objects.values_list("provider", "outcome")
            .annotate(n=Count("id"))
            .order_by("provider", "outcome")
        ):
            callbacks.add_metric([provider, outcome], count)
        yield from (holds, held, orders, sold, valid, callbacks)

    # -- waiting rooms -------------------------------------------------------------------------

    def _waiting_rooms(self):
        from tessera.waitingroom.backends import get_backend
        from tessera.waitingroom.models import ENDED_STATUSES, WaitingRoom

        queued = GaugeMetricFamily(
            "tessera_waitingroom_queued",
            "Fans in an on-sale's queue not yet admitted (pre-queue included).",
            labels=["room", "name"],
        )
        admitted = CounterMetricFamily(
            "tessera_waitingroom_admitted",
            "Queue positions admitted so far (the watermark); rate() of it is the admission rate.",
            labels=["room", "name"],
        )
        rate = GaugeMetricFamily(
            "tessera_waitingroom_rate_per_minute",
            "The admission rate in force (fans per minute).",
            labels=["room", "name"],
        )
        backend = get_backend()
        rooms = WaitingRoom.objects.exclude(status__in=ENDED_STATUSES).order_by("pk")
        for room in rooms:
            counters = backend.counters(room.pk, with_entries=True)
            unordered = 0 if counters.is_ordered else counters.entries - counters.last_position
            waiting = max(0, counters.last_position - counters.watermark) + max(0, unordered)
            labels = [str(room.pk), room.name]
            queued.add_metric(labels, waiting)
            admitted.add_metric(labels, counters.watermark)
            rate.add_metric(labels, room.shown_rate)
        yield from (queued, admitted, rate)
