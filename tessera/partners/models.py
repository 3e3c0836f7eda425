"""A partner's commercial terms: the contract and its commission rules."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.core.fields import SealedBinaryField
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


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Waiting for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class PartnerKind(models.TextChoices):
    """The organization kinds a partner may apply as (``accounts.OrganizationKind`` values)."""

    ORGANIZER = "organizer", _("Organizer")
    VENUE_OPERATOR = "venue_operator", _("Venue operator")
    DISTRIBUTOR = "distributor", _("Distributor")


class PartnerApplication(TimeStampedModel):
    """A company's request to join the platform as a partner.

    The settlement bank account is sealed under the master key (``core.vault``) as one JSON
    value (bank, account name, account number); pages show the account number only as
    ``bank_account_masked``. Approval creates the organization
    (``organization``), its contract and, for a distributor, its sales channel."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="partner_applications",
        verbose_name=_("applicant"),
    )
    kind = models.CharField(_("organization kind"), max_length=20, choices=PartnerKind.choices)
    legal_name = models.CharField(_("legal name"), max_length=120)
    legal_name_en = models.CharField(_("English name"), max_length=120, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=60)
    contact_email = models.EmailField(_("contact email"), max_length=254)
    contact_phone = models.CharField(_("contact phone"), max_length=32)
    licence_number = models.CharField(_("unified social credit code"), max_length=18)
    bank_details = SealedBinaryField(_("settlement bank account (sealed)"))
    bank_account_masked = models.CharField(_("account number"), max_length=40)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.SUBMITTED,
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    organization = models.OneToOneField(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="partner_application",
        verbose_name=_("organization"),
    )

    class Meta:
        verbose_name = _("partner application")
        verbose_name_plural = _("partner applications")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["applicant"],
                condition=models.Q(status="submitted"),
                name="one_pending_partner_application",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.get_kind_display()})"

    @property
    def display_name(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.legal_name_en:
            return self.legal_name_en
        return self.legal_name


class Invitation(models.Model):
    """An email invitation to join a partner organization with a role. Only the SHA-256
    digest of the (signed) token is kept; a token opens once, before ``expires_at``."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="partner_invitations",
        verbose_name=_("organization"),
    )
    email = models.EmailField(_("email"), max_length=254)
    role = models.CharField(_("role"), max_length=20)
    token_digest = models.CharField(_("token digest"), max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("accepted by"),
    )
    revoked_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "email"], name="partner_invite_email")]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"

    def state(self, now) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "open"
