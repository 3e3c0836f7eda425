"""API keys of sales channels (distributors, box offices) for the channel order API."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelKey(models.Model):
    """One API key of a sales channel. The key itself is shown once, when it is issued;
    only its SHA-256 digest is stored. ``prefix`` (public, unique) finds the row."""

    channel = models.ForeignKey(
        "inventory.SalesChannel",
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("sales channel"),
    )
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    digest = models.CharField(_("digest"), max_length=64)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # What the key may do (tessera.partners.scopes); a key issued without a choice may do all.
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    # Requests per minute this key may make (0: no limit of its own); checked by
    # channels.authenticate on every call, in the rate-limit buckets (tessera.ratelimit).
    rate_limit_per_minute = models.PositiveIntegerField(_("requests per minute"), default=0)
    # A sandbox key (``tsk_test_…``) sells only the sandbox world's sessions
    # (tessera.apikeys); a live key never sells them.
    is_sandbox = models.BooleanField(_("sandbox"), default=False)
    # The key this one replaced by rotation (the old one expires after the overlap).
    rotated_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("rotated from"),
    )
    # Written by the call log's flush (tessera.apikeys.calls), never on the request path.
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("channel API key")
        verbose_name_plural = _("channel API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
