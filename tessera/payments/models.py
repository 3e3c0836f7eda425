"""Payments at a provider, the callbacks they sent us, and refunds."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Provider(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox")
    ALIPAY = "alipay", _("Alipay")
    WECHAT = "wechat", _("WeChat Pay")
    BOX_OFFICE = "box_office", _("Box office")


class PaymentStatus(models.TextChoices):
    CREATED = "created", _("Created")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    REFUNDED = "refunded", _("Refunded")


class Payment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="payments", verbose_name=_("order")
    )
    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    provider_reference = models.CharField(_("provider reference"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("created at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    # The payer's account at the provider, as its callback reports it (purchase limits per
    # payer, tessera.limits). A database default: the sale's fast path inserts payments.
    payer_id = models.CharField(
        _("payer account"), max_length=128, blank=True, default="", db_default=""
    )
    # Sandbox switches (fail, delay_seconds, duplicates, out_of_order) chosen at creation.
    options = models.JSONField(_("options"), default=dict, blank=True)
    # Where the buyer pays: the provider's cashier page, and what its QR code encodes.
    cashier_url = models.TextField(_("cashier URL"), blank=True)
    qr_content = models.CharField(_("QR content"), max_length=500, blank=True)
    # The provider's ordering of the last event applied; older events are stale.
    callback_sequence = models.BigIntegerField(_("last callback sequence"), default=0)
    # When reconciliation last asked the provider about this payment (still open).
    reconciled_at = models.DateTimeField(_("last asked the provider"), null=True, blank=True)
    # What the provider took when it is not ``amount`` (a callback with another amount or
    # currency, booked and given back); empty when the provider took ``amount``.
    received_amount = models.DecimalField(
        _("amount received"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        indexes = [
            # reconciliation's look-up of payments still open
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="created"),
                name="payment_open_by_age",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.amount} {self.currency}"


class CallbackOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    DUPLICATE = "duplicate", _("Duplicate")
    STALE = "stale", _("Out of order, ignored")
    REJECTED = "rejected", _("Rejected (signature)")
    REFUNDED = "refunded", _("Paid too late, refunded")
    INVALID = "invalid", _("Invalid")


class CallbackLog(models.Model):
    """Every callback as received, verified or not: forged ones are kept for review."""

    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    payment = models.ForeignKey(
        Payment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="callbacks",
        verbose_name=_("payment"),
    )
    received_at = models.DateTimeField(_("received at"))
    headers = models.JSONField(_("headers"), default=dict)
    body = models.TextField(_("body"))
    signature_valid = models.BooleanField(_("signature valid"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=CallbackOutcome.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("payment callback")
        verbose_name_plural = _("payment callbacks")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.provider} {self.outcome} {self.received_at:%Y-%m-%d %H:%M:%S}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Refused by the provider")
    STUCK = "stuck", _("Needs an operator")


class Refund(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment")
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    provider_reference = models.CharField(_("provider reference"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("created at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # The order's ledger already has this refund (after-sales books it when it approves);
    # otherwise the refund is booked when the provider confirms it.
    is_booked = models.BooleanField(_("booked in the ledger"), default=False)
    attempts = models.PositiveSmallIntegerField(_("attempts at the provider"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_error = models.CharField(_("provider's last answer"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]
        indexes = [
            # the retry sweep's look-up of refunds still to send
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="refund_pending_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.status})"


class LedgerCheck(models.Model):
    """One run of the daily ledger check (``services.check_ledgers``)."""

    ran_at = models.DateTimeField(_("ran at"), db_index=True)
    orders_checked = models.PositiveIntegerField(_("orders checked"), default=0)
    differences = models.PositiveIntegerField(_("differences"), default=0)

    class Meta:
        verbose_name = _("ledger check")
        verbose_name_plural = _("ledger checks")
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"{self.ran_at:%Y-%m-%d %H:%M} ({self.differences})"


class LedgerDifference(models.Model):
    """An order whose ledger does not sum to the money its providers hold for it: received
    less what went back (or is booked to go back)."""

    check_run = models.ForeignKey(
        LedgerCheck,
        on_delete=models.CASCADE,
        related_name="found",
        verbose_name=_("ledger check"),
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="+", verbose_name=_("order")
    )
    ledger_sum = models.DecimalField(_("ledger sum"), max_digits=14, decimal_places=2)
    provider_holds = models.DecimalField(_("providers hold"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)

    class Meta:
        verbose_name = _("ledger difference")
        verbose_name_plural = _("ledger differences")
        ordering = ["-check_run__ran_at", "order_id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.ledger_sum} / {self.provider_holds} {self.currency}"

    @property
    def difference(self):
        return self.ledger_sum - self.provider_holds
