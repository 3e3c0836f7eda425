"""Settlement statements: one per partner organization, cycle and period, with lines per
session (the rules are in the package docstring)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.partners.models import SettlementCycle


class PartnerRole(models.TextChoices):
    ORGANIZER = "organizer", _("Organizer")
    DISTRIBUTOR = "distributor", _("Distributor")
    VENUE = "venue", _("Venue operator")


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")
    PAID = "paid", _("Paid")


def _money(label):
    return models.DecimalField(label, max_digits=14, decimal_places=2, default=Decimal("0"))


class Figures(models.Model):
    """The figures a statement and each of its lines carry."""

    orders = models.PositiveIntegerField(_("orders"), default=0)
    tickets_sold = models.PositiveIntegerField(_("tickets sold"), default=0)
    tickets_refunded = models.PositiveIntegerField(_("tickets refunded"), default=0)
    gross = _money(_("gross"))
    refunds = _money(_("refunds"))
    fees = _money(_("refund fees kept"))
    platform_fee = _money(_("platform fee"))
    commission = _money(_("commission"))
    net_payable = _money(_("net payable"))

    FIELDS = (
        "orders",
        "tickets_sold",
        "tickets_refunded",
        "gross",
        "refunds",
        "fees",
        "platform_fee",
        "commission",
        "net_payable",
    )

    class Meta:
        abstract = True


class Statement(Figures):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="statements",
        verbose_name=_("organization"),
    )
    role = models.CharField(_("role"), max_length=12, choices=PartnerRole.choices)
    cycle = models.CharField(_("cycle"), max_length=10, choices=SettlementCycle.choices)
    starts_on = models.DateField(_("period from"))
    ends_on = models.DateField(_("period to"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    platform_fee_percent = models.DecimalField(
        _("platform fee (%)"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    generated_at = models.DateTimeField(_("generated at"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("approved by"),
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=80, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("marked paid by"),
    )

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-starts_on", "organization_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "cycle", "starts_on"], name="uniq_statement_period"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="statement_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.starts_on}–{self.ends_on}"

    @property
    def is_frozen(self) -> bool:
        return self.status != StatementStatus.DRAFT

    @property
    def number(self) -> str:
        cycle = "W" if self.cycle == "weekly" else "M"
        return f"ST-{self.organization_id}-{cycle}{self.starts_on:%Y%m%d}"


class StatementLine(Figures):
    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="lines", verbose_name=_("statement")
    )
    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("session"),
    )
    event_name = models.CharField(_("event"), max_length=200)
    event_name_en = models.CharField(_("event (English)"), max_length=200, blank=True)
    session_starts_at = models.DateTimeField(_("session starts at"))

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement", "session_starts_at", "session_id"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "session"], name="uniq_statement_session")
        ]
