from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class AuditEntry(models.Model):
    """Append-only record of who changed what. Written by services, never edited."""

    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    organization_id = models.BigIntegerField(
        _("organization"), null=True, blank=True, db_index=True
    )
    action = models.CharField(_("action"), max_length=80)
    object_type = models.CharField(_("object type"), max_length=80)
    object_id = models.CharField(_("object id"), max_length=64)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"


class IdempotencyRecord(models.Model):
    """The stored answer to a POST that carried an ``Idempotency-Key``.

    A repeat with the same key and the same body gets the stored answer; the same key with a
    different body is refused.
    """

    user_id = models.BigIntegerField(_("user"))
    scope = models.CharField(_("scope"), max_length=60)
    key = models.CharField(_("key"), max_length=120)
    request_hash = models.CharField(_("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"))
    response = models.JSONField(_("response"))
    created_at = models.DateTimeField(_("created at"), db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user_id", "scope", "key"], name="uniq_idempotency"),
        ]


class WorkerHeartbeat(models.Model):
    """A running task worker, as it last reported itself (``core.workers``).

    Each worker process writes its row when it starts and every ``WORKER_HEARTBEAT_SECONDS``
    from a thread of its own (so a long task does not stop it) and deletes it when it stops
    cleanly. A row older than ``TASK_LEASE_SECONDS`` is a worker that died (SIGKILL, a lost
    machine): the tasks it had claimed are put back in the queue by
    ``workers.requeue_abandoned_tasks``.
    """

    worker_id = models.CharField(_("worker"), max_length=64, primary_key=True)
    backend = models.CharField(_("task backend"), max_length=20)
    host = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"))
    beat_at = models.DateTimeField(_("last heartbeat at"), db_index=True)

    class Meta:
        verbose_name = _("task worker")
        verbose_name_plural = _("task workers")

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.host}:{self.pid})"
