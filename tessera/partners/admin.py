"""Back office of onboarding: applications (platform operators only; decided on the review
page, which runs the services), contracts with their commission rules (platform operators
change them, audited; a partner's members read their own organization's contract)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.selectors import is_platform_operator
from tessera.core import audit, clock
from tessera.partners.models import CommissionRule, Contract, PartnerApplication


@admin.register(PartnerApplication)
class PartnerApplicationAdmin(admin.ModelAdmin):
    """Read-only: the decision is the review page's (one transaction with everything an
    approval creates). Bank details show masked; the sealed column is never displayed."""

    list_display = ("legal_name", "kind", "applicant", "status", "submitted_at", "review_link")
    list_filter = ("status", "kind")
    search_fields = ("legal_name", "legal_name_en", "licence_number", "contact_email")
    exclude = ("bank_details",)
    readonly_fields = (
        "applicant",
        "kind",
        "legal_name",
        "legal_name_en",
        "contact_name",
        "contact_email",
        "contact_phone",
        "licence_number",
        "bank_account_masked",
        "status",
        "submitted_at",
        "decided_at",
        "decided_by",
        "reason",
        "organization",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).defer("bank_details")

    @admin.display(description=_("review"))
    def review_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("partners:review", args=[obj.pk]), _("Review")
        )

    def has_module_permission(self, request):
        return is_platform_operator(request.user)

    def has_view_permission(self, request, obj=None):
        return is_platform_operator(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CommissionRuleInline(admin.TabularInline):
    model = CommissionRule
    extra = 0
    fields = ("event", "basis", "value", "min_tickets")

    def _operator(self, request):
        return is_platform_operator(request.user)

    def has_add_permission(self, request, obj=None):
        return self._operator(request)

    def has_change_permission(self, request, obj=None):
        return self._operator(request)

    def has_delete_permission(self, request, obj=None):
        return self._operator(request)


@admin.register(Contract)
class ContractAdmin(OrganizationScopedAdmin):
    list_display = (
        "organization",
        "platform_fee_percent",
        "settlement_cycle",
        "credit_limit",
        "prepaid",
        "starts_on",
        "ends_on",
    )
    list_filter = ("settlement_cycle", "prepaid")
    search_fields = ("organization__name", "organization__name_en", "organization__slug")
    inlines = [CommissionRuleInline]
    readonly_fields = ("signed_by",)

    # A partner reads its contract; only the platform changes terms.
    def has_add_permission(self, request):
        return is_platform_operator(request.user)

    def has_change_permission(self, request, obj=None):
        return is_platform_operator(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.signed_by = request.user
        super().save_model(request, obj, form, change)
        audit.record(
            action="contract.changed" if change else "contract.created",
            obj=obj,
            actor=request.user,
            organization_id=obj.organization_id,
            now=clock.now(),
            data={field: str(form.cleaned_data.get(field)) for field in form.changed_data},
        )

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.has_changed():
            audit.record(
                action="contract.rules_changed",
                obj=form.instance,
                actor=request.user,
                organization_id=form.instance.organization_id,
                now=clock.now(),
                data={
                    "rules": [
                        [r.basis, str(r.value), r.min_tickets, r.event_id]
                        for r in form.instance.commission_rules.all()
                    ]
                },
            )
