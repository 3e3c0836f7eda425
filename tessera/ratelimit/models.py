from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Bucket(models.Model):
    """One token bucket of the database backend (``buckets.DatabaseBackend``): ``tat`` is the
    bucket's theoretical arrival time in seconds since the epoch (GCRA): the bucket is full
    when ``tat <= now``, empty when ``tat - now`` exceeds its burst."""

    key = models.CharField(max_length=200, primary_key=True)
    tat = models.FloatField()
    ok = models.BooleanField(default=True)  # the last take's outcome (read by RETURNING)
    span = models.FloatField(default=0)  # burst × interval of the rule last applied

    class Meta:
        verbose_name = _("rate-limit bucket")
        verbose_name_plural = _("rate-limit buckets")


class Channel(models.TextChoices):
    PHONE = "phone", _("Mobile phone")
    EMAIL = "email", _("Email")


class Requirement(models.TextChoices):
    ANY = "any", _("A verified phone or email")
    PHONE = "phone", _("A verified mobile phone")
    EMAIL = "email", _("A verified email")


class VerificationRequirement(models.Model):
    """A session whose buyers must have verified a contact before their first purchase."""

    session = models.OneToOneField(
        "catalog.Session", on_delete=models.CASCADE, related_name="verification_requirement"
    )
    requirement = models.CharField(
        _("requirement"), max_length=8, choices=Requirement.choices, default=Requirement.ANY
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("verification requirement")
        verbose_name_plural = _("verification requirements")

    def __str__(self):
        return f"{self.session_id}: {self.requirement}"


class VerifiedContact(models.Model):
    """A phone number or email address its account proved it receives (a one-time code)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verified_contacts"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=254)
    verified_at = models.DateTimeField(_("verified at"))

    class Meta:
        verbose_name = _("verified contact")
        verbose_name_plural = _("verified contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "channel", "address"], name="ratelimit_verified_once"
            )
        ]


class OneTimeCode(models.Model):
    """A code sent to ``address``: only its keyed hash is kept (HMAC-SHA256 under a key
    derived from SECRET_KEY, salted with the row's ``salt``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="one_time_codes"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=254)
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["user", "channel", "-created_at"])]
