"""Risk control's back office: the review queue (scoped to the order's organizer), the
scored decisions with their reasons, the under-attack switches, blocked accounts."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.selectors import can_write, is_platform_operator, list_organization_ids
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.risk import scoring, services
from tessera.risk.models import (
    AccountBlock,
    CaseStatus,
    ReviewCase,
    RiskDecision,
    UnderAttack,
)


def reasons_table(reasons: list[dict]):
    """The reasons of a score or a flag as a table: what, weight, details."""
    if not reasons:
        return "—"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td class='risk-weight'>+{}</td><td>{}</td></tr>",
        (
            (
                scoring.label(r.get("code", "")),
                r.get("weight", 0),
                ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("code", "weight")),
            )
            for r in reasons
        ),
    )
    return format_html(
        "<table class='risk-reasons'><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr>"
        "</thead><tbody>{}</tbody></table>",
        gettext("Reason"),
        gettext("Weight"),
        gettext("Details"),
        rows,
    )


def reasons_summary(reasons: list[dict]) -> str:
    return ", ".join(f"{scoring.label(r.get('code', ''))} +{r.get('weight', 0)}" for r in reasons)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea({"rows": 3}))


@admin.register(ReviewCase)
class ReviewCaseAdmin(OrganizationScopedAdmin):
    """The risk review queue: release, cancel and refund, or block the account."""

    org_field = "order__session__event__organization"
    list_display = ["order", "score", "summary", "status", "buyer", "event", "flagged_at"]
    list_filter = ["status"]
    search_fields = ["order__number", "order__user__username", "order__phone", "order__email"]
    list_select_related = ["order__user", "order__session__event"]
    readonly_fields = [
        "order",
        "buyer",
        "event",
        "score",
        "explanation",
        "status",
        "flagged_at",
        "decided_at",
        "decided_by",
        "note",
    ]
    fields = readonly_fields
    actions = ["release_selected", "cancel_selected", "block_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_decide_permission(self, request) -> bool:
        return self._is_member(request) and self._writes_somewhere(request)

    @admin.display(description=_("buyer"))
    def buyer(self, obj):
        return obj.order.user

    @admin.display(description=_("event"))
    def event(self, obj):
        return obj.order.session.event.display_name

    @admin.display(description=_("reasons"))
    def summary(self, obj):
        return reasons_summary(obj.reasons)

    @admin.display(description=_("why it was flagged"))
    def explanation(self, obj):
        return reasons_table(obj.reasons)

    def _decide(self, request, queryset, decide) -> int:
        done = 0
        now = clock.now()
        for case in queryset.filter(status=CaseStatus.OPEN).select_related(
            "order__session__event", "order__user"
        ):
            if not can_write(request.user, self.organization_id_of(case)):
                self.message_user(
                    request,
                    gettext("%(number)s: you cannot decide cases of this organization.")
                    % {"number": case.order.number},
                    messages.WARNING,
                )
                continue
            try:
                decide(case, now)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{case.order.number}: {exc.message}", messages.WARNING)
        return done

    def _with_reason(self, request, queryset, *, action, intro, submit, decide, done_message):
        waiting = queryset.filter(status=CaseStatus.OPEN)
        form = ReasonForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = self._decide(request, waiting, lambda case, now: decide(case, reason, now))
            if done:
                self.message_user(request, done_message % {"count": done}, messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/risk/decide_cases.html",
            {
                **self.admin_site.each_context(request),
                "title": submit,
                "intro": intro,
                "submit": submit,
                "action": action,
                "form": form,
                "cases": waiting.select_related("order__user"),
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(
        description=_("Release the selected orders (clear the flag)"), permissions=["decide"]
    )
    def release_selected(self, request, queryset):
        done = self._decide(
            request,
            queryset,
            lambda case, now: services.release_case(case=case, actor=request.user, now=now),
        )
        if done:
            self.message_user(
                request, gettext("%(count)d orders released.") % {"count": done}, messages.SUCCESS
            )

    @admin.action(description=_("Cancel and refund the selected orders"), permissions=["decide"])
    def cancel_selected(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            action="cancel_selected",
            intro=gettext("These orders will be cancelled; paid ones are refunded in full."),
            submit=gettext("Cancel and refund"),
            decide=lambda case, reason, now: services.cancel_case(
                case=case, actor=request.user, reason=reason, now=now
            ),
            done_message=gettext("%(count)d orders cancelled."),
        )

    @admin.action(description=_("Block the buyers of the selected orders"), permissions=["decide"])
    def block_selected(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            action="block_selected",
            intro=gettext("These accounts will be blocked: they cannot sign in or buy."),
            submit=gettext("Block the accounts"),
            decide=lambda case, reason, now: services.block_account(
                user=case.order.user, actor=request.user, reason=reason, now=now, case=case
            ),
            done_message=gettext("%(count)d accounts blocked."),
        )


class _OrganizerOrRoom(OrganizationScopedAdmin):
    """Rows of a session (its event's organizer) or of a waiting room (the room's)."""

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if is_platform_operator(request.user):
            return queryset
        ids = list_organization_ids(request.user)
        return queryset.filter(
            Q(session__event__organization_id__in=ids) | Q(room__organization_id__in=ids)
        )

    def organization_id_of(self, obj) -> int | None:
        if obj.session_id:
            return obj.session.event.organization_id
        if obj.room_id:
            return obj.room.organization_id
        return None


@admin.register(RiskDecision)
class RiskDecisionAdmin(_OrganizerOrRoom):
    """Every recorded join/hold decision, explained: score, reasons and weights."""

    list_display = ["at", "action", "score", "summary", "purpose", "user", "device_key", "address"]
    list_filter = ["action", "purpose", "under_attack"]
    search_fields = ["user__username", "device_key", "address", "path"]
    list_select_related = ["user"]
    readonly_fields = [
        "at",
        "action",
        "score",
        "explanation",
        "purpose",
        "path",
        "session",
        "room",
        "user",
        "device_key",
        "address",
        "under_attack",
        "proof",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("reasons"))
    def summary(self, obj):
        return reasons_summary(obj.reasons)

    @admin.display(description=_("why"))
    def explanation(self, obj):
        return reasons_table(obj.reasons)


class UnderAttackForm(forms.ModelForm):
    class Meta:
        model = UnderAttack
        fields = ["session", "room", "note"]

    def clean(self):
        data = super().clean()
        if bool(data.get("session")) == bool(data.get("room")):
            raise forms.ValidationError(_("Choose a session or a waiting room (one of them)."))
        return data


@admin.register(UnderAttack)
class UnderAttackAdmin(_OrganizerOrRoom):
    """The organizer's under-attack switch, and the automatic ones, with their end."""

    form = UnderAttackForm
    list_display = ["__str__", "source", "is_active", "started_at", "ends_at", "rate"]
    list_filter = ["source", "is_active"]
    scoped_foreign_keys = {"session": "event__organization", "room": "organization"}
    actions = ["switch_off"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["session", "room", "note", "source", "is_active", "started_at", "ends_at"]
        return []

    def get_fields(self, request, obj=None):
        if obj is not None:
            return self.get_readonly_fields(request, obj)
        return ["session", "room", "note"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        organization_id = (
            obj.session.event.organization_id if obj.session_id else obj.room.organization_id
        )
        if not can_write(request.user, organization_id):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied(gettext("You cannot write data of this organization."))
        switch = services.set_under_attack(
            actor=request.user,
            on=True,
            now=clock.now(),
            session=obj.session,
            room=obj.room,
            note=obj.note,
        )
        obj.pk = switch.pk

    @admin.action(description=_("Switch off"), permissions=["change"])
    def switch_off(self, request, queryset):
        now = clock.now()
        for switch in queryset.filter(is_active=True).select_related("session__event", "room"):
            if can_write(request.user, self.organization_id_of(switch)):
                services.set_under_attack(
                    actor=request.user, on=False, now=now, session=switch.session, room=switch.room
                )


@admin.register(AccountBlock)
class AccountBlockAdmin(admin.ModelAdmin):
    """Blocked accounts (platform operators): unblock."""

    list_display = ["user", "reason", "blocked_at", "blocked_by", "case"]
    search_fields = ["user__username", "user__email", "user__phone"]
    readonly_fields = ["user", "reason", "blocked_at", "blocked_by", "case"]
    actions = ["unblock_selected"]

    def _platform(self, request) -> bool:
        return (
            request.user.is_active and request.user.is_staff and is_platform_operator(request.user)
        )

    def has_module_permission(self, request):
        return self._platform(request)

    def has_view_permission(self, request, obj=None):
        return self._platform(request)

    def has_change_permission(self, request, obj=None):
        return self._platform(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Unblock the selected accounts"), permissions=["change"])
    def unblock_selected(self, request, queryset):
        now = clock.now()
        for block in queryset.select_related("user"):
            services.unblock_account(block=block, actor=request.user, now=now)
