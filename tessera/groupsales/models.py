"""Group requests with their quotes, named group tickets, boxes and their per-session offers.

Every row belongs to an organization: a group request and a box offer to the event's
organizer, a box to the venue's operator (through its layout).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.core.i18n import BilingualMixin, localized
from tessera.core.models import TimeStampedModel


class GroupStatus(models.TextChoices):
    REQUESTED = "requested", _("Awaiting a quote")
    QUOTED = "quoted", _("Quoted")
    DECLINED = "declined", _("Declined")
    ORDERED = "ordered", _("Awaiting payment")
    PAID = "paid", _("Paid")
    EXPIRED = "expired", _("Expired")


class GroupRequest(models.Model):
    """A company's or group's request for a block of places, and the organizer's quote."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("organizer"),
    )
    session = models.ForeignKey(
        "catalog.Session", on_delete=models.PROTECT, related_name="+", verbose_name=_("session")
    )
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="group_requests",
        verbose_name=_("contact"),
    )
    zone = models.ForeignKey(
        "catalog.PriceZone",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("price zone"),
    )
    quantity = models.PositiveIntegerField(_("places"))
    budget = models.DecimalField(_("budget"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    company_name = models.CharField(_("company or group"), max_length=120)
    invoice_title = models.CharField(_("invoice title"), max_length=120)
    tax_number = models.CharField(_("tax number"), max_length=20)
    invoice_address = models.CharField(_("registered address"), max_length=200, blank=True)
    invoice_phone = models.CharField(_("registered phone"), max_length=40, blank=True)
    invoice_bank = models.CharField(_("bank and account"), max_length=200, blank=True)
    invoice_email = models.EmailField(_("invoice email"))
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=GroupStatus.choices, default=GroupStatus.REQUESTED
    )
    created_at = models.DateTimeField(_("requested at"))
    # the quote
    unit_price = models.DecimalField(
        _("group price per place"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    hold = models.ForeignKey(
        "inventory.Hold",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("hold"),
    )
    pay_by_at = models.DateTimeField(_("payment deadline"), null=True, blank=True)
    names_by_at = models.DateTimeField(_("names cut-off"), null=True, blank=True)
    quoted_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    quoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("answered by"),
    )
    decline_reason = models.CharField(_("reason"), max_length=200, blank=True)
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("order"),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("group request")
        verbose_name_plural = _("group requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "status"], name="group_org_status"),
            models.Index(fields=["status", "pay_by_at"], name="group_status_deadline"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="group_quantity_pos"),
            models.CheckConstraint(condition=models.Q(budget__gte=0), name="group_budget_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} × {self.quantity}"

    @property
    def quote_total(self):
        if self.unit_price is None:
            return None
        return self.unit_price * self.quantity

    @property
    def effective_status(self) -> str:
        """The stored status, except that an order paid already counts as paid (the
        one-statement payment confirmation runs no hook of this app)."""
        if (
            self.status == GroupStatus.ORDERED
            and self.order is not None
            and self.order.status in ("paid", "fulfilled", "partially_refunded")
        ):
            return GroupStatus.PAID
        return self.status

    def get_effective_status_display(self) -> str:
        return str(GroupStatus(self.effective_status).label)


class GroupTicketName(models.Model):
    """The name the group's contact gave one ticket (the ticket was reissued with it)."""

    request = models.ForeignKey(
        GroupRequest, on_delete=models.CASCADE, related_name="names", verbose_name=_("request")
    )
    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="+", verbose_name=_("ticket")
    )
    name = models.CharField(_("name"), max_length=80)
    named_at = models.DateTimeField(_("named at"))

    class Meta:
        verbose_name = _("group ticket name")
        verbose_name_plural = _("group ticket names")

    def __str__(self) -> str:
        return self.name


class Box(BilingualMixin, TimeStampedModel):
    """A box (包厢) of a venue layout: seats of one section sold as one unit."""

    layout = models.ForeignKey(
        "venues.Layout", on_delete=models.CASCADE, related_name="+", verbose_name=_("layout")
    )
    section = models.ForeignKey(
        "venues.Section", on_delete=models.CASCADE, related_name="+", verbose_name=_("section")
    )
    name = models.CharField(_("name"), max_length=80)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    seats = models.ManyToManyField("venues.Seat", related_name="+", verbose_name=_("seats"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    extras = models.CharField(_("extras"), max_length=300, blank=True)
    extras_en = models.CharField(_("English extras"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("box")
        verbose_name_plural = _("boxes")
        ordering = ["layout", "name"]
        constraints = [
            models.UniqueConstraint(fields=["layout", "name"], name="uniq_box_name"),
        ]

    @property
    def reason(self) -> str:
        """The block reason of its places while a session sells it whole."""
        return f"box:{self.pk}"

    @property
    def display_extras(self) -> str:
        return localized(self, "extras")


class BoxOffer(models.Model):
    """A box on sale for one session, at its own price."""

    box = models.ForeignKey(Box, on_delete=models.CASCADE, related_name="offers")
    session = models.ForeignKey(
        "catalog.Session", on_delete=models.CASCADE, related_name="+", verbose_name=_("session")
    )
    price = models.DecimalField(_("box price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    extras = models.CharField(_("extras for this session"), max_length=300, blank=True)
    extras_en = models.CharField(_("English extras for this session"), max_length=300, blank=True)
    is_on_sale = models.BooleanField(_("on sale"), default=False)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("box offer")
        verbose_name_plural = _("box offers")
        constraints = [
            models.UniqueConstraint(fields=["box", "session"], name="uniq_box_offer"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="box_price_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.box} · {self.session_id}"

    @property
    def display_extras(self) -> str:
        return localized(self, "extras") or self.box.display_extras


class BoxSale(models.Model):
    """A buyer's purchase of a box: its hold and its order (one line per seat)."""

    offer = models.ForeignKey(BoxOffer, on_delete=models.PROTECT, related_name="sales")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    hold = models.ForeignKey("inventory.Hold", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("box sale")
        verbose_name_plural = _("box sales")

    def __str__(self) -> str:
        return f"{self.offer} → {self.order_id}"
