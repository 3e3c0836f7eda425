"""Purchase limits per phone, device, address range, payer, and account and identity across an
event."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

LIMIT_FIELDS = (
    "phone_per_session",
    "device_per_session",
    "address_per_session",
    "payer_per_session",
    "account_per_event",
    "phone_per_event",
    "device_per_event",
    "address_per_event",
    "payer_per_event",
    "identity_per_event",
)
SESSION_FIELDS = LIMIT_FIELDS[:4]
EVENT_FIELDS = LIMIT_FIELDS[4:]
# The limits a hold checks (``is_limiting``). The identity limit is checked where identities
# are bound (``identities.bind_identities``), in real-name sessions only, which the sale's
# fast path declines already: it needs no hold-time check and must not slow other sessions.
HOLD_LIMIT_FIELDS = tuple(name for name in LIMIT_FIELDS if name != "identity_per_event")


class PurchaseLimits(models.Model):
    """The limits of an event (``session`` empty) or one session's override of the event's
    per-session limits. 0 means no limit. Per-event limits count every session of the event
    and are read from the event's row only."""

    event = models.ForeignKey(
        "catalog.Event",
        on_delete=models.CASCADE,
        related_name="purchase_limits",
        verbose_name=_("event"),
    )
    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="purchase_limits",
        verbose_name=_("session"),
        help_text=_("Empty: the limits of the whole event. A session: its own per-session limits."),
    )
    phone_per_session = models.PositiveIntegerField(
        _("tickets per phone number, per session"), default=0
    )
    device_per_session = models.PositiveIntegerField(
        _("tickets per device, per session"), default=0
    )
    address_per_session = models.PositiveIntegerField(
        _("tickets per address range, per session"),
        default=0,
        help_text=_("An IPv4 /24 or IPv6 /48 network."),
    )
    payer_per_session = models.PositiveIntegerField(
        _("tickets per payment account, per session"), default=0
    )
    account_per_event = models.PositiveIntegerField(_("tickets per account, per event"), default=0)
    phone_per_event = models.PositiveIntegerField(
        _("tickets per phone number, per event"), default=0
    )
    device_per_event = models.PositiveIntegerField(_("tickets per device, per event"), default=0)
    address_per_event = models.PositiveIntegerField(
        _("tickets per address range, per event"), default=0
    )
    payer_per_event = models.PositiveIntegerField(
        _("tickets per payment account, per event"), default=0
    )
    identity_per_event = models.PositiveIntegerField(
        _("tickets per identity (ID document), per event"),
        default=0,
        help_text=_(
            "Real-name sessions only: the tickets one person's document may hold across all "
            "the event's dates, whichever account buys them."
        ),
    )
    # Any hold limit above on (not the identity's): the sale's fast path reads this one
    # column to decline the session.
    is_limiting = models.BooleanField(default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("purchase limits")
        verbose_name_plural = _("purchase limits")
        constraints = [
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(session__isnull=True),
                name="limits_one_per_event",
                violation_error_message=_("This event already has its limits; change them."),
            ),
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(session__isnull=False),
                name="limits_one_per_session",
            ),
        ]

    def __str__(self) -> str:
        return str(self.session) if self.session_id else str(self.event)

    def save(self, *args, **kwargs):
        self.is_limiting = any(getattr(self, name) for name in HOLD_LIMIT_FIELDS)
        super().save(*args, **kwargs)


class MarkKind(models.TextChoices):
    PHONE = "phone", _("phone number")
    DEVICE = "device", _("device")
    ADDRESS = "address", _("address range")
    PAYER = "payer", _("payment account")


class PurchaseMark(models.Model):
    """Who a hold was made by (or, for ``payer``, who paid it): a keyed hash (HMAC) of the
    phone number, device, address range or payer, never the value itself. A mark counts the
    places of its hold while they are held (live) or sold."""

    hold = models.ForeignKey("inventory.Hold", on_delete=models.CASCADE, related_name="limit_marks")
    session = models.ForeignKey("catalog.Session", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey("catalog.Event", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=MarkKind.choices)
    key_hash = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["event", "kind", "key_hash"], name="limits_mark_event_key"),
            models.Index(fields=["session", "kind", "key_hash"], name="limits_mark_session_key"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["hold", "kind"], name="limits_one_mark_per_hold_kind")
        ]
