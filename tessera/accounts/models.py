from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from tessera.core.fields import SealedBinaryField
from tessera.core.i18n import BilingualMixin
from tessera.core.models import TimeStampedModel

# Signing out bumps User.session_epoch; it wraps to 0 past this (a signed session cookie
# expires after SESSION_COOKIE_AGE, two weeks, long before 32 767 more sign-outs come round).
MAX_SESSION_EPOCH = 32_767


class User(AbstractUser):
    """A person: a fan, an organizer's staff member, gate staff or an operator."""

    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=32, blank=True)
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=10,
        blank=True,
        choices=[("zh-hans", "简体中文"), ("en", "English")],
    )
    session_epoch = models.PositiveSmallIntegerField(
        _("session epoch"),
        default=0,
        editable=False,
        help_text=_("Raised on every sign-out; sessions signed in before it no longer work."),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    def _get_session_auth_hash(self, secret=None) -> str:
        """Django's session hash (an HMAC of the password hash) bound to ``session_epoch``.

        A session stores this hash at sign-in and Django compares it on every request, so a
        new password (Django's own rule) or a sign-out (``accounts.services.end_sessions``
        bumps the epoch) ends every session signed in before it, including copies of a
        signed session cookie. ``get_session_auth_hash`` and the ``SECRET_KEY_FALLBACKS``
        check both come through here.
        """
        password_hash = super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "tessera.accounts.User.session_epoch",
            f"{password_hash}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class OrganizationKind(models.TextChoices):
    PLATFORM = "platform", _("Platform operator")
    ORGANIZER = "organizer", _("Organizer")
    VENUE_OPERATOR = "venue_operator", _("Venue operator")
    DISTRIBUTOR = "distributor", _("Distributor")


class Organization(BilingualMixin, TimeStampedModel):
    kind = models.CharField(_("kind"), max_length=20, choices=OrganizationKind.choices)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # A sandbox world (tessera.apikeys): its events are never shown to fans, only sandbox
    # API keys sell its sessions and its orders are left out of settlement. Set when the
    # organization is created, never changed afterwards (the sale remembers it per session).
    is_sandbox = models.BooleanField(_("sandbox"), default=False, editable=False)
    members = models.ManyToManyField(
        "accounts.User",
        through="accounts.Membership",
        related_name="organizations",
        verbose_name=_("members"),
    )

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]

    @property
    def is_platform(self) -> bool:
        return self.kind == OrganizationKind.PLATFORM


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    STAFF = "staff", _("Staff")
    FINANCE = "finance", _("Finance")


class Membership(TimeStampedModel):
    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("organization"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.STAFF)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="uniq_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.get_role_display()})"


# -- sign-in protection ---------------------------------------------------------------------


class ThrottleScope(models.TextChoices):
    ACCOUNT = "account", _("Account")
    ADDRESS = "address", _("Network address")
    SECOND_FACTOR = "second_factor", _("Two-step code")


class SignInThrottle(models.Model):
    """Failed sign-ins of one account name, one network address or one account's two-step
    codes (``accounts.throttle``). Shared by every web process through the database."""

    scope = models.CharField(_("scope"), max_length=20, choices=ThrottleScope.choices)
    key = models.CharField(_("key"), max_length=160)
    failures = models.PositiveIntegerField(_("failures"), default=0)
    last_failure_at = models.DateTimeField(_("last failure at"))
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in throttle")
        verbose_name_plural = _("sign-in throttles")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="uniq_sign_in_throttle"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} ({self.failures})"


class TwoFactorDevice(models.Model):
    """A person's authenticator app (TOTP, RFC 6238: SHA-1, 30 s, 6 digits). Its secret is
    sealed under the master key; ``last_used_step`` refuses a code used once already."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="two_factor", verbose_name=_("user")
    )
    secret = SealedBinaryField(_("secret"))
    created_at = models.DateTimeField(_("created at"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    last_used_step = models.BigIntegerField(_("last time step used"), default=0)

    class Meta:
        verbose_name = _("two-step sign-in")
        verbose_name_plural = _("two-step sign-ins")

    def __str__(self) -> str:
        return str(self.user)

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    """A one-time code that stands in for the authenticator; only its digest is stored."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="recovery_codes", verbose_name=_("user")
    )
    digest = models.CharField(_("digest"), max_length=64)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="uniq_recovery_code"),
        ]

    def __str__(self) -> str:
        return f"{self.user} recovery code"
