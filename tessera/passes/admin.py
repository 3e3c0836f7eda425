"""Back office of passes, scoped by organization: pass products with their covered
sessions (each with its price zone or standing area), and the passes sold, read only, with
their entries and credits. A product's signing key is made when it is first saved."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin, ScopedInline
from tessera.accounts.selectors import (
    WRITE_ROLES,
    can_write,
    is_platform_operator,
    list_organization_ids,
)
from tessera.catalog.admin import AuditedAdminMixin
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.passes import services
from tessera.passes.models import (
    CreditKind,
    Pass,
    PassCoverage,
    PassCredit,
    PassEntry,
    PassProduct,
    PassStatus,
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
    """Passes sold: read only (buying and releasing go through the services); the
    organizer may cancel passes (every match not yet played refunded in full)."""

    org_field = "product__organization"
    actions = ["cancel_selected"]
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

    def has_cancel_permission(self, request) -> bool:
        return self._is_member(request) and self._writes_somewhere(request)

    @admin.action(description=_("Cancel the selected passes and refund"), permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        live = queryset.exclude(status=PassStatus.CANCELLED).select_related("product")
        form = CancelForm(request.POST if "reason" in request.POST else None)
        if not (form.is_bound and form.is_valid()):
            return TemplateResponse(
                request,
                "admin/passes/cancel_passes.html",
                {
                    **self.admin_site.each_context(request),
                    "title": gettext("Cancel and refund"),
                    "form": form,
                    "passes": live,
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        now = clock.now()
        done = 0
        for sold in live:
            if not can_write(request.user, sold.product.organization_id):
                self.message_user(
                    request,
                    gettext("%(number)s: you cannot cancel passes of this organization.")
                    % {"number": sold.number},
                    messages.WARNING,
                )
                continue
            try:
                services.cancel_pass(
                    pass_=sold, actor=request.user, reason=form.cleaned_data["reason"], now=now
                )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{sold.number}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(
                request, gettext("%(count)d passes cancelled.") % {"count": done}, messages.SUCCESS
            )
        return None


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, widget=forms.Textarea({"rows": 3}))
