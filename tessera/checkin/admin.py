"""Back office of check-in, scoped to the organizer: per-session settings, gates, check-in
lists and devices. A device's token is shown once, right after it is added; revoking goes
through ``services.revoke_device``."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.selectors import can_write
from tessera.catalog.admin import AuditedAdminMixin
from tessera.checkin import services
from tessera.checkin.models import CheckinList, CheckinSettings, Device, Gate, Scan
from tessera.core import clock


@admin.register(CheckinSettings)
class CheckinSettingsAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    org_field = "session__event__organization"
    scoped_foreign_keys = {"session": "event__organization"}
    list_display = [
        "session",
        "is_reentry_allowed",
        "uses_rotating_codes",
        "rotating_step_seconds",
        "is_static_credential_allowed",
    ]
    list_select_related = ["session__event"]


@admin.register(Gate)
class GateAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    org_field = "session__event__organization"
    scoped_foreign_keys = {"session": "event__organization"}
    list_display = ["name", "session", "allows_entry", "allows_exit", "sort_order"]
    list_select_related = ["session__event"]


class CheckinListForm(forms.ModelForm):
    class Meta:
        model = CheckinList
        fields = ["session", "name", "gates", "sections", "zones"]

    def clean(self):
        cleaned = super().clean()
        session = cleaned.get("session")
        if session is None:
            return cleaned
        if any(g.session_id != session.pk for g in cleaned.get("gates") or []):
            self.add_error("gates", gettext("Choose gates of this session."))
        if any(s.layout_id != session.layout_id for s in cleaned.get("sections") or []):
            self.add_error("sections", gettext("Choose sections of this session's venue layout."))
        if any(z.session_id != session.pk for z in cleaned.get("zones") or []):
            self.add_error("zones", gettext("Choose price zones of this session."))
        return cleaned


@admin.register(CheckinList)
class CheckinListAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    form = CheckinListForm
    org_field = "session__event__organization"
    scoped_foreign_keys = {
        "session": "event__organization",
        "gates": "session__event__organization",
        "zones": "session__event__organization",
    }
    list_display = ["name", "session"]
    filter_horizontal = ["gates", "sections", "zones"]


@admin.action(description=_("Revoke the selected devices"), permissions=["change"])
def revoke_devices(modeladmin, request, queryset):
    """Revoking is a change of the device: the same right as editing it, per organization
    (a finance member reads devices but does not revoke them)."""
    now = clock.now()
    done = refused = 0
    for device in queryset.order_by("pk"):
        if not can_write(request.user, device.organization_id):
            refused += 1
            continue
        services.revoke_device(device=device, now=now, actor=request.user)
        done += 1
    if refused:
        modeladmin.message_user(
            request,
            gettext("%(count)d device(s) of an organization you cannot change were left alone.")
            % {"count": refused},
            messages.ERROR,
        )
    if done:
        modeladmin.message_user(request, gettext("The devices were revoked."), messages.SUCCESS)


@admin.register(Device)
class DeviceAdmin(OrganizationScopedAdmin):
    scoped_foreign_keys = {"organization": "pk"}
    list_display = [
        "name",
        "organization",
        "token_hint",
        "created_at",
        "last_seen_at",
        "revoked_at",
    ]
    fields = ["organization", "name"]
    actions = [revoke_devices]

    def has_change_permission(self, request, obj=None):
        # Devices are added and revoked, not edited.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        device, token = services.register_device(
            organization=form.cleaned_data["organization"],
            name=form.cleaned_data["name"],
            now=clock.now(),
            actor=request.user,
        )
        obj.pk = device.pk
        messages.warning(
            request,
            gettext("Device token (shown only now): %(token)s") % {"token": token},
        )


@admin.register(Scan)
class ScanAdmin(OrganizationScopedAdmin):
    org_field = "session__event__organization"
    list_display = [
        "scanned_at",
        "ticket_id",
        "direction",
        "gate",
        "device",
        "reason",
        "counted",
        "flag",
    ]
    list_filter = ["direction", "counted", "is_offline", "flag"]
    list_select_related = ["gate", "device"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
