"""The back office of orders and after-sales, scoped by organization.

Organizers see their organizations' orders and refund requests, platform operators see all
(``OrganizationScopedAdmin``). Owners, managers and staff act (send tickets again, correct
a name, cancel with a refund, sell at the box office, decide refund requests); finance
members read and export only. Every action goes through a service, which audits it; a
refusal is shown as the service's translated message and changes nothing.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.selectors import (
    WRITE_ROLES,
    can_write,
    is_platform_operator,
    list_organization_ids,
)
from tessera.aftersales import backoffice, services
from tessera.aftersales.corrections import correct_attendee_name
from tessera.aftersales.models import RefundRequest, RefundRequestLine, RequestStatus
from tessera.aftersales.selectors import requests_of_order
from tessera.catalog.models import PriceZone, Session
from tessera.core import clock, exports
from tessera.core.errors import DomainError
from tessera.orders.models import Order
from tessera.payments.models import Payment, Provider, Refund, RefundStatus
from tessera.payments.services import settle_refund_by_hand
from tessera.sale.box_office import sell_at_box_office
from tessera.sale.choices import ChoiceInvalid, PlaceChoice
from tessera.tickets import delivery
from tessera.tickets.models import Ticket

admin.site.index_template = "admin/aftersales/index.html"

_SEAT = re.compile(r"^\s*([^\s-]+)-([^\s-]+)-([^\s-]+)\s*$")


def _writes(request, organization_id: int | None) -> bool:
    return can_write(request.user, organization_id)


# -- list filters ---------------------------------------------------------------------------


class StuckFilter(admin.SimpleListFilter):
    title = _("stuck in payment")
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [
            ("waiting", _("Payment started, no callback")),
            ("unfulfilled", _("Paid, not fulfilled")),
        ]

    def queryset(self, request, queryset):
        now = clock.now()
        if self.value() == "waiting":
            return backoffice.waiting_for_callback(queryset, now=now)
        if self.value() == "unfulfilled":
            return backoffice.paid_not_fulfilled(queryset, now=now)
        return queryset


# -- forms ----------------------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea({"rows": 3}))


class CorrectNameForm(forms.Form):
    line = forms.IntegerField(widget=forms.HiddenInput)
    name = forms.CharField(label=_("Correct name"), max_length=80)


class ZoneChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.session} · {obj.display_name} · {obj.price} {obj.currency}"


class BoxOfficeForm(forms.Form):
    session = forms.ModelChoiceField(label=_("Session"), queryset=Session.objects.none())
    zone = ZoneChoiceField(label=_("Price zone"), queryset=PriceZone.objects.none(), required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100, required=False)
    seats = forms.CharField(
        label=_("Seats"),
        required=False,
        max_length=2000,
        help_text=_("Or seats as section-row-seat, separated by commas, e.g. 101-5-12, 101-5-13."),
    )
    buyer_name = forms.CharField(label=_("Buyer's name"), max_length=80)
    phone = forms.CharField(label=_("Mobile phone"), max_length=32, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    method = forms.ChoiceField(
        label=_("Paid with"),
        choices=[("cash", _("Cash")), ("card", _("Card"))],
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, sessions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["session"].queryset = sessions
        self.fields["zone"].queryset = (
            PriceZone.objects.filter(session__in=sessions)
            .select_related("session__event", "session__layout__venue")
            .order_by("session__starts_at", "sort_order")
        )

    def clean(self):
        data = super().clean()
        seats, zone, quantity = data.get("seats"), data.get("zone"), data.get("quantity")
        session = data.get("session")
        if seats and (zone or quantity):
            raise forms.ValidationError(gettext("Choose a zone and a quantity, or seats."))
        if not seats and not (zone and quantity):
            raise forms.ValidationError(gettext("Choose a zone and a quantity, or seats."))
        if zone is not None and session is not None and zone.session_id != session.pk:
            self.add_error("zone", gettext("This price zone belongs to another session."))
        return data

    def choice(self) -> PlaceChoice:
        data = self.cleaned_data
        if data.get("seats"):
            return PlaceChoice.parse({"seat_labels": data["seats"]})
        return PlaceChoice.parse(
            {"zone": data["zone"].pk, "quantity": data["quantity"], "best_available": True}
        )


# -- orders ---------------------------------------------------------------------------------


class OrderAdmin(OrganizationScopedAdmin):
    """Orders: search, filters, the order page with its timeline, and the actions."""

    org_field = "session__event__organization"
    list_display = [
        "number",
        "event",
        "session_starts",
        "status",
        "buyer",
        "phone",
        "total",
        "currency",
        "created_at",
    ]
    list_filter = [
        ("session__event", admin.RelatedOnlyFieldListFilter),
        ("session", admin.RelatedOnlyFieldListFilter),
        "status",
        StuckFilter,
    ]
    search_fields = [
        "=number",
        "user__display_name",
        "user__username",
        "email",
        "phone",
        "user__email",
        "user__phone",
        "lines__attendee_name",
        "=lines__section_code",
    ]
    list_select_related = ["session__event", "session__layout__venue", "user"]
    list_per_page = 50
    date_hierarchy = "created_at"
    fields = [
        "number",
        "session",
        "status",
        "user",
        "email",
        "phone",
        "channel",
        "total",
        "currency",
        "created_at",
        "expires_at",
        "paid_at",
        "fulfilled_at",
        "closed_at",
        "close_reason",
    ]
    readonly_fields = fields
    change_form_template = "admin/aftersales/order/change_form.html"
    change_list_template = "admin/aftersales/order/change_list.html"

    # Orders change only through services: nobody edits, adds or deletes rows here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def can_act(self, request, obj=None) -> bool:
        if obj is None:
            return self._is_member(request) and self._writes_somewhere(request)
        return self._is_member(request) and _writes(request, self.organization_id_of(obj))

    @admin.display(description=_("event"), ordering="session__event__name")
    def event(self, obj):
        return obj.session.event.display_name

    @admin.display(description=_("session"), ordering="session__starts_at")
    def session_starts(self, obj):
        return f"{obj.session.local_starts_at():%Y-%m-%d %H:%M}"

    @admin.display(description=_("buyer"))
    def buyer(self, obj):
        return str(obj.user)

    def get_search_results(self, request, queryset, search_term):
        """A seat typed as section-row-seat (``101-5-12``) finds the orders of that seat."""
        seat = _SEAT.match(search_term or "")
        if seat and not search_term.strip().upper().startswith("T"):
            section, row, label = seat.groups()
            found = queryset.filter(
                lines__section_code=section, lines__row_label=row, lines__seat_label=label
            ).distinct()
            return found, False
        return super().get_search_results(request, queryset, search_term)

    # -- urls -------------------------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("box-office/", wrap(self.box_office_view), name="orders_order_box_office"),
            path("export/", wrap(self.export_view), name="orders_order_export"),
            path("rates/", wrap(self.rates_view), name="orders_order_rates"),
            path("<int:pk>/resend/", wrap(self.resend_view), name="orders_order_resend"),
            path("<int:pk>/correct/", wrap(self.correct_view), name="orders_order_correct"),
            path("<int:pk>/cancel/", wrap(self.cancel_view), name="orders_order_cancel"),
            path("<int:pk>/tickets.pdf", wrap(self.pdf_view), name="orders_order_pdf"),
            path(
                "<int:pk>/refunds/<uuid:refund_id>/returned/",
                wrap(self.cash_returned_view),
                name="orders_order_cash_returned",
            ),
            *super().get_urls(),
        ]

    def _order(self, request, pk: int) -> Order:
        """The order if the user may see it; 404 otherwise (as for one that does not exist)."""
        order = self.get_queryset(request).filter(pk=pk).first()
        if order is None or not self.has_view_permission(request, order):
            raise Http404
        return order

    def _acting_on(self, request, pk: int) -> Order:
        order = self._order(request, pk)
        if not self.can_act(request, order):
            raise PermissionDenied
        return order

    def _back(self, order: Order):
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    # -- the order page -----------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if order is not None and self.has_view_permission(request, order):
            lines = list(order.lines.order_by("id"))
            tickets = {t.order_line_id: t for t in Ticket.objects.filter(order_line__order=order)}
            extra.update(
                {
                    "order": order,
                    "lines": [(line, tickets.get(line.pk)) for line in lines],
                    "payments": Payment.objects.filter(order=order).order_by("created_at"),
                    "refunds": Refund.objects.filter(payment__order=order)
                    .select_related("payment")
                    .order_by("created_at"),
                    "waiting_refund_states": (RefundStatus.FAILED, RefundStatus.STUCK),
                    "requests": requests_of_order(order),
                    "timeline": backoffice.order_timeline(order),
                    "can_act": self.can_act(request, order),
                    "has_tickets": bool(tickets),
                    "cancel_form": ReasonForm(),
                }
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @staticmethod
    def _now():
        return clock.now()

    def resend_view(self, request, pk: int):
        if request.method != "POST":
            return self._back(self._order(request, pk))
        order = self._acting_on(request, pk)
        try:
            address = delivery.send_tickets(
                order=order,
                actor=request.user,
                now=self._now(),
                organization_id=self.organization_id_of(order),
            )
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("The tickets were sent to %(address)s.") % {"address": address},
                messages.SUCCESS,
            )
        return self._back(order)

    def correct_view(self, request, pk: int):
        if request.method != "POST":
            return self._back(self._order(request, pk))
        order = self._acting_on(request, pk)
        form = CorrectNameForm(request.POST)
        if not form.is_valid():
            self.message_user(
                request, gettext("Enter the correct name (at most 80 characters)."), messages.ERROR
            )
            return self._back(order)
        line = order.lines.filter(pk=form.cleaned_data["line"]).first()
        if line is None:
            raise Http404
        try:
            correct_attendee_name(
                line=line, name=form.cleaned_data["name"], actor=request.user, now=self._now()
            )
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("The name was corrected and the ticket issued again."),
                messages.SUCCESS,
            )
        return self._back(order)

    def cancel_view(self, request, pk: int):
        order = self._acting_on(request, pk)
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                services.cancel_order(
                    order=order,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    now=self._now(),
                )
            except DomainError as exc:
                form.add_error(None, str(exc.message))
            else:
                self.message_user(
                    request,
                    gettext("Order %(number)s was cancelled.") % {"number": order.number},
                    messages.SUCCESS,
                )
                return self._back(order)
        return TemplateResponse(
            request,
            "admin/aftersales/order/cancel.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Cancel order %(number)s") % {"number": order.number},
                "order": order,
                "form": form,
                "opts": self.model._meta,
            },
        )

    def cash_returned_view(self, request, pk: int, refund_id):
        """A refund of a box-office payment is given back at the counter: staff confirm it
        here (``payments.services.settle_refund_by_hand``)."""
        if request.method != "POST":
            return self._back(self._order(request, pk))
        order = self._acting_on(request, pk)
        refund = Refund.objects.filter(
            pk=refund_id, payment__order=order, payment__provider=Provider.BOX_OFFICE
        ).first()
        if refund is None:
            raise Http404
        reference = gettext("returned at the box office by %(user)s") % {
            "user": request.user.get_username()
        }
        try:
            settle_refund_by_hand(
                refund=refund, actor=request.user, reference=reference[:80], now=self._now()
            )
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)
        else:
            self.message_user(
                request, gettext("The refund is marked as given back."), messages.SUCCESS
            )
        return self._back(order)

    def pdf_view(self, request, pk: int):
        order = self._order(request, pk)
        pdf = delivery.tickets_pdf(order, now=self._now())
        if pdf is None:
            raise Http404
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{delivery.pdf_filename(order)}"'
        response["Cache-Control"] = "no-store"
        return response

    # -- box office -------------------------------------------------------------------------
    def _sellable_sessions(self, request):
        sessions = Session.objects.select_related("event", "layout__venue").order_by("starts_at")
        if is_platform_operator(request.user):
            return sessions
        writable = list_organization_ids(request.user, roles=WRITE_ROLES)
        return sessions.filter(event__organization_id__in=writable)

    def box_office_view(self, request):
        if not self.can_act(request):
            raise PermissionDenied
        sessions = self._sellable_sessions(request).filter(starts_at__gte=self._now())
        form = BoxOfficeForm(request.POST if request.method == "POST" else None, sessions=sessions)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                order = sell_at_box_office(
                    session=data["session"],
                    choice=form.choice(),
                    buyer_name=data["buyer_name"],
                    phone=data["phone"],
                    email=data["email"] or "",
                    method=data["method"],
                    actor=request.user,
                    now=self._now(),
                )
            except (DomainError, ChoiceInvalid) as exc:
                form.add_error(None, str(exc.message))
            else:
                self.message_user(
                    request,
                    gettext("Sold: order %(number)s, %(total)s %(currency)s.")
                    % {"number": order.number, "total": order.total, "currency": order.currency},
                    messages.SUCCESS,
                )
                return self._back(order)
        return TemplateResponse(
            request,
            "admin/aftersales/order/box_office.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Box office sale"),
                "form": form,
                "opts": self.model._meta,
            },
        )

    # -- exports and report ---------------------------------------------------------------
    def _filtered_orders(self, request):
        """The orders of the change list with its filters and search (the export's
        parameters removed first)."""
        params = request.GET.copy()
        for name in ("kind", "format"):
            params.pop(name, None)
        request.GET = params
        changelist = self.get_changelist_instance(request)
        return changelist.get_queryset(request)

    def export_view(self, request):
        kind = request.GET.get("kind", "orders")
        fmt = request.GET.get("format", "csv")
        if kind not in backoffice.EXPORTS or fmt not in ("csv", "xlsx"):
            raise Http404
        try:
            orders = self._filtered_orders(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:orders_order_changelist") + "?e=1")
        header, rows = backoffice.EXPORTS[kind](orders)
        stamp = f"{clock.now():%Y%m%d-%H%M}"
        if fmt == "csv":
            response = HttpResponse(
                exports.to_csv(header, rows), content_type="text/csv; charset=utf-8"
            )
        else:
            response = HttpResponse(
                exports.to_xlsx(header, rows, title=kind),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        response["Content-Disposition"] = f'attachment; filename="tessera-{kind}-{stamp}.{fmt}"'
        return response

    def rates_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            orders = self._filtered_orders(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:orders_order_changelist") + "?e=1")
        return TemplateResponse(
            request,
            "admin/aftersales/order/rates.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Refund and exchange rates per event"),
                "rows": backoffice.rates_by_event(orders),
                "opts": self.model._meta,
            },
        )


admin.site.register(Order, OrderAdmin)


# -- refund requests: the review queue ------------------------------------------------------


class RefundRequestLineInline(admin.TabularInline):
    model = RefundRequestLine
    extra = 0
    can_delete = False
    fields = ["line", "price", "fee", "percent"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff


class RefundRequestAdmin(OrganizationScopedAdmin):
    """Refund requests (exchanges join when they exist); those waiting are approved or
    rejected in bulk, each through the after-sales services."""

    org_field = "order__session__event__organization"
    list_display = [
        "order",
        "event",
        "session_starts",
        "initiator",
        "stage",
        "price",
        "fee",
        "amount",
        "currency",
        "created_at",
    ]
    list_filter = [
        "status",
        ("order__session__event", admin.RelatedOnlyFieldListFilter),
        ("order__session", admin.RelatedOnlyFieldListFilter),
        "initiator",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["=order__number", "reason", "order__lines__attendee_name"]
    list_select_related = ["order__session__event", "order__session__layout__venue"]
    fields = [
        "order",
        "initiator",
        "requested_by",
        "status",
        "price",
        "fee",
        "amount",
        "currency",
        "reason",
        "decision_note",
        "decided_by",
        "created_at",
        "decided_at",
    ]
    readonly_fields = fields
    inlines = [RefundRequestLineInline]
    actions = ["approve_selected", "reject_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_decide_permission(self, request) -> bool:
        return self._is_member(request) and self._writes_somewhere(request)

    @admin.display(description=_("event"))
    def event(self, obj):
        return obj.order.session.event.display_name

    @admin.display(description=_("session"), ordering="order__session__starts_at")
    def session_starts(self, obj):
        return f"{obj.order.session.local_starts_at():%Y-%m-%d %H:%M}"

    @admin.display(description=_("stage"))
    def stage(self, obj):
        return obj.get_stage_display()

    def _decide(self, request, queryset, decide) -> int:
        done = 0
        now = clock.now()
        for request_row in queryset.select_related("order__session__event"):
            if not _writes(request, self.organization_id_of(request_row)):
                self.message_user(
                    request,
                    gettext("%(number)s: you cannot decide requests of this organization.")
                    % {"number": request_row.order.number},
                    messages.WARNING,
                )
                continue
            try:
                decide(request_row, now)
                done += 1
            except DomainError as exc:
                self.message_user(
                    request, f"{request_row.order.number}: {exc.message}", messages.WARNING
                )
        return done

    @admin.action(description=_("Approve the selected requests"), permissions=["decide"])
    def approve_selected(self, request, queryset):
        done = self._decide(
            request,
            queryset,
            lambda row, now: services.approve_refund(request=row, actor=request.user, now=now),
        )
        if done:
            self.message_user(
                request,
                gettext("%(count)d requests approved.") % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Reject the selected requests"), permissions=["decide"])
    def reject_selected(self, request, queryset):
        waiting = queryset.filter(status=RequestStatus.REQUESTED)
        form = ReasonForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = self._decide(
                request,
                waiting,
                lambda row, now: services.reject_refund(
                    request=row, actor=request.user, reason=reason, now=now
                ),
            )
            if done:
                self.message_user(
                    request,
                    gettext("%(count)d requests rejected.") % {"count": done},
                    messages.SUCCESS,
                )
            return None
        return TemplateResponse(
            request,
            "admin/aftersales/reject_requests.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Reject refund requests"),
                "form": form,
                "requests": waiting.select_related("order"),
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


admin.site.register(RefundRequest, RefundRequestAdmin)


def stuck_summary(request) -> dict[str, int] | None:
    """Counts of orders stuck in payment that the user may see (the index's alert)."""
    model_admin = admin.site._registry.get(Order)
    if model_admin is None or not model_admin.has_module_permission(request):
        return None
    return backoffice.stuck_counts(model_admin.get_queryset(request), now=clock.now())


from tessera.aftersales import admin_changes  # noqa: E402, F401  (session changes)
