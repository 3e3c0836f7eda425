from django.contrib import admin

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.apikeys.models import KeyCallError, SandboxWorld


@admin.register(SandboxWorld)
class SandboxWorldAdmin(OrganizationScopedAdmin):
    """Partners' sandbox worlds (created from the console or ``manage.py partner_sandbox``);
    read only."""

    org_field = "partner"
    list_display = ("partner", "organization", "channel", "created_at")
    readonly_fields = ("partner", "organization", "channel", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(KeyCallError)
class KeyCallErrorAdmin(OrganizationScopedAdmin):
    """The latest failed calls of each key (read only)."""

    org_field = "key__channel__organization"
    list_display = ("at", "key", "status", "code", "endpoint")
    list_filter = ("status",)
    readonly_fields = ("at", "key", "status", "code", "endpoint")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
