from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.core.fields import SealedBinaryField


class SandboxWorld(models.Model):
    """A partner's test world: a sandbox organization (``is_sandbox``) with its venue,
    event, sessions and places, and the partner's sandbox channel that sells them."""

    partner = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="sandbox_world",
        verbose_name=_("partner"),
    )
    organization = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("sandbox organization"),
    )
    channel = models.OneToOneField(
        "inventory.SalesChannel",
        on_delete=models.PROTECT,
        related_name="sandbox_world",
        verbose_name=_("sandbox channel"),
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("sandbox world")
        verbose_name_plural = _("sandbox worlds")

    def __str__(self) -> str:
        return f"sandbox of {self.partner_id}"


class KeyReveal(models.Model):
    """A new key, sealed, until its creator has seen it once (then deleted)."""

    key = models.OneToOneField(
        "sale.ChannelKey", on_delete=models.CASCADE, related_name="+", verbose_name=_("key")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    secret = SealedBinaryField(_("secret"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("key to show once")
        verbose_name_plural = _("keys to show once")


class StatusClass(models.TextChoices):
    SUCCESS = "2xx", "2xx"
    CLIENT_ERROR = "4xx", "4xx"
    SERVER_ERROR = "5xx", "5xx"


class KeyCallCount(models.Model):
    """Calls of one key in one hour to one endpoint (path template) by status class."""

    key = models.ForeignKey(
        "sale.ChannelKey", on_delete=models.CASCADE, related_name="+", verbose_name=_("key")
    )
    hour = models.DateTimeField(_("hour"))
    endpoint = models.CharField(_("endpoint"), max_length=200)
    status_class = models.CharField(_("status"), max_length=3, choices=StatusClass.choices)
    count = models.PositiveIntegerField(_("calls"), default=0)

    class Meta:
        verbose_name = _("API call count")
        verbose_name_plural = _("API call counts")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "hour", "endpoint", "status_class"], name="apikeys_call_count_unique"
            )
        ]
        indexes = [models.Index(fields=["hour"], name="apikeys_call_hour")]


class KeyCallError(models.Model):
    """One failed call of a key (the last ``calls.ERRORS_PER_KEY`` are kept)."""

    key = models.ForeignKey(
        "sale.ChannelKey", on_delete=models.CASCADE, related_name="+", verbose_name=_("key")
    )
    at = models.DateTimeField(_("time"))
    endpoint = models.CharField(_("endpoint"), max_length=200)
    status = models.PositiveSmallIntegerField(_("status"))
    code = models.CharField(_("error code"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("API call error")
        verbose_name_plural = _("API call errors")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["key", "-at"], name="apikeys_error_key_at")]
