"""Back office of notifications: announcements to a session's holders (draft, preview in
both languages, send, progress done/total), the match-day guide of a session, and for
platform operators the outbox with its delivery log and the sandbox's text messages."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.selectors import can_write, is_platform_operator
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.notifications import announcements
from tessera.notifications.models import (
    Announcement,
    AnnouncementStatus,
    DeliveryAttempt,
    MatchDayGuide,
    Message,
    SmsSandboxRecord,
)


@admin.register(MatchDayGuide)
class MatchDayGuideAdmin(OrganizationScopedAdmin):
    org_field = "session__event__organization"
    scoped_foreign_keys = {"session": "event__organization"}
    list_display = ["session"]
    autocomplete_fields = ["session"]


@admin.register(Announcement)
class AnnouncementAdmin(OrganizationScopedAdmin):
    org_field = "session__event__organization"
    scoped_foreign_keys = {"session": "event__organization"}
    list_display = ["subject", "session", "status", "progress_text", "created_at"]
    list_filter = ["status"]
    autocomplete_fields = ["session"]
    fields = ["session", "subject", "subject_en", "body", "body_en", "is_marketing"]
    change_form_template = "admin/notifications/announcement/change_form.html"

    @admin.display(description=_("progress"))
    def progress_text(self, obj):
        return f"{obj.done} / {obj.total}"

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != AnnouncementStatus.DRAFT:
            return self.fields
        return []

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.created_at = clock.now()
        super().save_model(request, obj, form, change)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/send/", wrap(self.send_view), name="notifications_announcement_send"),
            path(
                "<int:pk>/preview/",
                wrap(self.preview_view),
                name="notifications_announcement_preview",
            ),
            *super().get_urls(),
        ]

    def _announcement(self, request, pk: int) -> Announcement:
        found = self.get_queryset(request).filter(pk=pk).first()
        if found is None or not self.has_view_permission(request, found):
            raise Http404
        return found

    def preview_view(self, request, pk: int):
        announcement = self._announcement(request, pk)
        now = clock.now()
        from tessera.notifications.producers import count_holders

        context = {
            **self.admin_site.each_context(request),
            "title": _t("Preview: %(subject)s") % {"subject": announcement.subject},
            "announcement": announcement,
            "previews": [
                (
                    "简体中文",
                    announcements.preview(announcement=announcement, language="zh-hans", now=now),
                ),
                (
                    "English",
                    announcements.preview(announcement=announcement, language="en", now=now),
                ),
            ],
            "recipients": count_holders(announcement.session_id),
            "can_send": announcement.status == AnnouncementStatus.DRAFT
            and can_write(request.user, self.organization_id_of(announcement)),
            "opts": self.model._meta,
        }
        return render(request, "admin/notifications/announcement/preview.html", context)

    def send_view(self, request, pk: int):
        announcement = self._announcement(request, pk)
        if request.method != "POST":
            return HttpResponseRedirect(
                reverse("admin:notifications_announcement_preview", args=[pk])
            )
        if not can_write(request.user, self.organization_id_of(announcement)):
            raise PermissionDenied
        try:
            announcements.start_sending(
                announcement=announcement, actor=request.user, now=clock.now()
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _t("Sending started."))
        return HttpResponseRedirect(reverse("admin:notifications_announcement_change", args=[pk]))


class OperatorOnlyAdmin(admin.ModelAdmin):
    """Messages carry people's addresses across organizations: platform operators only."""

    def has_module_permission(self, request):
        return request.user.is_active and is_platform_operator(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["number", "provider", "outcome", "provider_reference", "error", "at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(OperatorOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "channel",
        "address",
        "status",
        "attempts",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["key", "address"]
    inlines = [DeliveryAttemptInline]
    # not the context: a password reset's link waits there until it is sent
    fields = readonly_fields = [f.name for f in Message._meta.fields if f.name != "context"]


@admin.register(SmsSandboxRecord)
class SmsSandboxRecordAdmin(OperatorOnlyAdmin):
    list_display = ["phone", "text", "reference", "accepted_at"]
    search_fields = ["phone", "key"]
