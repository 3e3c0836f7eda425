"""The inventory: one row per sellable place of a session.

Seated and standing places share the table and the algorithms. A place is taken by one
conditional UPDATE (see services.py); the unique (session, seat) constraint is the backstop
against duplicate places.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.core.i18n import BilingualMixin
from tessera.core.models import TimeStampedModel


class SalesChannel(BilingualMixin, TimeStampedModel):
    """A channel (distributor, box office) that may be allocated its own places.

    Units with ``channel = NULL`` are the open pool, which every channel sells from unless
    ``sells_open_pool`` is off: such a channel sells only the places allocated to it.
    """

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="sales_channels",
        verbose_name=_("organization"),
    )
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    sells_open_pool = models.BooleanField(
        _("sells from the open pool"),
        default=True,
        help_text=_("Off: the channel sells only the places allocated to it."),
    )
    # The account the channel's orders are placed under (a user that cannot sign in),
    # created with the channel's first API key.
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sales_channel",
        verbose_name=_("account"),
    )

    class Meta:
        verbose_name = _("sales channel")
        verbose_name_plural = _("sales channels")
        ordering = ["code"]


class UnitStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    HELD = "held", _("Held")
    SOLD = "sold", _("Sold")
    BLOCKED = "blocked", _("Blocked")


class InventoryUnit(models.Model):
    session = models.ForeignKey(
        "catalog.Session", on_delete=models.CASCADE, related_name="units", verbose_name=_("session")
    )
    zone = models.ForeignKey(
        "catalog.PriceZone",
        on_delete=models.PROTECT,
        related_name="units",
        verbose_name=_("price zone"),
    )
    section = models.ForeignKey(
        "venues.Section", on_delete=models.PROTECT, related_name="+", verbose_name=_("section")
    )
    seat = models.ForeignKey(
        "venues.Seat",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("seat"),
    )
    channel = models.ForeignKey(
        SalesChannel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="units",
        verbose_name=_("channel"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=UnitStatus.choices, default=UnitStatus.AVAILABLE
    )
    hold = models.ForeignKey(
        "inventory.Hold",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="units",
        verbose_name=_("hold"),
    )
    hold_expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    # The order line that bought this place; orders sit above inventory, so a plain id.
    order_line_id = models.BigIntegerField(_("order line"), null=True, blank=True)
    block_reason = models.CharField(_("block reason"), max_length=80, blank=True)
    # The channel allocation (``tessera.allocations``) that gave this place to ``channel``;
    # the allocations sit above the inventory, so a plain id. NULL for the open pool and for
    # places given to a channel otherwise (``services.allocate_channel``).
    allocation_id = models.BigIntegerField(_("allocation"), null=True, blank=True)

    class Meta:
        verbose_name = _("inventory unit")
        verbose_name_plural = _("inventory units")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "seat"],
                condition=models.Q(seat__isnull=False),
                name="uniq_unit_seat",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="held")
                | models.Q(hold__isnull=False, hold_expires_at__isnull=False),
                name="unit_held_has_hold",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sold") | models.Q(order_line_id__isnull=False),
                name="unit_sold_has_line",
            ),
        ]
        # Partial indexes: a place leaves "available" once and is not indexed there again,
        # so finding N free places stays as cheap at 99 % sold as at 0 % (docs/performance.md);
        # the places of live holds have their own small index, for expiry.
        indexes = [
            models.Index(
                fields=["session", "zone", "id"],
                condition=models.Q(status="available"),
                name="unit_free_by_zone",
            ),
            models.Index(
                fields=["session", "section", "id"],
                condition=models.Q(status="available"),
                name="unit_free_by_section",
            ),
            models.Index(
                fields=["session", "hold_expires_at"],
                condition=models.Q(status="held"),
                name="unit_held_by_expiry",
            ),
            # Only allocated places are indexed, so the sale's updates of open-pool places
            # never touch this index.
            models.Index(
                fields=["allocation_id", "status"],
                condition=models.Q(allocation_id__isnull=False),
                name="unit_by_allocation",
            ),
        ]

    def __str__(self) -> str:
        return f"unit {self.pk} ({self.status})"


class HoldStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RELEASED = "released", _("Released")
    ORDERED = "ordered", _("Ordered")
    SOLD = "sold", _("Sold")


class Hold(models.Model):
    """A buyer's temporary claim on places. Expiry is lazy: once ``expires_at`` has passed
    its places are free to anyone, whatever ``status`` still says."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(
        "catalog.Session", on_delete=models.CASCADE, related_name="holds", verbose_name=_("session")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="holds",
        verbose_name=_("buyer"),
    )
    channel = models.ForeignKey(
        SalesChannel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="holds",
        verbose_name=_("channel"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=HoldStatus.choices, default=HoldStatus.ACTIVE
    )
    quantity = models.PositiveSmallIntegerField(_("places"))
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    extensions = models.PositiveSmallIntegerField(_("extensions"), default=0)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        indexes = [models.Index(fields=["session", "user", "status"], name="hold_buyer")]

    def __str__(self) -> str:
        return f"hold {self.pk}"

    def is_live(self, now) -> bool:
        return self.status in (HoldStatus.ACTIVE, HoldStatus.ORDERED) and self.expires_at > now


class ReturnQueue(models.Model):
    """A session whose places coming back are offered to a queue first (the waiting list
    keeps these rows: ``tessera.waitlist``). While the row exists, places of an expired hold
    are not taken by any hold statement (``selectors.holdable``, the sale's fast path):
    ``tidy_expired_holds`` frees them and hands them to ``settings.PLACES_RETURNED_HOOKS``,
    so a fan waiting in the queue gets them before a buyer who keeps trying."""

    session = models.OneToOneField(
        "catalog.Session",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name=_("session"),
    )
    since = models.DateTimeField(_("since"))

    class Meta:
        verbose_name = _("queue for returned places")
        verbose_name_plural = _("queues for returned places")

    def __str__(self) -> str:
        return f"returns of session {self.session_id} queued"


class SectionViewCount(models.Model):
    """How many times fans opened the seat view of a section, per session and minute
    (``minute`` is the UTC minute, seconds zero). Written by ``demand.record_section_view``;
    read by the heat map."""

    session = models.ForeignKey(
        "catalog.Session", on_delete=models.CASCADE, related_name="+", verbose_name=_("session")
    )
    section = models.ForeignKey(
        "venues.Section", on_delete=models.CASCADE, related_name="+", verbose_name=_("section")
    )
    minute = models.DateTimeField(_("minute"))
    views = models.PositiveIntegerField(_("views"), default=0)

    class Meta:
        verbose_name = _("section view count")
        verbose_name_plural = _("section view counts")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "section", "minute"], name="uniq_section_view_minute"
            )
        ]
        indexes = [models.Index(fields=["session", "minute"], name="section_view_session_minute")]

    def __str__(self) -> str:
        return f"{self.section_id} @ {self.minute:%H:%M}: {self.views}"
