"""Risk control's rows: attack switches, used proofs, scored decisions, review cases, blocks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AttackSource(models.TextChoices):
    ORGANIZER = "organizer", _("Organizer's switch")
    AUTOMATIC = "automatic", _("Automatic (request rate)")


class UnderAttack(models.Model):
    """A session or a waiting room under attack until ``ends_at`` (empty: until switched off).

    While one is active, joins and holds of it require a proof of work."""

    session = models.ForeignKey(
        "catalog.Session",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("session"),
    )
    room = models.ForeignKey(
        "waitingroom.WaitingRoom",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("waiting room"),
    )
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("organization"),
    )
    source = models.CharField(_("source"), max_length=10, choices=AttackSource.choices)
    is_active = models.BooleanField(_("active"), default=True)
    started_at = models.DateTimeField(_("started at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    rate = models.PositiveIntegerField(_("requests per window when detected"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("under-attack switch")
        verbose_name_plural = _("under-attack switches")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(session__isnull=False) | models.Q(room__isnull=False),
                name="risk_underattack_has_target",
            )
        ]

    def __str__(self):
        target = self.session or self.room
        return f"{target} ({self.get_source_display()})"


class UsedProof(models.Model):
    """A spent proof of work (its challenge's digest), kept until the challenge expires."""

    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)


class Action(models.TextChoices):
    ALLOW = "allow", _("Allowed")
    CHALLENGE = "challenge", _("Challenged")
    SLOW = "slow", _("Slowed")
    REFUSE = "refuse", _("Refused")


class RiskDecision(models.Model):
    """One scored join or hold and what was decided, with the reasons and their weights.

    Recorded always for challenged, slowed and refused requests, sampled otherwise (and only
    while the target is under attack, so the purchase path writes nothing in quiet times)."""

    at = models.DateTimeField(_("at"), db_index=True)
    purpose = models.CharField(_("purpose"), max_length=10)
    path = models.CharField(_("path"), max_length=200)
    session = models.ForeignKey(
        "catalog.Session",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("session"),
    )
    room = models.ForeignKey(
        "waitingroom.WaitingRoom",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("waiting room"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("account"),
    )
    device_key = models.CharField(_("device"), max_length=120, db_index=True)
    address = models.CharField(_("address"), max_length=64, db_index=True)
    score = models.PositiveSmallIntegerField(_("risk score"))
    action = models.CharField(_("decision"), max_length=10, choices=Action.choices)
    under_attack = models.BooleanField(_("under attack"), default=False)
    proof = models.CharField(_("proof"), max_length=20, blank=True)
    reasons = models.JSONField(_("reasons"), default=list)

    class Meta:
        verbose_name = _("risk decision")
        verbose_name_plural = _("risk decisions")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.get_action_display()} {self.score} · {self.path}"


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Waiting for review")
    RELEASED = "released", _("Released")
    CANCELLED = "cancelled", _("Cancelled and refunded")
    BLOCKED = "blocked", _("Account blocked")


class ReviewCase(models.Model):
    """An order flagged by the anomaly rules, waiting for a person."""

    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.CASCADE,
        related_name="risk_cases",
        verbose_name=_("order"),
    )
    score = models.PositiveSmallIntegerField(_("risk score"))
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    flagged_at = models.DateTimeField(_("flagged at"), db_index=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("risk review case")
        verbose_name_plural = _("risk review queue")
        ordering = ["-score", "flagged_at"]
        constraints = [
            models.UniqueConstraint(fields=["order"], name="risk_reviewcase_one_per_order")
        ]

    def __str__(self):
        return f"{self.order} · {self.score}"


class AccountBlock(models.Model):
    """A blocked account: it cannot sign in (inactive) nor hold places (``guards``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="risk_block",
        verbose_name=_("account"),
    )
    reason = models.CharField(_("reason"), max_length=500)
    blocked_at = models.DateTimeField(_("blocked at"))
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("blocked by"),
    )
    case = models.ForeignKey(
        ReviewCase,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("review case"),
    )

    class Meta:
        verbose_name = _("blocked account")
        verbose_name_plural = _("blocked accounts")

    def __str__(self):
        return str(self.user)
