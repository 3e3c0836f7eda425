"""Providers' daily statements, the days reconciled against them and the mismatches found."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from tessera.payments.models import Provider


class FileFormat(models.TextChoices):
    ALIPAY = "alipay", _("Alipay trade bill (业务明细)")
    WECHAT = "wechat", _("WeChat Pay trade bill (交易账单)")


class ProviderStatement(models.Model):
    """One provider's statement file for one day, as imported. A later, different file for
    the same day replaces it (``is_current`` moves to the new one); the old stays for the
    audit trail."""

    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    file_format = models.CharField(_("file format"), max_length=10, choices=FileFormat.choices)
    statement_on = models.DateField(_("day"))
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    encoding = models.CharField(_("encoding"), max_length=20)
    content = models.TextField(_("content"))
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    charge_total = models.DecimalField(_("charges"), max_digits=14, decimal_places=2)
    refund_total = models.DecimalField(_("refunds"), max_digits=14, decimal_places=2)
    fee_total = models.DecimalField(_("fees"), max_digits=14, decimal_places=2)
    is_current = models.BooleanField(_("current"), default=True)
    imported_at = models.DateTimeField(_("imported at"))
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("imported by"),
    )
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("provider statement")
        verbose_name_plural = _("provider statements")
        ordering = ["-statement_on", "provider", "-imported_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "statement_on"],
                condition=models.Q(is_current=True),
                name="uniq_current_statement",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.statement_on}"


class RowKind(models.TextChoices):
    CHARGE = "charge", _("Charge")
    REFUND = "refund", _("Refund")


class ProviderStatementRow(models.Model):
    """One line of a statement: a charge or a refund at the provider. Amounts are positive;
    ``fee`` is the provider's service fee on a charge (returned fee on a refund)."""

    statement = models.ForeignKey(
        ProviderStatement,
        on_delete=models.CASCADE,
        related_name="rows",
        verbose_name=_("statement"),
    )
    line_no = models.PositiveIntegerField(_("line"))
    kind = models.CharField(_("kind"), max_length=10, choices=RowKind.choices)
    trade_no = models.CharField(_("provider trade number"), max_length=80)
    merchant_order_no = models.CharField(_("merchant order number"), max_length=80, db_index=True)
    refund_no = models.CharField(_("merchant refund number"), max_length=80, blank=True)
    provider_refund_no = models.CharField(_("provider refund number"), max_length=80, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    fee = models.DecimalField(_("fee"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    occurred_at = models.DateTimeField(_("at"))
    subject = models.CharField(_("subject"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("statement row")
        verbose_name_plural = _("statement rows")
        ordering = ["statement", "line_no"]

    def __str__(self) -> str:
        return f"{self.kind} {self.merchant_order_no} {self.amount}"


class DayStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("reconciliation", "Open")
    RECONCILED = "reconciled", _("Reconciled")


class ReconciliationDay(models.Model):
    """One provider's day (Asia/Shanghai), reconciled against its current statement."""

    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    day_on = models.DateField(_("day"))
    status = models.CharField(
        _("status"), max_length=12, choices=DayStatus.choices, default=DayStatus.OPEN
    )
    statement = models.ForeignKey(
        ProviderStatement,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("statement"),
    )
    ran_at = models.DateTimeField(_("last run at"), null=True, blank=True)
    reconciled_at = models.DateTimeField(_("reconciled at"), null=True, blank=True)
    # What the run counted: orders paid/refunded, money ours/theirs, tickets issued/revoked/scanned.
    figures = models.JSONField(_("figures"), default=dict, blank=True)
    open_count = models.PositiveIntegerField(_("open mismatches"), default=0)

    class Meta:
        verbose_name = _("reconciliation day")
        verbose_name_plural = _("reconciliation days")
        ordering = ["-day_on", "provider"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "day_on"], name="uniq_reconciliation_day"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.day_on}"


class MismatchKind(models.TextChoices):
    PAID_WITHOUT_TICKETS = "paid_without_tickets", _("Paid, but no live tickets")
    TICKETS_WITHOUT_PAYMENT = "tickets_without_payment", _("Live tickets, but not paid")
    PROVIDER_CHARGE_WITHOUT_ORDER = (
        "provider_charge_without_order",
        _("Provider charge without a paid order"),
    )
    ORDER_PAID_MISSING_AT_PROVIDER = (
        "order_paid_missing_at_provider",
        _("Paid here, missing at the provider"),
    )
    AMOUNT_DIFFERS = "amount_differs", _("Amount differs")
    REFUND_MISSING_AT_PROVIDER = "refund_missing_at_provider", _("Refund missing at the provider")
    PROVIDER_REFUND_WITHOUT_OURS = (
        "provider_refund_without_ours",
        _("Provider refund we did not make"),
    )
    REFUNDED_BUT_TICKETS_LIVE = "refunded_but_tickets_live", _("Refunded, but tickets still live")
    REFUNDED_BUT_SCANNED = "refunded_but_scanned", _("Refunded ticket admitted at a gate")
    DUPLICATE_CHARGE = "duplicate_charge", _("Charged twice")
    FEE_DIFFERS = "fee_differs", _("Provider fee differs from the contract rate")


class MismatchStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("reconciliation", "Open")
    RESOLVED = "resolved", _("Resolved")
    EXPLAINED = "explained", _("Explained")
    CLEARED = "cleared", _("No longer found")


class Action(models.TextChoices):
    ISSUE_TICKETS = "issue_tickets", _("Issue the tickets")
    REVOKE_TICKETS = "revoke_tickets", _("Revoke the tickets")
    REFUND_CHARGE = "refund_charge", _("Refund the extra charge")
    BOOK_REFUND = "book_refund", _("Book the provider's refund")
    EXPLAIN = "explain", _("Mark explained")


class Mismatch(models.Model):
    """One difference found between orders, money and tickets on a day. ``key`` identifies
    it across runs (kind + reference), so running the day again updates it in place."""

    day = models.ForeignKey(
        ReconciliationDay,
        on_delete=models.CASCADE,
        related_name="mismatches",
        verbose_name=_("day"),
    )
    key = models.CharField(_("key"), max_length=120)
    kind = models.CharField(_("kind"), max_length=40, choices=MismatchKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=MismatchStatus.choices, default=MismatchStatus.OPEN
    )
    # The organizer whose order it concerns (null: a provider row we cannot place).
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("organization"),
    )
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("order"),
    )
    payment_id = models.UUIDField(_("payment"), null=True, blank=True)
    refund_id = models.UUIDField(_("refund"), null=True, blank=True)
    trade_no = models.CharField(_("provider trade number"), max_length=80, blank=True)
    merchant_order_no = models.CharField(_("merchant order number"), max_length=80, blank=True)
    refund_no = models.CharField(_("merchant refund number"), max_length=80, blank=True)
    our_amount = models.DecimalField(
        _("our amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    provider_amount = models.DecimalField(
        _("provider's amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # What the reconciliation noticed, in English with %(name)s fields (``detail_params``);
    # shown translated (``detail_text``).
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    detail_params = models.JSONField(_("detail fields"), default=dict, blank=True)
    ticket_ids = models.JSONField(_("tickets"), default=list, blank=True)
    found_at = models.DateTimeField(_("found at"))
    last_seen_at = models.DateTimeField(_("last seen at"))
    action = models.CharField(_("action taken"), max_length=20, choices=Action.choices, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("resolved by"),
    )

    class Meta:
        verbose_name = _("mismatch")
        verbose_name_plural = _("mismatches")
        ordering = ["day", "kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["day", "key"], name="uniq_mismatch_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.merchant_order_no or self.order_id}"

    @property
    def detail_text(self) -> str:
        if not self.detail:
            return ""
        try:
            return gettext(self.detail) % self.detail_params
        except (KeyError, TypeError, ValueError):
            return self.detail

    @property
    def is_open(self) -> bool:
        return self.status == MismatchStatus.OPEN
