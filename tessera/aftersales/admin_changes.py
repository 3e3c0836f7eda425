"""The back office of session changes: cancel or postpone a session (or cancel a whole
event), then watch the job's progress bar (done / total, failures listed and retried).

The catalog's session and event actions "cancel" are replaced here by ones that go through
``changes.start_cancellation``: a session with paid orders is never cancelled without its
orders being refunded. Every start goes through ``changes``; refusals show the service's
translated message and change nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.selectors import can_write
from tessera.aftersales import changes
from tessera.aftersales.models import ChangeStatus, SessionChange
from tessera.catalog import admin as catalog_admin
from tessera.catalog.models import Session, SessionStatus
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.venues.models import Layout


class ChangeReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the fans read it)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PostponeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the fans read it)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    new_starts_at = forms.DateTimeField(
        label=_("New date and time"),
        required=False,
        help_text=_("Leave empty when the new date is to be announced."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    refund_until = forms.DateTimeField(
        label=_("Fans may ask for a full refund until"),
        required=False,
        help_text=_("Leave empty to offer no refund."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class MoveForm(forms.Form):
    """Move a session to a layout of another venue: a price zone (or "not on sale") for each
    section of the new layout, and, optionally, for each section of the old layout the new
    section its places go to."""

    reason = forms.CharField(
        label=_("Reason (the fans read it)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    refund_until = forms.DateTimeField(
        label=_("Fans may ask for a full refund until"),
        required=False,
        help_text=_("Leave empty to offer no refund."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, session, layout, **kwargs):
        super().__init__(*args, **kwargs)
        zones = [("", gettext("Not on sale"))] + [
            (str(z.pk), f"{z.display_name} · {z.price} {z.currency}")
            for z in session.price_zones.order_by("sort_order", "pk")
        ]
        self.new_sections = list(layout.sections.order_by("sort_order", "pk"))
        self.old_sections = list(session.layout.sections.order_by("sort_order", "pk"))
        for section in self.new_sections:
            self.fields[f"zone_{section.pk}"] = forms.ChoiceField(
                label=gettext("Price zone of %(section)s") % {"section": section.display_name},
                choices=zones,
                required=False,
            )
        targets = [("", gettext("Any section of the price zone"))] + [
            (str(x.pk), x.display_name) for x in self.new_sections
        ]
        for section in self.old_sections:
            self.fields[f"map_{section.pk}"] = forms.ChoiceField(
                label=gettext("Places of %(section)s go to") % {"section": section.display_name},
                choices=targets,
                required=False,
            )

    def zones(self) -> dict[int, int]:
        return {
            x.pk: int(self.cleaned_data[f"zone_{x.pk}"])
            for x in self.new_sections
            if self.cleaned_data.get(f"zone_{x.pk}")
        }

    def section_map(self) -> dict[int, int]:
        return {
            x.pk: int(self.cleaned_data[f"map_{x.pk}"])
            for x in self.old_sections
            if self.cleaned_data.get(f"map_{x.pk}")
        }


def _writable(request, queryset, org_field: str):
    allowed = []
    for obj in queryset:
        organization_id = (
            obj.event.organization_id if org_field == "session" else obj.organization_id
        )
        if can_write(request.user, organization_id):
            allowed.append(obj)
        else:
            messages.warning(
                request,
                gettext("%(name)s: you cannot change this organization's sessions.")
                % {"name": obj},
            )
    return allowed


def _changes_url() -> str:
    return reverse("admin:aftersales_sessionchange_changelist")


@admin.action(
    description=_("Cancel the selected sessions (refund every order)"), permissions=["change"]
)
def cancel_sessions(modeladmin, request, queryset):
    sessions = _writable(
        request,
        queryset.exclude(status=SessionStatus.CANCELLED).select_related("event", "layout__venue"),
        "session",
    )
    form = ChangeReasonForm(request.POST if "reason" in request.POST else None)
    if form.is_bound and form.is_valid() and sessions:
        started = []
        for session in sessions:
            try:
                started.append(
                    changes.start_cancellation(
                        session=session,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                        now=clock.now(),
                    )
                )
            except DomainError as exc:
                messages.error(request, f"{session}: {exc.message}")
        if started:
            messages.success(
                request,
                gettext("%(count)d session(s) cancelled; their orders are being refunded.")
                % {"count": len(started)},
            )
            if len(started) == 1:
                return HttpResponseRedirect(
                    reverse("admin:aftersales_sessionchange_change", args=[started[0].pk])
                )
            return HttpResponseRedirect(_changes_url())
        return None
    if not sessions:
        return None
    return TemplateResponse(
        request,
        "admin/aftersales/sessionchange/confirm_cancel.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": gettext("Cancel sessions"),
            "form": form,
            "objects": sessions,
            "action": "cancel_sessions",
            "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


@admin.action(description=_("Postpone the selected session"), permissions=["change"])
def postpone_session(modeladmin, request, queryset):
    sessions = _writable(request, queryset.select_related("event"), "session")
    if len(sessions) != 1:
        messages.error(request, gettext("Choose exactly one session to postpone."))
        return None
    return HttpResponseRedirect(
        reverse("admin:aftersales_sessionchange_postpone", args=[sessions[0].pk])
    )


@admin.action(description=_("Move the selected session to another venue"), permissions=["change"])
def move_session(modeladmin, request, queryset):
    sessions = _writable(request, queryset.select_related("event"), "session")
    if len(sessions) != 1:
        messages.error(request, gettext("Choose exactly one session to move."))
        return None
    return HttpResponseRedirect(
        reverse("admin:aftersales_sessionchange_move", args=[sessions[0].pk])
    )


@admin.action(
    description=_("Cancel the selected events and their sessions (refund every order)"),
    permissions=["change"],
)
def cancel_events(modeladmin, request, queryset):
    events = _writable(request, queryset.order_by("pk"), "event")
    form = ChangeReasonForm(request.POST if "reason" in request.POST else None)
    if form.is_bound and form.is_valid() and events:
        done = 0
        for event in events:
            try:
                changes.start_event_cancellation(
                    event=event,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    now=clock.now(),
                )
                done += 1
            except DomainError as exc:
                messages.error(request, f"{event}: {exc.message}")
        if done:
            messages.success(
                request,
                gettext("%(count)d event(s) cancelled; their orders are being refunded.")
                % {"count": done},
            )
            return HttpResponseRedirect(_changes_url())
        return None
    if not events:
        return None
    return TemplateResponse(
        request,
        "admin/aftersales/sessionchange/confirm_cancel.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": gettext("Cancel events"),
            "form": form,
            "objects": events,
            "action": "cancel_events",
            "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


# The catalog's own "cancel" actions would refuse a session with paid orders: these replace
# them, so cancelling from the back office always refunds.
catalog_admin.SessionAdmin.actions = [cancel_sessions, postpone_session, move_session]
catalog_admin.EventAdmin.actions = [catalog_admin.publish_events, cancel_events]


@admin.register(SessionChange)
class SessionChangeAdmin(OrganizationScopedAdmin):
    """Session changes: read-only rows; each one's page is its progress bar."""

    org_field = "session__event__organization"
    list_display = ["session", "kind", "status", "progress_text", "failed", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["session__event", "session__layout__venue"]
    search_fields = ["session__event__name", "session__event__name_en", "reason"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("progress"))
    def progress_text(self, obj):
        return f"{obj.done + obj.failed} / {obj.total}"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/progress.json",
                wrap(self.progress_json_view),
                name="aftersales_sessionchange_progress",
            ),
            path("<int:pk>/retry/", wrap(self.retry_view), name="aftersales_sessionchange_retry"),
            path(
                "postpone/<int:session_pk>/",
                wrap(self.postpone_view),
                name="aftersales_sessionchange_postpone",
            ),
            path(
                "move/<int:session_pk>/",
                wrap(self.move_view),
                name="aftersales_sessionchange_move",
            ),
            *super().get_urls(),
        ]

    def _change(self, request, pk: int) -> SessionChange:
        change = (
            self.get_queryset(request)
            .select_related("session__event", "session__layout__venue")
            .filter(pk=pk)
            .first()
        )
        if change is None:
            raise Http404
        return change

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            pk = int(object_id)
        except (TypeError, ValueError):
            raise Http404 from None
        change = self._change(request, pk)
        state = changes.progress(change)
        return TemplateResponse(
            request,
            "admin/aftersales/sessionchange/progress.html",
            {
                **self.admin_site.each_context(request),
                "title": str(change),
                "change": change,
                "state": state,
                "new_date": changes.local_text(change.new_starts_at, change.session),
                "refund_until": changes.local_text(change.refund_until, change.session),
                "venue_zone": str(change.session.layout.venue.zone_info),
                "can_retry": can_write(request.user, change.session.event.organization_id)
                and (change.failed or change.status == ChangeStatus.RUNNING),
                "opts": self.model._meta,
            },
        )

    def progress_json_view(self, request, pk: int):
        return JsonResponse(changes.progress(self._change(request, pk)))

    def retry_view(self, request, pk: int):
        change = self._change(request, pk)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:aftersales_sessionchange_change", args=[pk]))
        if not can_write(request.user, change.session.event.organization_id):
            raise PermissionDenied
        count = changes.retry_failed(change=change, actor=request.user, now=clock.now())
        self.message_user(
            request,
            gettext("%(count)d failed order(s) put back in the queue; the job runs again.")
            % {"count": count},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:aftersales_sessionchange_change", args=[pk]))

    def postpone_view(self, request, session_pk: int):
        session_admin = self.admin_site._registry[Session]
        session = (
            session_admin.get_queryset(request)
            .select_related("event", "layout__venue")
            .filter(pk=session_pk)
            .first()
        )
        if session is None:
            raise Http404
        if not can_write(request.user, session.event.organization_id):
            raise PermissionDenied
        # the dates are typed in the venue's time zone, as the fans read them
        venue_zone = session.layout.venue.zone_info
        with timezone.override(venue_zone):
            form = PostponeForm(request.POST if request.method == "POST" else None)
            valid = form.is_bound and form.is_valid()
        if valid:
            try:
                change = changes.start_postponement(
                    session=session,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    new_starts_at=form.cleaned_data["new_starts_at"],
                    refund_until=form.cleaned_data["refund_until"],
                    now=clock.now(),
                )
            except DomainError as exc:
                form.add_error(None, str(exc.message))
            else:
                self.message_user(
                    request,
                    gettext("The session is postponed; its tickets are being re-dated."),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:aftersales_sessionchange_change", args=[change.pk])
                )
        pending = SessionChange.objects.filter(session=session, status=ChangeStatus.RUNNING)
        return TemplateResponse(
            request,
            "admin/aftersales/sessionchange/postpone.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Postpone %(session)s") % {"session": session},
                "session": session,
                "form": form,
                "running": pending.first(),
                "venue_zone": str(venue_zone),
                "opts": self.model._meta,
            },
        )

    def move_view(self, request, session_pk: int):
        session_admin = self.admin_site._registry[Session]
        session = (
            session_admin.get_queryset(request)
            .select_related("event", "layout__venue")
            .filter(pk=session_pk)
            .first()
        )
        if session is None:
            raise Http404
        if not can_write(request.user, session.event.organization_id):
            raise PermissionDenied
        layouts = list(
            Layout.objects.select_related("venue__city")
            .exclude(pk=session.layout_id)
            .order_by("venue__name", "name")
        )
        chosen = request.POST.get("layout") or request.GET.get("layout")
        layout = next((x for x in layouts if str(x.pk) == chosen), None)
        venue_zone = session.layout.venue.zone_info
        form = None
        if layout is not None:
            with timezone.override(venue_zone):
                form = MoveForm(
                    request.POST if request.method == "POST" else None,
                    session=session,
                    layout=layout,
                )
                valid = form.is_bound and form.is_valid()
            if valid:
                try:
                    change = changes.start_move(
                        session=session,
                        layout=layout,
                        zones=form.zones(),
                        section_map=form.section_map(),
                        refund_until=form.cleaned_data["refund_until"],
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                        now=clock.now(),
                    )
                except DomainError as exc:
                    form.add_error(None, str(exc.message))
                else:
                    self.message_user(
                        request,
                        gettext(
                            "The session is moved; its places are being mapped and its "
                            "tickets reissued."
                        ),
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:aftersales_sessionchange_change", args=[change.pk])
                    )
        pending = SessionChange.objects.filter(session=session, status=ChangeStatus.RUNNING)
        return TemplateResponse(
            request,
            "admin/aftersales/sessionchange/move.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Move %(session)s to another venue") % {"session": session},
                "session": session,
                "layouts": layouts,
                "layout": layout,
                "form": form,
                "running": pending.first(),
                "venue_zone": str(venue_zone),
                "opts": self.model._meta,
            },
        )
