"""Back office of the sale: the API keys of sales channels (issued once, revocable)."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.selectors import can_write
from tessera.core import clock
from tessera.sale import channels
from tessera.sale.models import ChannelKey


class ChannelKeyForm(forms.ModelForm):
    class Meta:
        model = ChannelKey
        fields = ["channel", "name", "expires_at"]


@admin.action(description=_("Revoke the selected keys"), permissions=["change"])
def revoke_keys(modeladmin, request, queryset):
    """Per key, the right to change its channel's organization (not only somewhere)."""
    now = clock.now()
    done = refused = 0
    for key in queryset.select_related("channel").order_by("pk"):
        if not can_write(request.user, key.channel.organization_id):
            refused += 1
            continue
        channels.revoke_key(key=key, actor=request.user, now=now)
        done += 1
    if refused:
        modeladmin.message_user(
            request,
            gettext("%(count)d key(s) of an organization you cannot change were left alone.")
            % {"count": refused},
            messages.ERROR,
        )
    modeladmin.message_user(
        request, gettext("%(count)d key(s) revoked.") % {"count": done}, messages.SUCCESS
    )


@admin.register(ChannelKey)
class ChannelKeyAdmin(OrganizationScopedAdmin):
    """Keys are created here (the key is shown once, in the confirmation message) and never
    edited: revoke one and issue another."""

    org_field = "channel__organization"
    scoped_foreign_keys = {"channel": "organization"}
    form = ChannelKeyForm
    list_display = ["name", "prefix", "channel", "created_at", "expires_at", "revoked_at"]
    list_filter = [("channel", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["channel"]
    search_fields = ["name", "prefix", "channel__code"]
    readonly_fields = ["prefix", "created_at", "created_by", "revoked_at"]
    actions = [revoke_keys]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # a key never changes; revoke it instead
            return ["channel", "name", "expires_at", *self.readonly_fields]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        row, key = channels.issue_key(
            channel=obj.channel,
            name=obj.name,
            actor=request.user,
            now=clock.now(),
            expires_at=obj.expires_at,
        )
        obj.pk = row.pk
        messages.warning(
            request,
            gettext(
                "The new API key is %(key)s — copy it now: it is shown only this once and "
                "cannot be recovered."
            )
            % {"key": key},
        )
