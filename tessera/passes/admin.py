"""Back office of passes, scoped by organization: pass products with their covered
sessions (each with its price zone or standing area), and the passes sold, read only, with
their entries and credits. A product's signing key is made when it is first saved."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext

from tessera.accounts.admin import OrganizationScopedAdmin, ScopedInline
from tessera.accounts.selectors import WRITE_ROLES, is_platform_operator, list_organization_ids
from tessera.catalog.admin import AuditedAdminMixin
from tessera.core import clock
from tessera.passes import services
from tessera.passes.models import (
    CreditKind,
    Pass,
    PassCoverage,
    PassCredit,
    PassEntry,
    PassProduct,
)


class CoverageForm(forms.ModelForm):
    class Meta:
        model = PassCoverage
        fields = ["session", "zone"]

    def clean(self):
        cleaned = super().clean()
        session, zone = cleaned.get("session"), cleaned.get("zone")
        if session is not None and zone is not None and zone.session_id != session.pk:
            self.add_error("zone", gettext("Choose a price zone of this session."))
        return cleaned


class CoverageInline(ScopedInline):
    model = PassCoverage
    form = CoverageForm
    fields = ["session", "zone"]
    extra = 1

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        user = request.user
        if not is_platform_operator(user):
            writable = list_organization_ids(user, roles=WRITE_ROLES)
            if db_field.name == "session":
                kwargs["queryset"] = db_field.related_model._default_manager.filter(
                    event__organization__in=writable
                )
            elif db_field.name == "zone":
                kwargs["queryset"] = db_field.related_model._default_manager.filter(
                    session__event__organization__in=writable
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class PassProductForm(forms.ModelForm):
    class Meta:
        model = PassProduct
        fields = [
            "organization",
            "name",
            "name_en",
            "price",
            "currency",
            "sale_starts_at",
            "sale_ends_at",
            "max_per_account",
            "credit_kind",
            "credit_value",
            "is_active",
        ]

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("sale_starts_at"), cleaned.get("sale_ends_at")
        if starts and ends and ends <= starts:
            self.add_error("sale_ends_at", gettext("The sale must end after it starts."))
        if (
            cleaned.get("credit_kind") == CreditKind.PERCENT
            and (cleaned.get("credit_value") or 0) > 100
        ):
            self.add_error("credit_value", gettext("A percentage credit is at most 100."))
        price = cleaned.get("price")
        if price is not None and price <= 0:
            self.add_error("price", gettext("The price must be an amount above zero."))
        return cleaned


@admin.register(PassProduct)
class PassProductAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    form = PassProductForm
    inlines = [CoverageInline]
    list_display = [
        "name",
        "organization",
        "price",
        "sale_starts_at",
        "sale_ends_at",
        "max_per_account",
        "credit_kind",
        "credit_value",
        "is_active",
    ]
    list_filter = ["is_active", "credit_kind"]
    search_fields = ["name", "name_en"]
    list_select_related = ["organization"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.ensure_product_key(product=form.instance, now=clock.now())


class EntryInline(ScopedInline):
    model = PassEntry
    fields = ["session", "order_line", "ticket", "status", "released_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CreditInline(ScopedInline):
    model = PassCredit
    fields = ["entry", "amount", "currency", "at", "memo"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Pass)
class PassAdmin(OrganizationScopedAdmin):
    """Passes sold: read only (buying and releasing go through the services)."""

    org_field = "product__organization"
    inlines = [EntryInline, CreditInline]
    list_display = ["number", "product", "user", "holder_name", "status", "order", "created_at"]
    list_filter = ["status", "product"]
    search_fields = ["holder_name", "order__number", "user__username", "user__email"]
    list_select_related = ["product", "user", "order"]
    readonly_fields = [
        "product",
        "user",
        "order",
        "status",
        "holder_name",
        "created_at",
        "activated_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
