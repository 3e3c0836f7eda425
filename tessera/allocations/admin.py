"""The back office's list of channel allocations, scoped to the organizer (read only: the
partner console's forms give and return places through the services)."""

from django.contrib import admin

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.allocations.models import Allocation


@admin.register(Allocation)
class AllocationAdmin(OrganizationScopedAdmin):
    org_field = "organization"
    list_display = [
        "id",
        "session",
        "channel",
        "kind",
        "allocated",
        "returned",
        "release_at",
        "status",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["session__event", "session__layout__venue", "channel"]
    search_fields = ["channel__code", "channel__name", "note"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
