"""The sandbox gateway's own records: one trade per merchant payment the buyer decided."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SandboxTradeStatus(models.TextChoices):
    # Trades opened before the cashier link carried the trade itself wait in this state.
    WAITING = "waiting", _("Waiting for the buyer")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")


class SandboxTrade(models.Model):
    """The sandbox gateway's record of a trade, as a real gateway keeps one.

    The row comes into existence when the buyer presses "pay" or "fail" on the cashier page,
    carrying what the merchant's signed cashier link said. The gateway knows the merchant's
    payment only by id (the ``out_trade_no`` of real gateways) and builds its callbacks from
    this row, never from the merchant's records.
    """

    reference = models.CharField(_("gateway reference"), max_length=40, unique=True)
    payment_id = models.UUIDField(_("merchant payment"), unique=True)
    merchant_name = models.CharField(_("merchant"), max_length=120)
    order_number = models.CharField(_("order number"), max_length=40)
    subject = models.CharField(_("subject"), max_length=200)
    amount_minor = models.BigIntegerField(_("amount in minor units"))
    currency = models.CharField(_("currency"), max_length=3)
    notify_url = models.CharField(_("notify URL"), max_length=500)
    return_url = models.CharField(_("return URL"), max_length=500, blank=True)
    switches = models.JSONField(_("switches"), default=dict, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=SandboxTradeStatus.choices,
        default=SandboxTradeStatus.WAITING,
    )
    # Events are numbered 1, 2, … in the order the gateway produced them.
    sequence = models.PositiveIntegerField(_("last event sequence"), default=1)
    created_at = models.DateTimeField(_("created at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # The buyer's account at the gateway, chosen on the cashier page; sent in the callbacks.
    payer = models.CharField(_("payer account"), max_length=64, blank=True, default="")
    # Refund number → amount in minor units; a repeated number refunds once.
    refunds = models.JSONField(_("refunds"), default=dict, blank=True)

    class Meta:
        # The table was created when the gateway lived in the payments app; it kept its name.
        db_table = "payments_sandboxtrade"
        verbose_name = _("sandbox trade")
        verbose_name_plural = _("sandbox trades")

    def __str__(self) -> str:
        return self.reference

    @property
    def refunded_minor(self) -> int:
        return sum(int(v) for v in self.refunds.values())
