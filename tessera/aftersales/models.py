"""After-sales requests: a fan's (or the organizer's) request to refund tickets of an order."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Withdrawn")


class Stage(models.TextChoices):
    """What the fan sees: the request's status, and once approved where the money is."""

    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REFUNDING = "refunding", _("Refunding")
    REFUNDED = "refunded", _("Refunded")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Withdrawn")


class Initiator(models.TextChoices):
    FAN = "fan", _("Ticket holder")
    ORGANIZER = "organizer", _("Organizer")


class RefundRequest(models.Model):
    """Tickets of one order to refund, with the fee quoted when asked.

    Approved requests have done everything in one transaction (lines refunded, places back
    on sale, tickets revoked, ledger booked) and point at the provider refunds that return
    the money (``refunds``: ``payments.Refund`` rows, one per payment drawn on; none when
    nothing was paid through a provider or nothing goes back)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        related_name="refund_requests",
        verbose_name=_("order"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    initiator = models.CharField(
        _("asked by"), max_length=10, choices=Initiator.choices, default=Initiator.FAN
    )
    status = models.CharField(
        _("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.REQUESTED
    )
    currency = models.CharField(_("currency"), max_length=3)
    price = models.DecimalField(_("price of the tickets"), max_digits=12, decimal_places=2)
    fee = models.DecimalField(_("fee"), max_digits=12, decimal_places=2)
    amount = models.DecimalField(_("amount to refund"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("reason given"), max_length=500, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    created_at = models.DateTimeField(_("requested at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    refunds = models.ManyToManyField(
        "payments.Refund", blank=True, related_name="requests", verbose_name=_("provider refunds")
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("refund request")
        verbose_name_plural = _("refund requests")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="refund_request_queue"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fee__gte=0)
                & models.Q(amount__gte=0)
                & models.Q(price=models.F("fee") + models.F("amount")),
                name="refund_request_sums",
            ),
            models.UniqueConstraint(
                fields=["order", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="uniq_refund_request_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number} · {self.get_status_display()}"

    @property
    def stage(self) -> str:
        if self.status != RequestStatus.APPROVED:
            return self.status
        refunds = list(self.refunds.all())
        if all(refund.status == "succeeded" for refund in refunds):
            return Stage.REFUNDED
        if all(refund.attempts == 0 for refund in refunds):
            return Stage.APPROVED
        return Stage.REFUNDING

    def get_stage_display(self) -> str:
        return str(Stage(self.stage).label)


class RefundRequestLine(models.Model):
    """One ticket (order line) of a request, with its own fee. A line is in at most one
    request that is not rejected or withdrawn (``is_claimed``): the database's backstop
    against two refunds of one ticket."""

    request = models.ForeignKey(
        RefundRequest, on_delete=models.CASCADE, related_name="lines", verbose_name=_("request")
    )
    line = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.PROTECT,
        related_name="refund_claims",
        verbose_name=_("order line"),
    )
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    fee = models.DecimalField(_("fee"), max_digits=12, decimal_places=2)
    percent = models.DecimalField(_("fee (%)"), max_digits=5, decimal_places=2)
    explanation = models.JSONField(_("explanation"), default=list)
    is_claimed = models.BooleanField(_("claims the line"), default=True)

    class Meta:
        verbose_name = _("refund request line")
        verbose_name_plural = _("refund request lines")
        ordering = ["request", "line_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"], condition=models.Q(is_claimed=True), name="uniq_line_claim"
            ),
            models.CheckConstraint(
                condition=models.Q(fee__gte=0) & models.Q(fee__lte=models.F("price")),
                name="refund_line_fee_range",
            ),
        ]

    @property
    def amount(self):
        return self.price - self.fee


# -- exchanges (改签) ----------------------------------------------------------------------------


class ExchangeStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment of the difference")
    COMPLETED = "completed", _("Exchanged")


class ExchangeStage(models.TextChoices):
    """What the fan sees: an exchange waiting for its payment fails when that payment
    fails or its time runs out (nothing changed then: the old tickets stay valid)."""

    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment of the difference")
    COMPLETED = "completed", _("Exchanged")
    FAILED = "failed", _("Not exchanged")


class ExchangeRequest(models.Model):
    """Tickets of one order exchanged for the places of a hold of the same fan (same event,
    this session or another one when the policy allows), with the quoted difference.

    ``new_order`` holds the new places: an order whose total is what the fan still pays
    (``amount_due``; zero when the tickets given back cover the new ones). When nothing is
    due the exchange is carried out at once; otherwise when the new order's payment
    completes (``exchanges.complete_paid_exchange``), in the payment's transaction. Money
    the fan gets back (``amount_back``) goes through provider refunds (``refunds``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        related_name="exchange_requests",
        verbose_name=_("order"),
    )
    new_order = models.OneToOneField(
        "orders.Order",
        on_delete=models.PROTECT,
        related_name="exchange_source",
        verbose_name=_("order of the new places"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ticket holder"),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ExchangeStatus.choices,
        default=ExchangeStatus.AWAITING_PAYMENT,
    )
    currency = models.CharField(_("currency"), max_length=3)
    old_price = models.DecimalField(
        _("price of the tickets given back"), max_digits=12, decimal_places=2
    )
    new_price = models.DecimalField(_("price of the new places"), max_digits=12, decimal_places=2)
    fee = models.DecimalField(_("exchange fee"), max_digits=12, decimal_places=2)
    amount_due = models.DecimalField(_("difference to pay"), max_digits=12, decimal_places=2)
    amount_back = models.DecimalField(_("difference to refund"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(_("requested at"))
    completed_at = models.DateTimeField(_("exchanged at"), null=True, blank=True)
    refunds = models.ManyToManyField(
        "payments.Refund",
        blank=True,
        related_name="exchanges",
        verbose_name=_("provider refunds"),
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fee__gte=0)
                & models.Q(amount_due__gte=0)
                & models.Q(amount_back__gte=0)
                & models.Q(
                    amount_due=models.F("new_price")
                    + models.F("fee")
                    - models.F("old_price")
                    + models.F("amount_back")
                ),
                name="exchange_request_sums",
            ),
            models.UniqueConstraint(
                fields=["order", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="uniq_exchange_request_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number} → {self.new_order.number}"

    def stage_at(self, now) -> str:
        if self.status == ExchangeStatus.COMPLETED:
            return ExchangeStage.COMPLETED
        new = self.new_order
        if new.status == "pending_payment" and new.expires_at > now:
            return ExchangeStage.AWAITING_PAYMENT
        return ExchangeStage.FAILED


class ExchangeLine(models.Model):
    """One ticket (order line) given back in an exchange."""

    request = models.ForeignKey(
        ExchangeRequest, on_delete=models.CASCADE, related_name="lines", verbose_name=_("exchange")
    )
    line = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.PROTECT,
        related_name="exchange_claims",
        verbose_name=_("order line given back"),
    )
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    fee = models.DecimalField(_("fee"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("exchanged ticket")
        verbose_name_plural = _("exchanged tickets")
        ordering = ["request", "line_id"]


# -- changes to a whole session: cancel, postpone (aftersales.changes) --------------------------


class ChangeKind(models.TextChoices):
    CANCEL = "cancel", _("Cancellation")
    POSTPONE = "postpone", _("Postponement")
    MOVE = "move", _("Move to another venue")


class ChangeStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Done with failures")


class SessionChange(models.Model):
    """An organizer's change to a whole session, carried out order by order in the
    background (``aftersales.changes``): one ``SessionChangeOrder`` marker per order says
    whether that order has been dealt with, so a job killed halfway resumes where it stopped
    and running it again changes nothing more.

    ``key`` makes starting the same change twice return the first one: the kind, the session
    and (for a postponement) the new date or "to be announced"."""

    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.PROTECT,
        related_name="changes",
        verbose_name=_("session"),
    )
    kind = models.CharField(_("change"), max_length=10, choices=ChangeKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.RUNNING
    )
    key = models.CharField(_("key"), max_length=120, unique=True)
    reason = models.CharField(_("reason"), max_length=500)
    previous_starts_at = models.DateTimeField(_("previous date"))
    new_starts_at = models.DateTimeField(
        _("new date"),
        null=True,
        blank=True,
        help_text=_("Empty: the new date is to be announced."),
    )
    refund_until = models.DateTimeField(
        _("refunds in full until"),
        null=True,
        blank=True,
        help_text=_("Until then each fan may ask for a full refund instead."),
    )
    previous_layout = models.ForeignKey(
        "venues.Layout",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("previous layout"),
    )
    new_layout = models.ForeignKey(
        "venues.Layout",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("new layout"),
    )
    section_map = models.JSONField(
        _("sections mapped"),
        default=dict,
        blank=True,
        help_text=_("A move: old section id → new section id, where the organizer gave one."),
    )
    total = models.PositiveIntegerField(_("orders"), default=0)
    done = models.PositiveIntegerField(_("orders done"), default=0)
    failed = models.PositiveIntegerField(_("orders failed"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("session change")
        verbose_name_plural = _("session changes")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(done__lte=models.F("total"))
                & models.Q(failed__lte=models.F("total")),
                name="session_change_counts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.session}"

    @property
    def is_date_to_be_announced(self) -> bool:
        return self.kind == ChangeKind.POSTPONE and self.new_starts_at is None

    def is_refund_open(self, now) -> bool:
        return (
            self.kind in (ChangeKind.POSTPONE, ChangeKind.MOVE)
            and self.refund_until is not None
            and now <= self.refund_until
        )


class MarkerStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SessionChangeOrder(models.Model):
    """One order under a session change: pending until the job dealt with it (in the same
    transaction as what it did to the order), failed with the reason when it could not.
    ``notified_at``: when the fan was told (the notifications' hook,
    ``changes.fan_notices``); ``refunded_at``: when the fan took the full refund offered
    by a postponement."""

    change = models.ForeignKey(
        SessionChange, on_delete=models.CASCADE, related_name="orders", verbose_name=_("change")
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="+", verbose_name=_("order")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=MarkerStatus.choices, default=MarkerStatus.PENDING
    )
    outcome = models.CharField(_("outcome"), max_length=40, blank=True)
    error_code = models.CharField(_("error"), max_length=60, blank=True)
    error_message = models.CharField(_("error message"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    notified_at = models.DateTimeField(_("fan told at"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded at the fan's request"), null=True, blank=True)

    class Meta:
        verbose_name = _("order of a session change")
        verbose_name_plural = _("orders of a session change")
        constraints = [
            models.UniqueConstraint(fields=["change", "order"], name="uniq_session_change_order"),
        ]
        indexes = [
            models.Index(fields=["change", "status", "order"], name="session_change_work"),
        ]

    def __str__(self) -> str:
        return f"{self.change_id} · {self.order_id} · {self.status}"
