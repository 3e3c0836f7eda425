from django.contrib import admin

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.reconciliation.models import Mismatch, ProviderStatement, ReconciliationDay


@admin.register(ProviderStatement)
class ProviderStatementAdmin(admin.ModelAdmin):
    """Platform operators only: a statement holds every organizer's payments."""

    list_display = (
        "statement_on",
        "provider",
        "row_count",
        "charge_total",
        "is_current",
        "imported_at",
    )
    list_filter = ("provider", "is_current")
    exclude = ("content",)
    readonly_fields = [f.name for f in ProviderStatement._meta.fields if f.name != "content"]

    def _platform(self, request) -> bool:
        from tessera.accounts.selectors import is_platform_operator

        return is_platform_operator(request.user)

    def has_module_permission(self, request):
        return self._platform(request)

    def has_view_permission(self, request, obj=None):
        return self._platform(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Mismatch)
class MismatchAdmin(OrganizationScopedAdmin):
    list_display = (
        "day",
        "kind",
        "status",
        "order",
        "merchant_order_no",
        "our_amount",
        "provider_amount",
    )
    list_filter = ("kind", "status")
    search_fields = ("merchant_order_no", "refund_no", "trade_no", "order__number")
    readonly_fields = [f.name for f in Mismatch._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


__all__ = ["MismatchAdmin", "ProviderStatementAdmin", "ReconciliationDay"]
