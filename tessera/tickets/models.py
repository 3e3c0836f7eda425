"""Tickets and the keys that sign their credentials."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.core.fields import SealedBinaryField


class KeyPurpose(models.TextChoices):
    SIGNING = "signing", _("Credential signing (Ed25519)")
    ROTATION = "rotation", _("Rotating code (HMAC)")


class SessionKey(models.Model):
    """A session's key. Signing keys are Ed25519: the public half goes to gate devices,
    the private half never leaves the server and is stored sealed under the master key
    (rotation keys too). ``kid`` names the key inside credentials so keys can rotate."""

    session = models.ForeignKey(
        "catalog.Session", on_delete=models.CASCADE, related_name="keys", verbose_name=_("session")
    )
    kid = models.PositiveIntegerField(_("key id"), unique=True)
    purpose = models.CharField(_("purpose"), max_length=10, choices=KeyPurpose.choices)
    # Sealed under the master key (core.vault): the database never holds the key itself.
    secret = SealedBinaryField(_("secret"))
    public_key = models.BinaryField(_("public key"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("session key")
        verbose_name_plural = _("session keys")
        constraints = [
            # One key in use per session and purpose; retired keys still verify.
            models.UniqueConstraint(
                fields=["session", "purpose"],
                condition=models.Q(retired_at__isnull=True),
                name="uniq_active_session_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} key {self.kid}"


class TicketStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    REVOKED = "revoked", _("Revoked")


class Ticket(models.Model):
    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    order_line = models.OneToOneField(
        "orders.OrderLine",
        on_delete=models.PROTECT,
        related_name="ticket",
        verbose_name=_("order line"),
    )
    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("session"),
    )
    unit = models.ForeignKey(
        "inventory.InventoryUnit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("place"),
    )
    holder_name = models.CharField(_("holder"), max_length=80, blank=True)
    # The account that holds the ticket: empty while it is the order's buyer; set when a
    # transfer gives the ticket to another account (``reissue_ticket``).
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="held_tickets",
        verbose_name=_("holder account"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TicketStatus.choices, default=TicketStatus.VALID
    )
    version = models.PositiveIntegerField(_("credential version"), default=1)
    issued_at = models.DateTimeField(_("issued at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """The ticket number printed on the ticket: the id, ten digits."""
        return f"{self.pk:010d}" if self.pk else ""

    @property
    def is_valid(self) -> bool:
        return self.status == TicketStatus.VALID

    @property
    def holder_account_id(self) -> int:
        """The id of the account holding the ticket: the transfer's recipient, else the
        buyer (reads the order line and order when they are not loaded)."""
        return self.holder_id or self.order_line.order.user_id

    def is_held_by(self, user) -> bool:
        return bool(getattr(user, "pk", None)) and self.holder_account_id == user.pk


class Revocation(models.Model):
    """A credential that scanners must refuse: every version of ``ticket`` up to ``version``."""

    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.CASCADE,
        related_name="revocations",
        verbose_name=_("session"),
    )
    ticket_id = models.BigIntegerField(_("ticket"))
    version = models.PositiveIntegerField(_("up to version"))
    reason = models.CharField(_("reason"), max_length=40)
    at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        verbose_name = _("revocation")
        verbose_name_plural = _("revocations")
        constraints = [
            models.UniqueConstraint(fields=["ticket_id", "version"], name="uniq_revocation"),
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} up to v{self.version}"
