"""The back office's view of webhooks: endpoints and deliveries, scoped by organization and
read-only (partners manage their endpoints in the console; secrets are never shown)."""

from django.contrib import admin

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(_ReadOnly, OrganizationScopedAdmin):
    list_display = ["id", "organization", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    fields = ["organization", "url", "description", "kinds", "is_active", "created_at"]


class AttemptInline(_ReadOnly, admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "at", "response_code", "duration_ms", "error"]
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly, OrganizationScopedAdmin):
    org_field = "endpoint__organization"
    list_display = [
        "uid",
        "endpoint",
        "status",
        "attempts",
        "last_response_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["endpoint", "event"]
    fields = [
        "uid",
        "endpoint",
        "event",
        "status",
        "attempts",
        "last_response_code",
        "last_error",
        "next_attempt_at",
        "give_up_at",
        "delivered_at",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [AttemptInline]
