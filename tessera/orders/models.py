"""Orders, their lines and the append-only money ledger."""

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
    PAID = "paid", _("Paid")
    FULFILLED = "fulfilled", _("Fulfilled")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


class Order(models.Model):
    number = models.CharField(_("order number"), max_length=20, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("buyer"),
    )
    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("session"),
    )
    hold = models.OneToOneField(
        "inventory.Hold",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="order",
        verbose_name=_("hold"),
    )
    channel = models.ForeignKey(
        "inventory.SalesChannel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("channel"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("mobile phone"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("pay before"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "session", "status"], name="order_buyer")]
        constraints = [
            models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_nonneg"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def organization_id(self) -> int:
        return self.session.event.organization_id

    @cached_property
    def shown_status(self) -> str:
        """The status as the buyer reads it: a refunded order whose lines were all given back
        in exchanges (void) is "exchanged", one with some exchanged and some refunded or
        still active is "partly exchanged". Uses the prefetched lines when there are."""
        if self.status not in (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED):
            return self.status
        states = {line.status for line in self.lines.all()}
        if LineStatus.VOID not in states:
            return self.status
        if states == {LineStatus.VOID}:
            return "exchanged"
        return "partly_exchanged"

    @property
    def shown_status_label(self) -> str:
        labels = {"exchanged": _("Exchanged"), "partly_exchanged": _("Partly exchanged")}
        if self.shown_status in labels:
            return str(labels[self.shown_status])
        return self.get_status_display()


class LineStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REFUNDED = "refunded", _("Refunded")
    VOID = "void", _("Void")


class OrderLine(models.Model):
    """One place in an order, with its price copied at the moment of ordering."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order")
    )
    unit = models.ForeignKey(
        "inventory.InventoryUnit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("place"),
    )
    zone = models.ForeignKey(
        "catalog.PriceZone",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("price zone"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=LineStatus.choices, default=LineStatus.ACTIVE
    )
    section_code = models.CharField(_("section"), max_length=20)
    section_name = models.CharField(_("section name"), max_length=80)
    row_label = models.CharField(_("row"), max_length=20, blank=True)
    seat_label = models.CharField(_("seat"), max_length=20, blank=True)
    zone_name = models.CharField(_("price zone"), max_length=60)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    attendee_name = models.CharField(_("attendee name"), max_length=80, blank=True)
    # Real-name identity arrives with the identity check; the fields are in place.
    attendee_id_type = models.CharField(_("identity document type"), max_length=20, blank=True)
    attendee_id_number = models.CharField(_("identity document number"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "id"]

    @property
    def place_label(self) -> str:
        if self.seat_label:
            return f"{self.section_code} · {self.row_label} · {self.seat_label}"
        return self.section_code


class LedgerKind(models.TextChoices):
    CHARGE = "charge", _("Charge")
    REFUND = "refund", _("Refund")
    FEE = "fee", _("Fee")
    COMMISSION = "commission", _("Commission")


class LedgerEntry(models.Model):
    """Append-only money movements. Charges are positive, refunds negative.

    Settlement and reconciliation read this table, never the mutable orders.
    """

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="ledger", verbose_name=_("order")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=LedgerKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    payment_id = models.UUIDField(_("payment"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    at = models.DateTimeField(_("at"), db_index=True)
    memo = models.CharField(_("memo"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["at", "id"]
        constraints = [
            # One charge per provider payment: a duplicate callback cannot charge twice.
            models.UniqueConstraint(
                fields=["kind", "payment_id"],
                condition=models.Q(kind="charge"),
                name="uniq_charge_per_payment",
            ),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("ledger entries are append-only")
