"""The back office of statements, for the platform's finance (every partner) and each
partner's members (their own): read-only figures, downloads, regenerate drafts, approve."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.models import Membership
from tessera.accounts.selectors import is_platform_operator
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.settlement import services
from tessera.settlement.models import Statement, StatementLine, StatementStatus


class StatementLineInline(admin.TabularInline):
    model = StatementLine
    extra = 0
    can_delete = False
    fields = (
        "event_name",
        "session_starts_at",
        "orders",
        "tickets_sold",
        "tickets_refunded",
        "gross",
        "refunds",
        "fees",
        "platform_fee",
        "commission",
        "net_payable",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Statement)
class StatementAdmin(OrganizationScopedAdmin):
    list_display = (
        "organization",
        "role",
        "starts_on",
        "ends_on",
        "status",
        "gross",
        "refunds",
        "fees",
        "commission",
        "net_payable",
        "currency",
    )
    list_filter = ("status", "role", "cycle")
    date_hierarchy = "starts_on"
    search_fields = ("organization__name", "organization__name_en", "payment_reference")
    inlines = [StatementLineInline]
    actions = ["regenerate_drafts", "approve_statements"]
    readonly_fields = (*(f.name for f in Statement._meta.fields if f.name != "id"), "downloads")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request, obj=None):
        user = request.user
        return (
            is_platform_operator(user)
            or Membership.objects.filter(
                user=user, role__in=services.APPROVER_ROLES, organization__is_active=True
            ).exists()
        )

    @admin.display(description=_("downloads"))
    def downloads(self, obj):
        if obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}?org={}">XLSX</a> · <a href="{}?org={}">PDF</a>',
            reverse("settlement:statement_xlsx", args=[obj.pk]),
            obj.organization_id,
            reverse("settlement:statement_pdf", args=[obj.pk]),
            obj.organization_id,
        )

    @admin.action(description=_("Regenerate the selected drafts"), permissions=["approve"])
    def regenerate_drafts(self, request, queryset):
        now = clock.now()
        done = 0
        for statement in queryset.filter(status=StatementStatus.DRAFT):
            if not services.may_settle(request.user, statement.organization_id):
                continue
            services.regenerate_statement(statement=statement, now=now, actor=request.user)
            done += 1
        self.message_user(request, _("%(n)d statements regenerated.") % {"n": done})

    @admin.action(description=_("Approve the selected statements"), permissions=["approve"])
    def approve_statements(self, request, queryset):
        now = clock.now()
        done = 0
        for statement in queryset:
            try:
                services.approve_statement(statement=statement, actor=request.user, now=now)
            except DomainError as exc:
                self.message_user(request, f"{statement}: {exc.message}", messages.WARNING)
            else:
                done += 1
        self.message_user(request, _("%(n)d statements approved.") % {"n": done})
