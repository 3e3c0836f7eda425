"""Resale policies (per event, overridable per session) and listings."""

import uuid
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class ResalePolicy(models.Model):
    """Whether tickets of an event (or of one of its sessions: that row wins) may be resold
    on the platform, at most how much above face value, the fee kept from the seller and
    when listings close before the session starts."""

    event = models.ForeignKey(
        "catalog.Event", on_delete=models.CASCADE, related_name="+", verbose_name=_("event")
    )
    session = models.ForeignKey(
        "catalog.Session",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("session"),
        help_text=_("Empty: the whole event."),
    )
    is_allowed = models.BooleanField(_("resale allowed"), default=False)
    price_cap_percent = models.DecimalField(
        _("price cap above face value (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    fee_percent = models.DecimalField(
        _("resale fee (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("50"))],
    )
    close_minutes_before = models.PositiveIntegerField(
        _("listings close (minutes before the start)"),
        default=120,
        validators=[MaxValueValidator(60 * 24 * 30)],
    )
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("resale policy")
        verbose_name_plural = _("resale policies")
        constraints = [
            models.UniqueConstraint(
                fields=["event"], condition=models.Q(session__isnull=True), name="resale_event"
            ),
            models.UniqueConstraint(
                fields=["session"],
                condition=models.Q(session__isnull=False),
                name="resale_session",
            ),
            models.CheckConstraint(
                condition=models.Q(price_cap_percent__gte=0, price_cap_percent__lte=100)
                & models.Q(fee_percent__gte=0, fee_percent__lte=50),
                name="resale_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"resale policy {self.event_id}/{self.session_id or '-'}"


class ListingStatus(models.TextChoices):
    LISTED = "listed", _("Listed")
    SOLD = "sold", _("Sold")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class WithdrawReason(models.TextChoices):
    SELLER = "seller", _("Withdrawn by the seller")
    ORGANIZER = "organizer", _("Withdrawn by the organizer")
    CLOSED = "closed", _("Listings closed before the session")
    USED = "used", _("The ticket was used at the gate")
    RETURNED = "returned", _("The ticket was refunded, exchanged or transferred")
    SESSION = "session", _("The session was cancelled or changed")


class Listing(models.Model):
    """One ticket offered on the official resale. While ``listed`` it may be reserved by one
    buyer at a time (``buyer_order`` awaiting payment until ``reserved_until``); the
    payment's transaction makes it ``sold``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="+", verbose_name=_("ticket")
    )
    line = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("seller's order line"),
    )
    session = models.ForeignKey(
        "catalog.Session", on_delete=models.PROTECT, related_name="+", verbose_name=_("session")
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="resale_listings",
        verbose_name=_("seller"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ListingStatus.choices, default=ListingStatus.LISTED
    )
    face_value = models.DecimalField(_("face value"), max_digits=12, decimal_places=2)
    price = models.DecimalField(_("resale price"), max_digits=12, decimal_places=2)
    fee = models.DecimalField(_("resale fee"), max_digits=12, decimal_places=2)
    payout = models.DecimalField(_("paid out to the seller"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(_("listed at"))
    closes_at = models.DateTimeField(_("listing closes at"))
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resale_purchases",
        verbose_name=_("buyer"),
    )
    buyer_order = models.OneToOneField(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resale_listing",
        verbose_name=_("buyer's order"),
    )
    reserved_until = models.DateTimeField(_("reserved until"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    withdraw_reason = models.CharField(
        _("why withdrawn"), max_length=12, choices=WithdrawReason.choices, blank=True
    )

    class Meta:
        verbose_name = _("resale listing")
        verbose_name_plural = _("resale listings")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["session", "status"], name="resale_browse")]
        constraints = [
            # One live listing per ticket.
            models.UniqueConstraint(
                fields=["ticket"],
                condition=models.Q(status="listed"),
                name="resale_one_live_listing",
            ),
            models.CheckConstraint(
                condition=models.Q(price__gt=0, fee__gte=0, payout__gte=0),
                name="resale_amounts",
            ),
        ]

    def __str__(self) -> str:
        return f"listing {str(self.pk)[:8]}"

    def is_reserved_at(self, now: datetime) -> bool:
        return (
            self.status == ListingStatus.LISTED
            and self.reserved_until is not None
            and self.reserved_until > now
        )
