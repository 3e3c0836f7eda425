"""A partner's commercial terms: the contract and its commission rules."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.core.models import TimeStampedModel


class SettlementCycle(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class Contract(TimeStampedModel):
    """The terms a partner organization sells under. One per organization; changed terms
    are a new version of the same row, recorded in the audit log."""

    organization = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="contract",
        verbose_name=_("organization"),
    )
    # The platform's fee on the partner's gross sales, as a percentage (0–100).
    platform_fee_percent = models.DecimalField(
        _("platform fee (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    settlement_cycle = models.CharField(
        _("settlement cycle"),
        max_length=10,
        choices=SettlementCycle.choices,
        default=SettlementCycle.MONTHLY,
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # A distributor sells on credit up to this amount (0 = no credit) or from a prepaid
    # balance kept by settlement.
    credit_limit = models.DecimalField(
        _("credit limit"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    prepaid = models.BooleanField(_("prepaid balance"), default=False)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("approved by"),
    )

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")

    def __str__(self) -> str:
        return f"{self.organization} ({self.get_settlement_cycle_display()})"


class CommissionBasis(models.TextChoices):
    PERCENT = "percent", _("Percentage of the price")
    PER_TICKET = "per_ticket", _("Fixed amount per ticket")


class CommissionRule(models.Model):
    """What a distributor earns on a ticket it sells. The rule that applies to a ticket is
    the one of the ticket's event if there is one, else the contract's general rules; among
    those, the tier with the highest ``min_tickets`` reached by the partner's tickets in the
    settlement period."""

    contract = models.ForeignKey(
        Contract,
        on_delete=models.CASCADE,
        related_name="commission_rules",
        verbose_name=_("contract"),
    )
    event = models.ForeignKey(
        "catalog.Event",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("event"),
        help_text=_("Empty: the rule applies to every event without its own rules."),
    )
    basis = models.CharField(_("basis"), max_length=12, choices=CommissionBasis.choices)
    # Percentage (0–100) for PERCENT, an amount in the contract's currency for PER_TICKET.
    value = models.DecimalField(
        _("value"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    min_tickets = models.PositiveIntegerField(
        _("from tickets in the period"),
        default=0,
        help_text=_("A volume tier: the rule applies once the period's tickets reach this."),
    )

    class Meta:
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        ordering = ["contract", "event", "min_tickets"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "event", "min_tickets"],
                name="uniq_commission_tier",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=~models.Q(basis="percent") | models.Q(value__lte=100),
                name="commission_percent_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_basis_display()} {self.value} (≥ {self.min_tickets})"
