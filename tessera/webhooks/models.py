"""Partners' webhook subscriptions, the events recorded for them and every delivery attempt.

``WebhookEndpoint``: a URL of a partner organization, the event kinds it wants and its
signing secret (sealed at rest with ``core.vault``; shown to the partner once, when created or
rotated). ``WebhookEvent``: one thing that happened, for one organization, under an
idempotency key unique per organization, with the exact JSON body every delivery sends.
``WebhookDelivery``: one event to one endpoint, with its retry state; ``DeliveryAttempt``:
each HTTP attempt with its response code, duration and time.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tessera.core.fields import SealedBinaryField
from tessera.partners import signals

PING = "ping"


class EventKind(models.TextChoices):
    ORDER_PAID = signals.ORDER_PAID, _("Order paid")
    ORDER_REFUNDED = signals.ORDER_REFUNDED, _("Order refunded")
    ORDER_EXCHANGED = signals.ORDER_EXCHANGED, _("Order exchanged")
    SESSION_CHANGED = signals.SESSION_CHANGED, _("Session changed")
    ALLOCATION_RETURNED = signals.ALLOCATION_RETURNED, _("Allocation returned")
    PING = PING, _("Test ping")


SUBSCRIBABLE = [k for k in EventKind.values if k != PING]


class WebhookEndpoint(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        verbose_name=_("organization"),
    )
    url = models.CharField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=120, blank=True)
    kinds = models.JSONField(_("events"), default=list)
    secret = SealedBinaryField(_("signing secret"))
    previous_secret = SealedBinaryField(_("previous signing secret"), null=True, blank=True)
    previous_secret_until = models.DateTimeField(
        _("previous secret signs until"), null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["organization_id", "id"]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    uid = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("organization"),
    )
    kind = models.CharField(_("event"), max_length=30, choices=EventKind.choices)
    key = models.CharField(_("idempotency key"), max_length=160)
    payload = models.JSONField(_("payload"), default=dict)
    body = models.TextField(_("body sent"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="webhook_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.uid}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("webhook delivery", "Pending")
    SENDING = "sending", pgettext_lazy("webhook delivery", "Sending")
    DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
    FAILED = "failed", pgettext_lazy("webhook delivery", "Failed")


class WebhookDelivery(models.Model):
    uid = models.UUIDField(_("webhook id"), default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    give_up_at = models.DateTimeField(_("retried until"))
    claimed_by = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveIntegerField(_("last response code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("delivery"),
    )
    number = models.PositiveIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"))
    response_code = models.PositiveIntegerField(_("response code"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery_id", "number"]


class Watermark(models.Model):
    """How far ``producers`` derived events from another app's rows (re-read over an overlap
    window; the events' keys make re-reading harmless)."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    position_at = models.DateTimeField(_("position"))

    class Meta:
        verbose_name = _("watermark")
        verbose_name_plural = _("watermarks")
