"""The back office of support: the help centre's entries, canned replies and the inbox.

Scoped like every back-office page (``OrganizationScopedAdmin``): an organizer's members see
their own organization's entries and queue; the platform's (no organization) belong to
platform operators. Owners, managers and staff answer; finance members only read. Every
action goes through ``services`` (audited).
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.selectors import can_write, is_platform_operator, list_organization_ids
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.support import selectors, services
from tessera.support.models import (
    CannedReply,
    Conversation,
    FaqEntry,
)

METRICS_DAYS = 30


@admin.register(FaqEntry)
class FaqEntryAdmin(OrganizationScopedAdmin):
    list_display = (
        "question",
        "question_en",
        "topic",
        "organization",
        "is_published",
        "updated_at",
    )
    list_filter = ("topic", "is_published")
    search_fields = ("question", "question_en", "keywords", "slug")
    prepopulated_fields = {"slug": ("question_en",)}
    fields = (
        "organization",
        "topic",
        "slug",
        "question",
        "question_en",
        "answer",
        "answer_en",
        "keywords",
        "is_published",
        "sort_order",
    )


@admin.register(CannedReply)
class CannedReplyAdmin(OrganizationScopedAdmin):
    list_display = ("title", "organization", "updated_at")
    search_fields = ("title", "body", "body_en")
    fields = ("organization", "title", "body", "body_en")


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Reply"), widget=forms.Textarea(attrs={"rows": 4, "cols": 70}), max_length=4000
    )
    is_note = forms.BooleanField(label=_("Internal note (the fan does not see it)"), required=False)


class AssignedFilter(admin.SimpleListFilter):
    title = _("assigned")
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", _("To me")), ("nobody", _("To nobody"))]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        return queryset


@admin.register(Conversation)
class ConversationAdmin(OrganizationScopedAdmin):
    """The support inbox: people waiting first (priority, then longest wait)."""

    list_display = (
        "short_id",
        "user",
        "status",
        "is_priority",
        "organization",
        "assigned_to",
        "sla",
        "last_message_at",
    )
    list_filter = ("status", "is_priority", AssignedFilter)
    search_fields = ("user__username", "user__email", "user__phone", "order__number")
    list_select_related = ("user", "organization", "assigned_to")
    ordering = ("-is_priority", "escalated_at", "-last_message_at")

    @admin.display(description=_("conversation"))
    def short_id(self, obj):
        return str(obj)

    @admin.display(description=_("first answer due"))
    def sla(self, obj):
        due = selectors.sla_due_at(obj)
        if due is None:
            return "—"
        late = due < clock.now()
        text = due.strftime("%Y-%m-%d %H:%M UTC")
        if late:
            return format_html(
                '<strong style="color:#ba2121">{} · {}</strong>', text, gettext("late")
            )
        return text

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "metrics/",
                self.admin_site.admin_view(self.metrics_view),
                name="support_conversation_metrics",
            ),
            *super().get_urls(),
        ]

    def _organization_ids(self, request) -> list[int] | None:
        return None if is_platform_operator(request.user) else list_organization_ids(request.user)

    def metrics_view(self, request):
        if not self.has_module_permission(request):
            raise PermissionDenied
        now = clock.now()
        rows = selectors.daily_metrics(
            self.get_queryset(request),
            since=now - timedelta(days=METRICS_DAYS),
            zone=timezone.get_current_timezone(),
        )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Support figures per day"),
            "rows": rows,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/support/metrics.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        conversation = (
            self.get_queryset(request).filter(pk=object_id).first()
            if str(object_id).isdigit()
            else None
        )
        if conversation is None or not self.has_view_permission(request, conversation):
            raise Http404
        writes = can_write(request.user, conversation.organization_id)
        form = ReplyForm()
        if request.method == "POST":
            if not writes:
                raise PermissionDenied
            now = clock.now()
            action = request.POST.get("action", "")
            try:
                if action == "reply":
                    form = ReplyForm(request.POST)
                    if form.is_valid():
                        services.reply_as_agent(
                            conversation=conversation,
                            agent=request.user,
                            text=form.cleaned_data["text"],
                            is_note=form.cleaned_data["is_note"],
                            now=now,
                        )
                        return HttpResponseRedirect(request.path)
                elif action == "assign":
                    services.assign(
                        conversation=conversation, agent=request.user, actor=request.user, now=now
                    )
                    return HttpResponseRedirect(request.path)
                elif action == "assist" and conversation.user is not None:
                    # the fan asked the agent for elder-friendly help
                    services.set_preference(user=conversation.user, needs_assistance=True, now=now)
                    messages.success(
                        request, gettext("The large text mode will be suggested to this fan.")
                    )
                    return HttpResponseRedirect(request.path)
                elif action == "close":
                    services.close(conversation=conversation, actor=request.user, now=now)
                    messages.success(request, gettext("The conversation is closed."))
                    return HttpResponseRedirect(request.path)
            except DomainError as refused:
                messages.error(request, str(refused.message))
        canned = CannedReply.objects.all()
        if not is_platform_operator(request.user):
            from django.db.models import Q

            canned = canned.filter(
                Q(organization__isnull=True)
                | Q(organization_id__in=list_organization_ids(request.user))
            )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Conversation %(id)s") % {"id": conversation},
            "conversation": conversation,
            "history": conversation.messages.select_related("author", "faq").order_by("pk"),
            "orders": selectors.fan_orders_for_agent(
                conversation, organization_ids=self._organization_ids(request)
            ),
            "sla_due_at": selectors.sla_due_at(conversation),
            "form": form,
            "writes": writes,
            "canned": [
                {
                    "title": reply.title,
                    "body": reply.body_en
                    if conversation.language == "en" and reply.body_en
                    else reply.body,
                }
                for reply in canned[:50]
            ],
            "opts": self.model._meta,
            "has_view_permission": True,
            "preference": services.preference_of(conversation.user),
            "metrics_url": reverse("admin:support_conversation_metrics"),
        }
        return TemplateResponse(request, "admin/support/conversation.html", context)
