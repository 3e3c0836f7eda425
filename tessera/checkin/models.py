"""Gate check-in: per-session rules (gates, check-in lists, entry window, re-entry, rotating
codes), gate devices of an organizer, and every scan with the attendance it produces."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class CheckinSettings(models.Model):
    """How a session's gates admit people. A session without a row uses the defaults."""

    session = models.OneToOneField(
        "catalog.Session",
        on_delete=models.CASCADE,
        related_name="checkin_settings",
        verbose_name=_("session"),
    )
    entry_opens_at = models.DateTimeField(_("entry opens at"), null=True, blank=True)
    entry_closes_at = models.DateTimeField(_("entry closes at"), null=True, blank=True)
    is_reentry_allowed = models.BooleanField(
        _("re-entry allowed"),
        default=False,
        help_text=_("A ticket that was scanned out may enter again."),
    )
    uses_rotating_codes = models.BooleanField(
        _("rotating codes"),
        default=False,
        help_text=_("The ticket page shows a QR code that changes every few seconds."),
    )
    rotating_step_seconds = models.PositiveSmallIntegerField(
        _("rotating code step (seconds)"), default=30
    )
    is_static_credential_allowed = models.BooleanField(
        _("printed tickets allowed"),
        default=True,
        help_text=_("Scanners accept the static QR code of the PDF ticket."),
    )

    class Meta:
        verbose_name = _("check-in settings")
        verbose_name_plural = _("check-in settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rotating_step_seconds__gte=15, rotating_step_seconds__lte=30),
                name="checkin_step_15_to_30",
            ),
        ]

    def __str__(self) -> str:
        return str(self.session)

    @property
    def organization_id(self) -> int:
        return self.session.event.organization_id


class Gate(models.Model):
    session = models.ForeignKey(
        "catalog.Session", on_delete=models.CASCADE, related_name="gates", verbose_name=_("session")
    )
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=60, blank=True)
    allows_entry = models.BooleanField(_("entry"), default=True)
    allows_exit = models.BooleanField(_("exit"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("gate")
        verbose_name_plural = _("gates")
        ordering = ["session", "sort_order", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def organization_id(self) -> int:
        return self.session.event.organization_id


class CheckinList(models.Model):
    """Which places may enter through which gates: a ticket passes a gate when one list of
    that gate contains the ticket's section or price zone (a list naming neither contains
    every place). A session without lists admits every ticket at every gate."""

    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.CASCADE,
        related_name="checkin_lists",
        verbose_name=_("session"),
    )
    name = models.CharField(_("name"), max_length=60)
    gates = models.ManyToManyField(Gate, related_name="lists", verbose_name=_("gates"))
    sections = models.ManyToManyField(
        "venues.Section", blank=True, related_name="+", verbose_name=_("sections")
    )
    zones = models.ManyToManyField(
        "catalog.PriceZone", blank=True, related_name="+", verbose_name=_("price zones")
    )

    class Meta:
        verbose_name = _("check-in list")
        verbose_name_plural = _("check-in lists")

    def __str__(self) -> str:
        return self.name

    @property
    def organization_id(self) -> int:
        return self.session.event.organization_id


class Device(models.Model):
    """A phone or handheld scanner of an organizer. Its token is shown once; only its
    SHA-256 is stored."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="checkin_devices",
        verbose_name=_("organization"),
    )
    name = models.CharField(_("name"), max_length=60)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    token_hint = models.CharField(_("token starts with"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("created at"))
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("check-in device")
        verbose_name_plural = _("check-in devices")

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Direction(models.TextChoices):
    ENTRY = "entry", _("Entry")
    EXIT = "exit", _("Exit")


class Scan(models.Model):
    """One scan at a gate. ``outcome`` is what the gate showed; ``counted`` whether the
    server's replay of the ticket's scans (by ``scanned_at``) let it change attendance;
    ``flag`` why staff should look at it (e.g. the same ticket admitted at two gates while
    offline: the first scan wins, the later ones are flagged)."""

    uuid = models.UUIDField(_("scan id"), unique=True, default=uuid.uuid4)
    session = models.ForeignKey(
        "catalog.Session", on_delete=models.CASCADE, related_name="scans", verbose_name=_("session")
    )
    device = models.ForeignKey(
        Device, null=True, on_delete=models.SET_NULL, related_name="scans", verbose_name=_("device")
    )
    gate = models.ForeignKey(
        Gate, null=True, on_delete=models.SET_NULL, related_name="scans", verbose_name=_("gate")
    )
    ticket_id = models.BigIntegerField(_("ticket"), null=True, db_index=True)
    version = models.PositiveIntegerField(_("credential version"), null=True)
    direction = models.CharField(_("direction"), max_length=5, choices=Direction.choices)
    scanned_at = models.DateTimeField(_("scanned at"))
    received_at = models.DateTimeField(_("received at"))
    is_offline = models.BooleanField(_("offline"), default=False)
    is_accepted = models.BooleanField(_("accepted at the gate"))
    reason = models.CharField(_("reason"), max_length=30)
    counted = models.BooleanField(_("counted"), default=False)
    flag = models.CharField(_("flag"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("scan")
        verbose_name_plural = _("scans")
        indexes = [
            models.Index(fields=["session", "scanned_at"], name="checkin_scan_session_at"),
            models.Index(fields=["ticket_id", "scanned_at"], name="checkin_scan_ticket_at"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.ticket_id} {self.reason}"


class Presence(models.Model):
    """Whether a ticket's holder is inside now: the result of replaying its counted scans.
    One row per ticket; the row is locked while its scans are replayed."""

    session = models.ForeignKey(
        "catalog.Session",
        on_delete=models.CASCADE,
        related_name="presences",
        verbose_name=_("session"),
    )
    ticket_id = models.BigIntegerField(_("ticket"), unique=True)
    is_inside = models.BooleanField(_("inside"), default=False)
    entries = models.PositiveIntegerField(_("entries"), default=0)
    first_entry_at = models.DateTimeField(_("first entry at"), null=True, blank=True)

    class Meta:
        verbose_name = _("presence")
        verbose_name_plural = _("presences")
        indexes = [models.Index(fields=["session", "is_inside"], name="checkin_presence_inside")]
