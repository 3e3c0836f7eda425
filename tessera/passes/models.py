"""Pass products, the passes sold, their entries (one per covered session), the pass keys
and the pass ledger of credits."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.core.fields import SealedBinaryField
from tessera.core.i18n import BilingualMixin


class CreditKind(models.TextChoices):
    FIXED = "fixed", _("Fixed amount per released match")
    PERCENT = "percent", _("Percentage of the match's share of the price")


class PassProduct(BilingualMixin, models.Model):
    """A pass an organizer sells: one place in each covered session for one price."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="pass_products",
        verbose_name=_("organization"),
    )
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    sale_starts_at = models.DateTimeField(_("on sale from"))
    sale_ends_at = models.DateTimeField(_("on sale until"))
    max_per_account = models.PositiveSmallIntegerField(_("passes per account"), default=1)
    credit_kind = models.CharField(
        _("credit per released match"),
        max_length=10,
        choices=CreditKind.choices,
        default=CreditKind.PERCENT,
    )
    credit_value = models.DecimalField(
        _("credit value"),
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text=_("An amount, or a percentage (0-100) of the match's share of the price."),
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    # The holder may return the whole pass until its first covered session starts, for the
    # shares of the matches not released yet, less this fee (a percentage of them).
    holder_may_return = models.BooleanField(_("holders may return the pass"), default=True)
    return_fee_percent = models.DecimalField(
        _("return fee (%)"),
        max_digits=5,
        decimal_places=2,
        default=0,
        help_text=_("Kept from the refund when a holder returns the whole pass (0-100)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pass product")
        verbose_name_plural = _("pass products")
        ordering = ["sale_starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="pass_price_positive"),
            models.CheckConstraint(
                condition=models.Q(credit_value__gte=0), name="pass_credit_nonneg"
            ),
            models.CheckConstraint(
                condition=models.Q(sale_ends_at__gt=models.F("sale_starts_at")),
                name="pass_sale_window",
            ),
            models.CheckConstraint(
                condition=models.Q(return_fee_percent__gte=0, return_fee_percent__lte=100),
                name="pass_return_fee_percent",
            ),
        ]

    def is_on_sale(self, now) -> bool:
        return self.is_active and self.sale_starts_at <= now < self.sale_ends_at


class PassCoverage(models.Model):
    """A covered session and the price zone (seated or standing) its place is taken from."""

    product = models.ForeignKey(
        PassProduct, on_delete=models.CASCADE, related_name="coverage", verbose_name=_("pass")
    )
    session = models.ForeignKey(
        "catalog.Session", on_delete=models.PROTECT, related_name="+", verbose_name=_("session")
    )
    zone = models.ForeignKey(
        "catalog.PriceZone",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("price zone or standing area"),
    )

    class Meta:
        verbose_name = _("covered session")
        verbose_name_plural = _("covered sessions")
        ordering = ["session__starts_at", "session_id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "session"], name="uniq_pass_coverage"),
        ]

    def __str__(self) -> str:
        return f"{self.session} · {self.zone}"


class PassKey(models.Model):
    """A product's Ed25519 key: it signs its passes' credentials; the public half goes to
    the gates of every covered session. ``kid`` is in the pass keys' own space."""

    product = models.ForeignKey(
        PassProduct, on_delete=models.CASCADE, related_name="keys", verbose_name=_("pass")
    )
    kid = models.PositiveIntegerField(_("key id"), unique=True)
    secret = SealedBinaryField(_("secret"))
    public_key = models.BinaryField(_("public key"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("pass key")
        verbose_name_plural = _("pass keys")


class PassStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting payment")
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled")


class Pass(models.Model):
    product = models.ForeignKey(
        PassProduct, on_delete=models.PROTECT, related_name="passes", verbose_name=_("pass")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="passes",
        verbose_name=_("holder"),
    )
    order = models.OneToOneField(
        "orders.Order", on_delete=models.PROTECT, related_name="sold_pass", verbose_name=_("order")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PassStatus.choices, default=PassStatus.PENDING
    )
    holder_name = models.CharField(_("holder name"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("created at"))
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sold pass")
        verbose_name_plural = _("sold passes")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["product", "user"], name="pass_holder")]

    def __str__(self) -> str:
        return f"P{self.pk:08d}" if self.pk else "pass"

    @property
    def number(self) -> str:
        return str(self)


class EntryStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RELEASED = "released", _("Released")
    # Refunded: the whole pass was returned or cancelled, or the session was cancelled.
    REFUNDED = "refunded", _("Refunded")


class PassEntry(models.Model):
    """The pass's place in one covered session, and its ticket once paid."""

    sold_pass = models.ForeignKey(
        Pass, on_delete=models.CASCADE, related_name="entries", verbose_name=_("pass")
    )
    session = models.ForeignKey(
        "catalog.Session", on_delete=models.PROTECT, related_name="+", verbose_name=_("session")
    )
    hold = models.ForeignKey(
        "inventory.Hold",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("hold"),
    )
    unit = models.ForeignKey(
        "inventory.InventoryUnit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("place"),
    )
    order_line = models.OneToOneField(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="+", verbose_name=_("line")
    )
    ticket = models.OneToOneField(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pass_entry",
        verbose_name=_("ticket"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=EntryStatus.choices, default=EntryStatus.ACTIVE
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    # The last session change (aftersales.SessionChange) applied to this entry: a change's
    # job deals with an entry once, whatever happens to its worker.
    last_change_id = models.BigIntegerField(_("last session change"), null=True, blank=True)

    class Meta:
        verbose_name = _("pass entry")
        verbose_name_plural = _("pass entries")
        ordering = ["session__starts_at", "session_id"]
        constraints = [
            models.UniqueConstraint(fields=["sold_pass", "session"], name="uniq_pass_entry"),
        ]


class PassCredit(models.Model):
    """The pass ledger: a credit booked for a released match (append-only)."""

    sold_pass = models.ForeignKey(
        Pass, on_delete=models.PROTECT, related_name="credits", verbose_name=_("pass")
    )
    entry = models.OneToOneField(
        PassEntry, on_delete=models.PROTECT, related_name="credit", verbose_name=_("entry")
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    at = models.DateTimeField(_("at"))
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    # The credit is paid back to the pass's payment: the ledger's refund reference.
    reference = models.CharField(_("refund reference"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("pass credit")
        verbose_name_plural = _("pass credits")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="pass_credit_amount"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("pass credits are append-only")
        super().save(*args, **kwargs)
