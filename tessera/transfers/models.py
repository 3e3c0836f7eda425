"""A transfer: a ticket offered by its holder to another account, until accepted,
cancelled or expired."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TransferStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be accepted")
    ACCEPTED = "accepted", _("Accepted")
    CANCELLED = "cancelled", _("Cancelled")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")


class Channel(models.TextChoices):
    PHONE = "phone", _("Mobile phone number")
    EMAIL = "email", _("Email address")
    LINK = "link", _("One-time link")


class Transfer(models.Model):
    """One offer of one ticket. The recipient is known from the start when the sender named
    them by phone or email; a link's recipient is whoever accepts it first (signed in).

    A pending transfer whose ``expires_at`` has passed is expired whatever its status says
    (nothing needs to run for that); ``services`` writes the status when it meets one. At
    most one pending transfer per ticket (a partial unique constraint)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.PROTECT,
        related_name="transfers",
        verbose_name=_("ticket"),
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("order"),
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="transfers_sent",
        verbose_name=_("sender"),
    )
    channel = models.CharField(_("sent by"), max_length=10, choices=Channel.choices)
    contact = models.CharField(_("phone or email given"), max_length=254, blank=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfers_received",
        verbose_name=_("recipient"),
    )
    # SHA-256 of the link's token (hex); the token itself is shown once, never stored.
    token_hash = models.CharField(_("link token (hash)"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=TransferStatus.choices, default=TransferStatus.PENDING
    )
    holder_name = models.CharField(_("new holder's name"), max_length=80, blank=True)
    from_version = models.PositiveIntegerField(_("credential version sent"))
    to_version = models.PositiveIntegerField(_("credential version issued"), null=True, blank=True)
    created_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("expires at"))
    closed_at = models.DateTimeField(_("accepted or cancelled at"), null=True, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["sender", "created_at"], name="transfer_sender"),
            models.Index(fields=["recipient", "status"], name="transfer_recipient"),
            models.Index(fields=["status", "expires_at"], name="transfer_open"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=models.Q(status="pending"),
                name="uniq_open_transfer_per_ticket",
            ),
            models.UniqueConstraint(
                fields=["token_hash"],
                condition=~models.Q(token_hash=""),
                name="uniq_transfer_token",
            ),
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=True)
                | ~models.Q(recipient=models.F("sender")),
                name="transfer_not_to_sender",
            ),
            models.CheckConstraint(
                condition=models.Q(channel="link", recipient__isnull=True)
                | models.Q(status="accepted")
                | (~models.Q(channel="link") & models.Q(recipient__isnull=False)),
                name="transfer_recipient_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} · {self.get_status_display()}"

    def is_open_at(self, now) -> bool:
        return self.status == TransferStatus.PENDING and self.expires_at > now

    def status_at(self, now) -> str:
        """The status as a person sees it: a pending transfer past its expiry is expired."""
        if self.status == TransferStatus.PENDING and self.expires_at <= now:
            return TransferStatus.EXPIRED
        return self.status

    def get_status_at_display(self, now) -> str:
        return str(TransferStatus(self.status_at(now)).label)
