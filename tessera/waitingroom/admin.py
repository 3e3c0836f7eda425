"""Back office of the waiting room: organizers set rooms up for their sessions, pause,
resume, close and change the rate (list actions and the live page), and watch the live
figures (queued, admitted, active shoppers, places left, estimated wait)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.selectors import can_write
from tessera.catalog.admin import AuditedAdminMixin
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.waitingroom import services
from tessera.waitingroom.models import RateMode, WaitingRoom
from tessera.waitingroom.selectors import forget_rooms, get_live_figures


class WaitingRoomForm(forms.ModelForm):
    class Meta:
        model = WaitingRoom
        fields = [
            "organization",
            "name",
            "name_en",
            "sessions",
            "prequeue_opens_at",
            "opens_at",
            "rate_mode",
            "rate_per_minute",
            "max_active_shoppers",
            "pass_minutes",
        ]

    def clean(self):
        data = super().clean()
        pre, opens = data.get("prequeue_opens_at"), data.get("opens_at")
        if pre and opens and opens < pre:
            raise forms.ValidationError(_("The pre-queue must open before the on-sale."))
        org = data.get("organization")
        for session in data.get("sessions") or []:
            if org and session.event.organization_id != org.pk:
                raise forms.ValidationError(
                    _("Every session must belong to the organization's events.")
                )
        return data


class RateForm(forms.Form):
    rate_mode = forms.ChoiceField(choices=RateMode.choices, label=_("admission rate"))
    rate_per_minute = forms.IntegerField(min_value=1, label=_("fans admitted per minute"))


def _run(modeladmin, request, queryset, service, done_message) -> None:
    now = clock.now()
    done = 0
    for room in queryset.order_by("pk"):
        if not can_write(request.user, room.organization_id):
            continue
        try:
            service(room=room, actor=request.user, now=now)
        except DomainError as exc:
            modeladmin.message_user(request, f"{room}: {exc.message}", messages.ERROR)
        else:
            done += 1
    modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


@admin.action(description=_("Pause admission"), permissions=["change"])
def pause_rooms(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.pause_room, gettext("%(count)d room(s) paused."))


@admin.action(description=_("Resume admission"), permissions=["change"])
def resume_rooms(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.resume_room, gettext("%(count)d room(s) resumed."))


@admin.action(description=_("Close the waiting room"), permissions=["change"])
def close_rooms(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.close_room, gettext("%(count)d room(s) closed."))


@admin.register(WaitingRoom)
class WaitingRoomAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    form = WaitingRoomForm
    scoped_foreign_keys = {"sessions": "event__organization"}
    list_display = ["name", "organization", "opens_at", "state", "rate_mode", "live_link"]
    list_filter = ["status", "rate_mode"]
    readonly_fields = ["live_link"]
    search_fields = ["name"]
    filter_horizontal = ["sessions"]
    actions = [pause_rooms, resume_rooms, close_rooms]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        forget_rooms()  # its sessions may have changed

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        forget_rooms()

    @admin.display(description=_("state"), ordering="status")
    def state(self, obj):
        """The state in force now (the clock's pre-queue and open included), in the same
        words as the live page."""
        return obj.state_label_at(clock.now())

    @admin.display(description=_("live view"))
    def live_link(self, obj):
        if obj is None or obj.pk is None:
            return "–"
        url = reverse("admin:waitingroom_waitingroom_live", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Live view"))

    def get_urls(self):
        return [
            path(
                "<int:room_id>/live/",
                self.admin_site.admin_view(self.live_view),
                name="waitingroom_waitingroom_live",
            ),
            *super().get_urls(),
        ]

    def live_view(self, request, room_id: int):
        room = get_object_or_404(self.get_queryset(request), pk=room_id)
        if not self.has_view_permission(request, room):
            raise PermissionDenied
        now = clock.now()
        writable = self.has_change_permission(request, room)
        rate_form = RateForm(
            request.POST if request.POST.get("do") == "rate" else None,
            initial={"rate_mode": room.rate_mode, "rate_per_minute": room.rate_per_minute},
        )
        if request.method == "POST":
            if not writable:
                raise PermissionDenied
            action = request.POST.get("do")
            try:
                if action == "pause":
                    services.pause_room(room=room, actor=request.user, now=now)
                elif action == "resume":
                    services.resume_room(room=room, actor=request.user, now=now)
                elif action == "close":
                    services.close_room(room=room, actor=request.user, now=now)
                elif action == "rate" and rate_form.is_valid():
                    services.set_rate(
                        room=room, actor=request.user, now=now, **rate_form.cleaned_data
                    )
                elif action == "rate":
                    raise DomainError(gettext("Please give a rate of at least 1 fan a minute."))
            except DomainError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
            else:
                self.message_user(request, gettext("Saved."), messages.SUCCESS)
            return redirect("admin:waitingroom_waitingroom_live", room_id=room.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Live view: %(room)s") % {"room": room.display_name},
            "room": room,
            "figures": get_live_figures(room=room, now=now),
            "state_label": room.state_label_at(now),
            "rate_form": rate_form,
            "writable": writable,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "waitingroom/admin_live.html", context)
