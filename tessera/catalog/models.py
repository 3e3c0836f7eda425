from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tessera.core.i18n import BilingualMixin, localized
from tessera.core.models import TimeStampedModel


class Tag(BilingualMixin, models.Model):
    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=40)
    name_en = models.CharField(_("English name"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["slug"]


class CompetitionKind(models.TextChoices):
    LEAGUE = "league", _("League")
    CUP = "cup", _("Cup")


class Competition(BilingualMixin, TimeStampedModel):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="competitions",
        verbose_name=_("organizer"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=CompetitionKind.choices)
    sport = models.CharField(_("sport"), max_length=40, default="football")
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)

    class Meta:
        verbose_name = _("competition")
        verbose_name_plural = _("competitions")
        ordering = ["name"]


class Season(BilingualMixin, models.Model):
    competition = models.ForeignKey(
        Competition, on_delete=models.CASCADE, related_name="seasons", verbose_name=_("competition")
    )
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=60, blank=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))

    class Meta:
        verbose_name = _("season")
        verbose_name_plural = _("seasons")
        ordering = ["competition", "-starts_on"]

    def __str__(self) -> str:
        return f"{self.competition.display_name} {self.display_name}"

    @property
    def organization_id(self) -> int:
        return self.competition.organization_id


class Team(BilingualMixin, TimeStampedModel):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="teams",
        verbose_name=_("organizer"),
    )
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    short_name = models.CharField(_("short name"), max_length=20, blank=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    city = models.ForeignKey(
        "venues.City",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="teams",
        verbose_name=_("city"),
    )
    home_venue = models.ForeignKey(
        "venues.Venue",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="home_teams",
        verbose_name=_("home venue"),
    )
    color = models.CharField(_("colour"), max_length=7, default="#1f6feb")
    competitions = models.ManyToManyField(
        Competition, blank=True, related_name="teams", verbose_name=_("competitions")
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]


class Artist(BilingualMixin, TimeStampedModel):
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    genre = models.CharField(_("genre"), max_length=60, blank=True)
    bio = models.TextField(_("biography"), blank=True)
    bio_en = models.TextField(_("English biography"), blank=True)

    class Meta:
        verbose_name = _("artist")
        verbose_name_plural = _("artists")
        ordering = ["name"]


class Tour(BilingualMixin, TimeStampedModel):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="tours",
        verbose_name=_("organizer"),
    )
    artist = models.ForeignKey(
        Artist, on_delete=models.PROTECT, related_name="tours", verbose_name=_("artist")
    )
    name = models.CharField(_("name"), max_length=160)
    name_en = models.CharField(_("English name"), max_length=160, blank=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)

    class Meta:
        verbose_name = _("tour")
        verbose_name_plural = _("tours")
        ordering = ["name"]


class EventKind(models.TextChoices):
    MATCH = "match", _("Match")
    CONCERT = "concert", _("Concert")
    SHOW = "show", _("Show")
    OTHER = "other", _("Other")


class EventStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    CANCELLED = "cancelled", _("Cancelled")


class Event(BilingualMixin, TimeStampedModel):
    """What is sold: a match, a concert, a show. Sessions are its dates."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name=_("organizer"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=EventKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=EventStatus.choices, default=EventStatus.DRAFT
    )
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("English description"), blank=True)
    image_url = models.URLField(_("image URL"), blank=True)
    image = models.ImageField(_("image"), upload_to="events/", blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="events", verbose_name=_("tags"))
    is_featured = models.BooleanField(_("featured"), default=False)
    # Fixtures
    season = models.ForeignKey(
        Season,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fixtures",
        verbose_name=_("season"),
    )
    home_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="home_fixtures",
        verbose_name=_("home team"),
    )
    away_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="away_fixtures",
        verbose_name=_("away team"),
    )
    round = models.CharField(_("round"), max_length=40, blank=True)
    # Concerts and shows
    tour = models.ForeignKey(
        Tour,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name=_("tour"),
    )
    artists = models.ManyToManyField(
        Artist, blank=True, related_name="events", verbose_name=_("artists")
    )

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(home_team__isnull=True)
                | ~models.Q(home_team=models.F("away_team")),
                name="event_teams_differ",
            ),
        ]

    @property
    def display_description(self) -> str:
        return localized(self, "description")

    @property
    def picture_url(self) -> str:
        if self.image:
            return self.image.url
        return self.image_url

    @property
    def is_fixture(self) -> bool:
        return self.home_team_id is not None


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CANCELLED = "cancelled", _("Cancelled")
    POSTPONED = "postponed", _("Postponed")


class Session(TimeStampedModel):
    """An event at a date and time in one venue layout, with its own sale rules."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="sessions", verbose_name=_("event")
    )
    layout = models.ForeignKey(
        "venues.Layout",
        on_delete=models.PROTECT,
        related_name="sessions",
        verbose_name=_("venue layout"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    doors_open_at = models.DateTimeField(_("doors open at"), null=True, blank=True)
    on_sale_from = models.DateTimeField(_("on sale from"), null=True, blank=True)
    on_sale_until = models.DateTimeField(_("on sale until"), null=True, blank=True)
    max_tickets_per_order = models.PositiveSmallIntegerField(_("max tickets per order"), default=6)
    max_tickets_per_account = models.PositiveSmallIntegerField(
        _("max tickets per account"), default=6
    )
    hold_minutes = models.PositiveSmallIntegerField(_("hold minutes"), default=10)
    # Real-name tickets (tessera.identities): one named identity document per ticket, and
    # at most this many live tickets per identity in the session.
    real_name_required = models.BooleanField(
        _("real-name tickets"),
        default=False,
        help_text=_("Every ticket names an attendee with an identity document."),
    )
    max_tickets_per_identity = models.PositiveSmallIntegerField(
        _("max tickets per identity"), default=1
    )

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="session_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(max_tickets_per_order__gte=1) & models.Q(hold_minutes__gte=1),
                name="session_rules_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(max_tickets_per_identity__gte=1),
                name="session_identity_limit_positive",
            ),
        ]

    @property
    def organization_id(self) -> int:
        return self.event.organization_id

    @property
    def venue(self):
        return self.layout.venue

    def local_starts_at(self):
        return self.starts_at.astimezone(self.layout.venue.zone_info)

    def is_on_sale(self, now) -> bool:
        if self.status != SessionStatus.SCHEDULED:
            return False
        if self.on_sale_from and now < self.on_sale_from:
            return False
        return not (self.on_sale_until and now >= self.on_sale_until)

    def __str__(self) -> str:
        return f"{self.event.display_name} · {self.local_starts_at():%Y-%m-%d %H:%M}"


class PriceZone(BilingualMixin, models.Model):
    """A price level of one session (VIP, A, B, terrace...)."""

    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.CASCADE,
        related_name="price_zones",
        verbose_name=_("session"),
    )
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=60, blank=True)
    color = models.CharField(_("colour"), max_length=7, default="#3b82f6")
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    sort_order = models.PositiveSmallIntegerField(pgettext_lazy("sort order", "order"), default=0)

    class Meta:
        verbose_name = _("price zone")
        verbose_name_plural = _("price zones")
        ordering = ["session", "sort_order", "-price"]
        constraints = [
            models.UniqueConstraint(fields=["session", "code"], name="uniq_zone_code"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="zone_price_nonneg"),
        ]

    @property
    def organization_id(self) -> int:
        return self.session.event.organization_id


class ZoneAssignment(models.Model):
    """Puts a whole section, a row or one seat of the session's layout into a price zone.

    The most specific assignment wins: seat over row over section.
    """

    zone = models.ForeignKey(
        PriceZone,
        on_delete=models.CASCADE,
        related_name="assignments",
        verbose_name=_("price zone"),
    )
    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.CASCADE,
        related_name="zone_assignments",
        verbose_name=_("session"),
    )
    section = models.ForeignKey(
        "venues.Section", on_delete=models.CASCADE, related_name="+", verbose_name=_("section")
    )
    row = models.ForeignKey(
        "venues.Row",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("row"),
    )
    seat = models.ForeignKey(
        "venues.Seat",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("seat"),
    )

    class Meta:
        verbose_name = _("zone assignment")
        verbose_name_plural = _("zone assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "section"],
                condition=models.Q(row__isnull=True, seat__isnull=True),
                name="uniq_zone_section",
            ),
            models.UniqueConstraint(
                fields=["session", "row"],
                condition=models.Q(row__isnull=False, seat__isnull=True),
                name="uniq_zone_row",
            ),
            models.UniqueConstraint(
                fields=["session", "seat"],
                condition=models.Q(seat__isnull=False),
                name="uniq_zone_seat",
            ),
        ]

    def __str__(self) -> str:
        target = self.seat or self.row or self.section
        return f"{target} → {self.zone}"


# -- after-sales policies --------------------------------------------------------------------


class AfterSalesPolicy(BilingualMixin, TimeStampedModel):
    """What a fan may do with a ticket after buying it: refund (with a fee that depends on
    the time left before the start and, when the organizer wants it, on demand), exchange and
    transfer. One policy per event; a session may have its own, which replaces the event's
    whole. Without any, tickets can be neither refunded, exchanged nor transferred.

    Fees are per ticket, in the currency of the ticket's price; the fee itself is computed by
    ``tessera.aftersales.fees`` (a pure function of the policy, the line, the time and the
    session's demand)."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="policies", verbose_name=_("event")
    )
    session = models.OneToOneField(
        Session,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="own_policy",
        verbose_name=_("session (empty: every session of the event)"),
    )
    # refunds
    is_refundable = models.BooleanField(_("refunds allowed"), default=False)
    refund_cutoff_hours = models.PositiveIntegerField(
        _("no refunds in the last hours before the start"), default=2
    )
    refunds_need_review = models.BooleanField(
        _("refunds wait for the organizer's approval"), default=False
    )
    fee_min = models.DecimalField(
        _("minimum fee per ticket"), max_digits=12, decimal_places=2, default=0
    )
    fee_max = models.DecimalField(
        _("maximum fee per ticket"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: up to the ticket's price."),
    )
    # a fee that rises with demand
    has_demand_fee = models.BooleanField(_("fee rises with demand"), default=False)
    demand_fee_floor = models.DecimalField(
        _("demand fee floor (%)"), max_digits=5, decimal_places=2, default=0
    )
    demand_fee_cap = models.DecimalField(
        _("demand fee cap (%)"), max_digits=5, decimal_places=2, default=0
    )
    demand_from_sold = models.DecimalField(
        _("demand counts from this share sold (%)"),
        max_digits=5,
        decimal_places=2,
        default=80,
        help_text=_(
            "Below this share of places sold (and with nobody waiting) the fee stays at the "
            "floor; it reaches the cap when the session is sold out or when as many fans wait "
            "as there are places."
        ),
    )
    # exchanges (改签)
    is_exchangeable = models.BooleanField(_("exchanges allowed"), default=False)
    exchange_cutoff_hours = models.PositiveIntegerField(
        _("no exchanges in the last hours before the start"), default=24
    )
    exchange_fee = models.DecimalField(
        _("exchange fee per ticket"), max_digits=12, decimal_places=2, default=0
    )
    exchange_to_other_sessions = models.BooleanField(
        _("exchanges to another session of the event"), default=True
    )
    # transfers (转赠)
    is_transferable = models.BooleanField(_("transfers allowed"), default=False)
    max_transfers = models.PositiveSmallIntegerField(_("transfers per ticket"), default=1)
    transfer_cutoff_hours = models.PositiveIntegerField(
        _("no transfers in the last hours before the start"), default=0
    )
    note = models.TextField(_("note"), blank=True)
    note_en = models.TextField(_("English note"), blank=True)

    class Meta:
        verbose_name = _("after-sales policy")
        verbose_name_plural = _("after-sales policies")
        ordering = ["event", "session"]
        constraints = [
            models.UniqueConstraint(
                fields=["event"],
                condition=models.Q(session__isnull=True),
                name="uniq_policy_per_event",
            ),
            models.CheckConstraint(
                condition=models.Q(fee_min__gte=0)
                & (models.Q(fee_max__isnull=True) | models.Q(fee_max__gte=models.F("fee_min")))
                & models.Q(exchange_fee__gte=0),
                name="policy_fees_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(demand_fee_floor__gte=0)
                & models.Q(demand_fee_cap__lte=100)
                & models.Q(demand_fee_cap__gte=models.F("demand_fee_floor"))
                & models.Q(demand_from_sold__gte=0)
                & models.Q(demand_from_sold__lt=100),
                name="policy_demand_fee_range",
            ),
        ]

    def __str__(self) -> str:
        if self.session_id:
            return f"{self.event.display_name} · {self.session.local_starts_at():%Y-%m-%d %H:%M}"
        return self.event.display_name

    @property
    def display_note(self) -> str:
        return localized(self, "note")


class FeeTier(models.Model):
    """A step of a policy's refund fee: from ``hours_before`` hours before the start until the
    next step, the fee is ``percent`` of the ticket's price."""

    policy = models.ForeignKey(
        AfterSalesPolicy, on_delete=models.CASCADE, related_name="tiers", verbose_name=_("policy")
    )
    hours_before = models.PositiveIntegerField(_("from this many hours before the start"))
    percent = models.DecimalField(_("fee (%)"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("fee step")
        verbose_name_plural = _("fee steps")
        ordering = ["policy", "-hours_before"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "hours_before"], name="uniq_fee_tier"),
            models.CheckConstraint(
                condition=models.Q(percent__gte=0) & models.Q(percent__lte=100),
                name="fee_tier_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hours_before} h: {self.percent} %"
