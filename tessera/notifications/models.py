"""The outbox of messages to people, its delivery log, the in-app inbox, each person's
choice of channels, organizers' announcements and the high-water marks of derived messages.

A ``Message`` is one message to one address over one channel. It is written in the same
transaction as the change that causes it (``services.notify``), so a rolled-back change
leaves no message; a worker delivers it afterwards (``delivery.deliver_due``). Its ``key``
is unique: recording the same event twice records one message, and the key travels to the
provider as the idempotency key of the send.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")
    INBOX = "inbox", _("Inbox")


class Kind(models.TextChoices):
    ORDER_PAID = "order_paid", _("Order paid, tickets ready")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    HOLD_EXPIRING = "hold_expiring", _("Places about to be released")
    REFUND_APPROVED = "refund_approved", _("Refund approved")
    REFUND_REJECTED = "refund_rejected", _("Refund refused")
    EXCHANGE_COMPLETED = "exchange_completed", _("Exchange completed")
    TRANSFER_RECEIVED = "transfer_received", _("Ticket sent to you")
    WAITLIST_OFFER = "waitlist_offer", _("Waiting list offer")
    SESSION_POSTPONED = "session_postponed", _("Session postponed")
    SESSION_CANCELLED = "session_cancelled", _("Session cancelled")
    SESSION_MOVED = "session_moved", _("Session moved")
    REMINDER_24H = "reminder_24h", _("Reminder a day before")
    REMINDER_2H = "reminder_2h", _("Reminder two hours before")
    PASSWORD_RESET = "password_reset", _("Password reset")
    ANNOUNCEMENT = "announcement", _("Announcement")
    PARTNER_APPLICATION = "partner_application", _("Partner application decided")
    PARTNER_INVITATION = "partner_invitation", _("Invitation to a partner organization")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("waiting to be sent")
    SENDING = "sending", _("being sent")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class Message(models.Model):
    id = models.BigAutoField(primary_key=True)
    key = models.CharField(_("idempotency key"), max_length=160, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("recipient"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=254, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    is_marketing = models.BooleanField(_("marketing"), default=False)
    language = models.CharField(_("language"), max_length=10)
    context = models.JSONField(_("context"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"))
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    claimed_by = models.CharField(_("claimed by"), max_length=40, blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    provider_reference = models.CharField(_("provider reference"), max_length=120, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    announcement = models.ForeignKey(
        "Announcement",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("announcement"),
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notif_due"),
            models.Index(fields=["user", "channel", "read_at"], name="notif_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.address or self.user_id} ({self.channel})"


class AttemptOutcome(models.TextChoices):
    SENT = "sent", _("sent")
    ALREADY_SENT = "already_sent", _("already sent (provider kept the first)")
    FAILED = "failed", _("failed")


class DeliveryAttempt(models.Model):
    """The delivery log: one row per attempt to hand a message to its provider."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("message")
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    provider = models.CharField(_("provider"), max_length=40)
    outcome = models.CharField(_("outcome"), max_length=15, choices=AttemptOutcome.choices)
    provider_reference = models.CharField(_("provider reference"), max_length=120, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery log")
        ordering = ["message_id", "number"]


class Preference(models.Model):
    """How a person wants to hear from Tessera. Transactional messages always go to the
    inbox and by email; text messages only when ``sms_enabled``. Marketing goes where the
    person allowed it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preference",
        verbose_name=_("person"),
    )
    sms_enabled = models.BooleanField(_("text messages"), default=False)
    marketing_email = models.BooleanField(_("news and offers by email"), default=True)
    marketing_sms = models.BooleanField(_("news and offers by text message"), default=False)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")


class SmsSandboxRecord(models.Model):
    """What the sandbox SMS provider accepted: the stand-in for a provider's own records.
    Written in its own transaction, as a remote provider would; unique by idempotency key."""

    key = models.CharField(_("idempotency key"), max_length=160, unique=True)
    phone = models.CharField(_("phone"), max_length=32)
    text = models.TextField(_("text"))
    reference = models.CharField(_("reference"), max_length=40)
    accepted_at = models.DateTimeField(_("accepted at"))

    class Meta:
        verbose_name = _("sandbox text message")
        verbose_name_plural = _("sandbox text messages")


class Watermark(models.Model):
    """How far a periodic task has derived messages from another app's rows (a time and the
    last id at that time). Rows are re-read over an overlap window; the message keys make
    re-reading harmless."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    position_at = models.DateTimeField(_("position"))
    position_id = models.BigIntegerField(_("last id"), default=0)

    class Meta:
        verbose_name = _("watermark")
        verbose_name_plural = _("watermarks")


class ReminderRun(models.Model):
    """A session's reminders of one kind were recorded (so each session is fanned out once)."""

    session = models.ForeignKey(
        "catalog.Session", on_delete=models.CASCADE, related_name="+", verbose_name=_("session")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    recorded = models.PositiveIntegerField(_("messages recorded"), default=0)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("reminder run")
        verbose_name_plural = _("reminder runs")
        constraints = [
            models.UniqueConstraint(fields=["session", "kind"], name="notif_reminder_once")
        ]


class MatchDayGuide(models.Model):
    """The 观赛包 of a session: what to bring and how to get in, sent with the reminders."""

    session = models.OneToOneField(
        "catalog.Session",
        on_delete=models.CASCADE,
        related_name="match_day_guide",
        verbose_name=_("session"),
    )
    what_to_bring = models.TextField(_("what to bring"), blank=True)
    what_to_bring_en = models.TextField(_("what to bring (English)"), blank=True)
    getting_there = models.TextField(_("getting there"), blank=True)
    getting_there_en = models.TextField(_("getting there (English)"), blank=True)

    class Meta:
        verbose_name = _("match-day guide")
        verbose_name_plural = _("match-day guides")

    def __str__(self) -> str:
        return str(self.session)

    @property
    def organization_id(self) -> int:
        return self.session.event.organization_id


class AnnouncementStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SENDING = "sending", _("sending")
    DONE = "done", _("done")


class Announcement(models.Model):
    """An organizer's message to every holder of a session's tickets, fanned out in batches."""

    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.CASCADE,
        related_name="announcements",
        verbose_name=_("session"),
    )
    subject = models.CharField(_("subject"), max_length=120)
    subject_en = models.CharField(_("subject (English)"), max_length=120, blank=True)
    body = models.TextField(_("text"), max_length=2000)
    body_en = models.TextField(_("text (English)"), max_length=2000, blank=True)
    is_marketing = models.BooleanField(
        _("marketing"),
        default=False,
        help_text=_(
            "News and offers go only to people who accept them; service notices go to all."
        ),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=AnnouncementStatus.choices,
        default=AnnouncementStatus.DRAFT,
    )
    total = models.PositiveIntegerField(_("recipients"), default=0)
    done = models.PositiveIntegerField(_("recorded"), default=0)
    cursor_user_id = models.BigIntegerField(_("last recipient"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")

    def __str__(self) -> str:
        return self.subject

    @property
    def organization_id(self) -> int:
        return self.session.event.organization_id

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)
