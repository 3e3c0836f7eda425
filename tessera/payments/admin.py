"""Back office for payments: read-only, for platform operators. Money changes only through
services (callbacks and refunds), never by editing rows here."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from tessera.accounts.selectors import is_platform_operator
from tessera.core.clock import now as clock_now
from tessera.core.errors import DomainError
from tessera.payments import services
from tessera.payments.models import (
    CallbackLog,
    LedgerCheck,
    LedgerDifference,
    Payment,
    Refund,
    RefundStatus,
)


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


class SettleForm(forms.Form):
    reference = forms.CharField(
        label=_("How the money was returned"),
        max_length=80,
        help_text=_("For example: bank transfer 2026-12-05, reference 88120."),
    )


@admin.register(Refund)
class RefundAdmin(ReadOnlyOperatorAdmin):
    """Every refund; those refused by the provider or out of attempts ("waiting for an
    operator") are sent again or settled by hand from here."""

    list_display = (
        "id",
        "payment",
        "amount",
        "currency",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "completed_at",
    )
    list_filter = ("status",)
    search_fields = ("id", "payment__id", "payment__order__number", "provider_reference")
    actions = ["send_again", "settle_by_hand"]

    def has_operate_permission(self, request) -> bool:
        return is_platform_operator(request.user)

    @admin.action(
        description=_("Send the selected refunds to the provider again"), permissions=["operate"]
    )
    def send_again(self, request, queryset):
        now = clock_now()
        done = 0
        for refund in queryset:
            try:
                services.retry_refund(refund=refund, actor=request.user, now=now)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{refund.pk}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(
                request, _("%(count)d refunds sent again.") % {"count": done}, messages.SUCCESS
            )

    @admin.action(
        description=_("Mark the selected refunds as returned by hand"), permissions=["operate"]
    )
    def settle_by_hand(self, request, queryset):
        waiting = queryset.filter(status__in=(RefundStatus.FAILED, RefundStatus.STUCK))
        form = SettleForm(request.POST if "reference" in request.POST else None)
        if form.is_bound and form.is_valid():
            now = clock_now()
            for refund in waiting:
                services.settle_refund_by_hand(
                    refund=refund,
                    actor=request.user,
                    reference=form.cleaned_data["reference"],
                    now=now,
                )
            self.message_user(
                request,
                _("%(count)d refunds marked as returned by hand.") % {"count": len(waiting)},
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/payments/settle_refunds.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Mark refunds as returned by hand"),
                "form": form,
                "refunds": waiting,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


class LedgerDifferenceInline(admin.TabularInline):
    model = LedgerDifference
    extra = 0
    can_delete = False
    fields = ("order", "ledger_sum", "provider_holds", "currency")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LedgerCheck)
class LedgerCheckAdmin(ReadOnlyOperatorAdmin):
    list_display = ("ran_at", "orders_checked", "differences")
    inlines = [LedgerDifferenceInline]


@admin.register(LedgerDifference)
class LedgerDifferenceAdmin(ReadOnlyOperatorAdmin):
    list_display = ("order", "ledger_sum", "provider_holds", "difference", "currency", "check_run")
    list_select_related = ("order", "check_run")
    search_fields = ("order__number",)

    @admin.display(description=_("difference"))
    def difference(self, obj) -> str:
        return str(obj.difference)
