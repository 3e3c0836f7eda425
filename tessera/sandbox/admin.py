"""The gateway's trades in the back office: read-only, for platform operators."""

from django.contrib import admin

from tessera.accounts.selectors import is_platform_operator
from tessera.sandbox.models import SandboxTrade


@admin.register(SandboxTrade)
class SandboxTradeAdmin(admin.ModelAdmin):
    list_display = (
        "reference",
        "order_number",
        "amount_minor",
        "currency",
        "status",
        "created_at",
        "decided_at",
    )
    list_filter = ("status",)
    search_fields = ("reference", "order_number", "payment_id")

    def has_module_permission(self, request) -> bool:
        return is_platform_operator(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_platform_operator(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
