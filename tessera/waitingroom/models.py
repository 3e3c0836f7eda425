"""The waiting room of an on-sale: one queue for a session or a group of sessions selling
together, and (database backend) its entries and the log of admission steps.

A fan's place is a *position*: pre-queue arrivals get one at opening, from the order of the
random key they drew when they joined; later arrivals get the next number. The admission
*watermark* is the highest position let in so far; positions are contiguous, so the
watermark is also the number of fans admitted. With Redis configured, entries, counters and
the watermark live in Redis (``backends.RedisBackend``) and the tables below stay empty but
for the room itself.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.core.i18n import BilingualMixin
from tessera.core.models import TimeStampedModel


class RoomStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    PREQUEUE = "prequeue", _("Pre-queue")
    OPEN = "open", _("Open")
    PAUSED = "paused", _("Paused")
    SOLD_OUT = "sold_out", _("Sold out")
    CLOSED = "closed", _("Closed")


class RateMode(models.TextChoices):
    FIXED = "fixed", _("Fixed rate")
    AUTOMATIC = "automatic", _("Automatic (follows capacity)")


# Statuses an organizer or the sale sets; the others follow the clock.
STICKY_STATUSES = (RoomStatus.PAUSED, RoomStatus.SOLD_OUT, RoomStatus.CLOSED)
ENDED_STATUSES = (RoomStatus.SOLD_OUT, RoomStatus.CLOSED)


class WaitingRoom(BilingualMixin, TimeStampedModel):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="waiting_rooms",
        verbose_name=_("organization"),
    )
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    sessions = models.ManyToManyField(
        "catalog.Session", related_name="waiting_rooms", verbose_name=_("sessions")
    )
    prequeue_opens_at = models.DateTimeField(_("pre-queue opens at"))
    opens_at = models.DateTimeField(_("on-sale opens at"))
    status = models.CharField(
        _("status"), max_length=10, choices=RoomStatus.choices, default=RoomStatus.SCHEDULED
    )
    rate_mode = models.CharField(
        _("admission rate"), max_length=10, choices=RateMode.choices, default=RateMode.FIXED
    )
    rate_per_minute = models.PositiveIntegerField(_("fans admitted per minute"), default=100)
    max_active_shoppers = models.PositiveIntegerField(_("maximum active shoppers"), default=500)
    pass_minutes = models.PositiveSmallIntegerField(_("admission pass minutes"), default=15)
    # The rate in force after the last advance (the fixed rate, or what the automatic mode
    # chose); fans' estimated wait divides by it.
    current_rate = models.PositiveIntegerField(_("current rate per minute"), default=0)
    # Database backend state (the Redis backend keeps these in Redis).
    watermark = models.BigIntegerField(_("admitted through position"), default=0)
    last_position = models.BigIntegerField(_("last position given"), default=0)
    prequeue_ordered_at = models.DateTimeField(_("pre-queue ordered at"), null=True, blank=True)
    last_advanced_at = models.DateTimeField(_("last advanced at"), null=True, blank=True)
    advance_lock_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("waiting room")
        verbose_name_plural = _("waiting rooms")
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens_at__gte=models.F("prequeue_opens_at")),
                name="waitingroom_opens_after_prequeue",
            ),
            models.CheckConstraint(
                condition=models.Q(pass_minutes__gte=1) & models.Q(max_active_shoppers__gte=1),
                name="waitingroom_rules_positive",
            ),
        ]

    def state_at(self, now) -> str:
        """The status in force at ``now``: a paused, sold-out or closed room stays so;
        otherwise the clock decides between scheduled, pre-queue and open."""
        if self.status in STICKY_STATUSES:
            return self.status
        if now < self.prequeue_opens_at:
            return RoomStatus.SCHEDULED
        if now < self.opens_at:
            return RoomStatus.PREQUEUE
        return RoomStatus.OPEN

    def state_label_at(self, now) -> str:
        """The state in force at ``now`` in words, as the list and the live page show it."""
        return RoomStatus(self.state_at(now)).label

    @property
    def can_pause(self) -> bool:
        """Admission can be paused: the room is neither paused already nor ended."""
        return self.status not in STICKY_STATUSES

    @property
    def can_resume(self) -> bool:
        return self.status in (RoomStatus.PAUSED, RoomStatus.SOLD_OUT)

    @property
    def can_close(self) -> bool:
        return self.status != RoomStatus.CLOSED

    @property
    def shown_rate(self) -> int:
        """The rate fans and organizers are told: the last step's, else the fixed one
        (0 in automatic mode before any step)."""
        return self.current_rate or (
            self.rate_per_minute if self.rate_mode == RateMode.FIXED else 0
        )


class QueueEntry(models.Model):
    """One account's place in one room (database backend)."""

    room = models.ForeignKey(
        WaitingRoom, on_delete=models.CASCADE, related_name="entries", verbose_name=_("room")
    )
    user_id = models.BigIntegerField(_("account"))
    random_key = models.BigIntegerField(_("random key"))
    # 0 until the pre-queue is ordered at opening.
    position = models.BigIntegerField(_("position"), default=0)
    joined_at = models.DateTimeField(_("joined at"))

    class Meta:
        verbose_name = _("queue entry")
        verbose_name_plural = _("queue entries")
        constraints = [
            models.UniqueConstraint(fields=["room", "user_id"], name="uniq_entry_per_account"),
            models.UniqueConstraint(
                fields=["room", "position"],
                condition=models.Q(position__gt=0),
                name="uniq_entry_position",
            ),
        ]


class AdmissionStep(models.Model):
    """The watermark reached at a moment (database backend): when a position was admitted,
    so a pass expires a fixed time after admission however often the fan asks."""

    room = models.ForeignKey(WaitingRoom, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField()
    watermark = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["room", "watermark"], name="wr_step_room_wm")]
