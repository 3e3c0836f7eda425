"""Back office for payments: read-only, for platform operators. Money changes only through
services (callbacks and refunds), never by editing rows here."""

from django.contrib import admin

from tessera.accounts.selectors import is_platform_operator
from tessera.payments.models import CallbackLog, Payment, Refund


class ReadOnlyOperatorAdmin(admin.ModelAdmin):
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


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = (
        "amount",
        "currency",
        "status",
        "reason",
        "provider_reference",
        "created_at",
        "completed_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyOperatorAdmin):
    list_display = (
        "id",
        "order",
        "provider",
        "status",
        "amount",
        "currency",
        "created_at",
        "completed_at",
    )
    list_filter = ("provider", "status")
    search_fields = ("id", "order__number", "provider_reference")
    list_select_related = ("order",)
    inlines = [RefundInline]


@admin.register(CallbackLog)
class CallbackLogAdmin(ReadOnlyOperatorAdmin):
    list_display = ("received_at", "provider", "payment", "signature_valid", "outcome", "detail")
    list_filter = ("provider", "outcome", "signature_valid")
    search_fields = ("payment__id", "detail")


@admin.register(Refund)
class RefundAdmin(ReadOnlyOperatorAdmin):
    list_display = ("id", "payment", "amount", "currency", "status", "created_at", "completed_at")
    list_filter = ("status",)
