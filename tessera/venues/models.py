import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tessera.core.i18n import BilingualMixin
from tessera.core.models import TimeStampedModel


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(zone)s"), params={"zone": value})


class City(BilingualMixin, models.Model):
    name = models.CharField(_("name"), max_length=80)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    country = models.CharField(_("country code"), max_length=2, default="CN")
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        ordering = ["slug"]


class Venue(BilingualMixin, TimeStampedModel):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="venues",
        verbose_name=_("venue operator"),
    )
    city = models.ForeignKey(
        City, on_delete=models.PROTECT, related_name="venues", verbose_name=_("city")
    )
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    address_en = models.CharField(_("English address"), max_length=200, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )

    class Meta:
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        ordering = ["name"]

    @property
    def zone_info(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Layout(BilingualMixin, TimeStampedModel):
    """One configuration of a venue (football, concert with stage, ...).

    Coordinates are abstract plan units; the focal point is what buyers want to be near
    (pitch centre, stage).
    """

    venue = models.ForeignKey(
        Venue, on_delete=models.CASCADE, related_name="layouts", verbose_name=_("venue")
    )
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    width = models.PositiveIntegerField(_("plan width"), default=1000)
    height = models.PositiveIntegerField(_("plan height"), default=1000)
    focal_x = models.FloatField(_("focal point x"), default=500)
    focal_y = models.FloatField(_("focal point y"), default=500)
    focal_label = models.CharField(_("focal point label"), max_length=40, blank=True)
    shapes = models.JSONField(
        _("decorative shapes"),
        default=list,
        blank=True,
        help_text=_("Pitch, stage and other drawn areas."),
    )

    class Meta:
        verbose_name = _("layout")
        verbose_name_plural = _("layouts")
        ordering = ["venue", "name"]

    @property
    def organization_id(self) -> int:
        return self.venue.organization_id

    def __str__(self) -> str:
        return f"{self.venue.display_name} · {self.display_name}"


class SectionKind(models.TextChoices):
    SEATED = "seated", _("Seated")
    STANDING = "standing", _("Standing")


class Section(BilingualMixin, models.Model):
    layout = models.ForeignKey(
        Layout, on_delete=models.CASCADE, related_name="sections", verbose_name=_("layout")
    )
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=80)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=SectionKind.choices, default=SectionKind.SEATED
    )
    tier = models.PositiveSmallIntegerField(_("tier"), default=1)
    capacity = models.PositiveIntegerField(
        _("standing capacity"), default=0, help_text=_("Places in a standing area.")
    )
    outline = models.JSONField(
        _("outline"), default=list, blank=True, help_text=_("Polygon [[x, y], ...] in plan units.")
    )
    label_x = models.FloatField(_("label x"), default=0)
    label_y = models.FloatField(_("label y"), default=0)
    sort_order = models.PositiveIntegerField(pgettext_lazy("sort order", "order"), default=0)

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["layout", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["layout", "code"], name="uniq_section_code"),
        ]

    @property
    def is_standing(self) -> bool:
        return self.kind == SectionKind.STANDING


class Row(models.Model):
    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="rows", verbose_name=_("section")
    )
    label = models.CharField(_("label"), max_length=20)
    sort_order = models.PositiveIntegerField(pgettext_lazy("sort order", "order"), default=0)

    class Meta:
        verbose_name = _("row")
        verbose_name_plural = _("rows")
        ordering = ["section", "sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["section", "label"], name="uniq_row_label"),
        ]

    def __str__(self) -> str:
        return f"{self.section.code}-{self.label}"


class Seat(models.Model):
    """One seat. ``section`` repeats ``row.section`` so a layout's seats load in one query."""

    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="seats", verbose_name=_("section")
    )
    row = models.ForeignKey(
        Row, on_delete=models.CASCADE, related_name="seats", verbose_name=_("row")
    )
    label = models.CharField(_("seat number"), max_length=20)
    position = models.PositiveIntegerField(
        _("position in row"),
        default=0,
        help_text=_("Order along the row; adjacent seats have consecutive positions."),
    )
    x = models.FloatField(_("x"))
    y = models.FloatField(_("y"))
    guid = models.CharField(_("external id"), max_length=64, blank=True)
    category = models.CharField(
        _("category"),
        max_length=60,
        blank=True,
        help_text=_("Category from an imported plan; a hint for price zones."),
    )
    is_accessible = models.BooleanField(_("wheelchair accessible"), default=False)
    is_restricted_view = models.BooleanField(_("restricted view"), default=False)
    is_aisle = models.BooleanField(_("aisle seat"), default=False)

    class Meta:
        verbose_name = _("seat")
        verbose_name_plural = _("seats")
        ordering = ["row", "position"]
        constraints = [
            models.UniqueConstraint(fields=["row", "label"], name="uniq_seat_label"),
        ]

    def __str__(self) -> str:
        return f"{self.section.code}-{self.row.label}-{self.label}"
