"""A channel allocation: places of a session an organizer gives a distributor's channel."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.core.models import TimeStampedModel


class AllocationKind(models.TextChoices):
    AREA = "area", _("By price zone or section")
    SEATS = "seats", _("Chosen seats")
    POOL = "pool", _("Quantity from the open pool")


class AllocationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RELEASED = "released", _("Released on its date")
    RETURNED = "returned", _("Returned")


class Allocation(TimeStampedModel):
    """One grant of places to a channel. Its places are the units with its id
    (``InventoryUnit.allocation_id``); ``allocated`` and ``returned`` count what was given
    and given back, the rest is counted from the units."""

    # The organizer (the owner of the session's event) and the distributor (the channel's
    # organization): each sees the allocation in its console.
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("organizer"),
    )
    distributor = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("distributor"),
    )
    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.CASCADE,
        related_name="allocations",
        verbose_name=_("session"),
    )
    channel = models.ForeignKey(
        "inventory.SalesChannel",
        on_delete=models.PROTECT,
        related_name="allocations",
        verbose_name=_("channel"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=AllocationKind.choices)
    # What was asked for (shown on the pages): zones, sections, seat labels, a quantity
    # (None: every free place there).
    zone_ids = models.JSONField(_("price zones"), default=list, blank=True)
    section_ids = models.JSONField(_("sections"), default=list, blank=True)
    seat_labels = models.JSONField(_("seats"), default=list, blank=True)
    requested = models.PositiveIntegerField(_("places asked for"), null=True, blank=True)
    allocated = models.PositiveIntegerField(_("places allocated"), default=0)
    returned = models.PositiveIntegerField(_("places returned"), default=0)
    release_at = models.DateTimeField(_("release at"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=AllocationStatus.choices,
        default=AllocationStatus.ACTIVE,
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("channel allocation")
        verbose_name_plural = _("channel allocations")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["session", "channel"], name="allocation_session_channel"),
            models.Index(
                fields=["release_at"],
                condition=models.Q(status="active", release_at__isnull=False),
                name="allocation_due",
            ),
        ]

    def __str__(self) -> str:
        return f"allocation {self.pk} ({self.channel_id} @ {self.session_id})"

    @property
    def is_active(self) -> bool:
        return self.status == AllocationStatus.ACTIVE
