from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CheckoutDraft(models.Model):
    """What a fan typed in the checkout for one hold: attendee names, email, the places.

    Kept so that going back to a step shows the names again, a recovered hold starts with
    the same names (``recovered_from`` names the hold it replaced) and a hold whose units
    were tidied away still knows its places. Only its owner's drafts are ever read; a fan
    keeps the latest ``steps.MAX_DRAFTS``.
    """

    hold = models.OneToOneField(
        "inventory.Hold",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("hold"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("buyer"),
    )
    names = models.JSONField(_("attendee names"), default=list, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    unit_ids = models.JSONField(_("places"), default=list, blank=True)
    recovered_from = models.UUIDField(_("recovered from hold"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("checkout draft")
        verbose_name_plural = _("checkout drafts")
        indexes = [models.Index(fields=["user", "updated_at"], name="checkoutdraft_user_updated")]

    def __str__(self) -> str:
        return f"draft of hold {self.hold_id}"
