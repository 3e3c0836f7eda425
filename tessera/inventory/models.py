from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.core.i18n import BilingualMixin


class PriceZone(BilingualMixin, models.Model):
    """A price level of one session (VIP, A, B, terrace...)."""

    session = models.ForeignKey("catalog.Session", on_delete=models.CASCADE,
                                related_name="price_zones", verbose_name=_("session"))
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=60, blank=True)
    color = models.CharField(_("colour"), max_length=7, default="#3b82f6")
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("price zone")
        verbose_name_plural = _("price zones")
        ordering = ["session", "sort_order", "-price"]
        constraints = [
            models.UniqueConstraint(fields=["session", "code"], name="uniq_zone_code"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="zone_price_nonneg"),
        ]

    @property
    def organization_id(self) -> int:
        return self.session.event.organization_id


class ZoneAssignment(models.Model):
    """Puts a whole section, a row or one seat of the session's layout into a price zone.

    The most specific assignment wins: seat over row over section.
    """

    zone = models.ForeignKey(PriceZone, on_delete=models.CASCADE, related_name="assignments",
                             verbose_name=_("price zone"))
    session = models.ForeignKey("catalog.Session", on_delete=models.CASCADE,
                                related_name="zone_assignments", verbose_name=_("session"))
    section = models.ForeignKey("venues.Section", on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("section"))
    row = models.ForeignKey("venues.Row", null=True, blank=True, on_delete=models.CASCADE,
                            related_name="+", verbose_name=_("row"))
    seat = models.ForeignKey("venues.Seat", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+", verbose_name=_("seat"))

    class Meta:
        verbose_name = _("zone assignment")
        verbose_name_plural = _("zone assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "section"], condition=models.Q(row__isnull=True, seat__isnull=True),
                name="uniq_zone_section"),
            models.UniqueConstraint(
                fields=["session", "row"], condition=models.Q(row__isnull=False, seat__isnull=True),
                name="uniq_zone_row"),
            models.UniqueConstraint(
                fields=["session", "seat"], condition=models.Q(seat__isnull=False),
                name="uniq_zone_seat"),
        ]

    def __str__(self) -> str:
        target = self.seat or self.row or self.section
        return f"{target} → {self.zone}"
