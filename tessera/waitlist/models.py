"""The waiting list (候补) of sold-out sessions: a fan's entry and the offers made to it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    OFFERED = "offered", _("Offer made")
    CONVERTED = "converted", _("Bought")
    LEFT = "left", _("Left the list")
    EXPIRED = "expired", _("Offer not taken")


LIVE_STATUSES = (EntryStatus.WAITING, EntryStatus.OFFERED)


class WaitlistEntry(models.Model):
    """A fan waiting for ``quantity`` places of one zone, or of any zone priced at most
    ``max_price`` (no zone and no price: any zone). Join order is the id order."""

    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.CASCADE,
        related_name="waitlist_entries",
        verbose_name=_("session"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="waitlist_entries",
        verbose_name=_("fan"),
    )
    zone = models.ForeignKey(
        "catalog.PriceZone",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("price zone"),
    )
    max_price = models.DecimalField(
        _("highest price"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    quantity = models.PositiveSmallIntegerField(_("places"))
    status = models.CharField(
        _("status"), max_length=10, choices=EntryStatus.choices, default=EntryStatus.WAITING
    )
    created_at = models.DateTimeField(_("joined at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("waiting list entry")
        verbose_name_plural = _("waiting list entries")
        ordering = ["session", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "user"],
                condition=models.Q(status__in=["waiting", "offered"]),
                name="uniq_live_waitlist_entry",
            ),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="waitlist_qty_pos"),
        ]
        indexes = [models.Index(fields=["session", "status", "id"], name="waitlist_queue")]

    def __str__(self) -> str:
        return f"waitlist {self.pk} ({self.status})"


class OfferStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CONVERTED = "converted", _("Bought")
    EXPIRED = "expired", _("Expired")
    DECLINED = "declined", _("Declined")


class WaitlistOffer(models.Model):
    """Places held in a waiting fan's name until ``expires_at``: the hold leads into the
    normal checkout. At most one open offer per entry."""

    entry = models.ForeignKey(
        WaitlistEntry, on_delete=models.CASCADE, related_name="offers", verbose_name=_("entry")
    )
    session = models.ForeignKey(
        "catalog.Session", on_delete=models.CASCADE, related_name="+", verbose_name=_("session")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="waitlist_offers",
        verbose_name=_("fan"),
    )
    zone = models.ForeignKey(
        "catalog.PriceZone",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("price zone"),
    )
    quantity = models.PositiveSmallIntegerField(_("places"))
    hold = models.OneToOneField(
        "inventory.Hold",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="waitlist_offer",
        verbose_name=_("hold"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=OfferStatus.choices, default=OfferStatus.OPEN
    )
    created_at = models.DateTimeField(_("offered at"))
    expires_at = models.DateTimeField(_("expires at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("waiting list offer")
        verbose_name_plural = _("waiting list offers")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry"],
                condition=models.Q(status="open"),
                name="uniq_open_offer_per_entry",
            )
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="waitlist_offer_due")]

    def __str__(self) -> str:
        return f"offer {self.pk} ({self.status})"
