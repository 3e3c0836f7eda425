"""Back office for the catalog.

Organizers see and change only their own competitions, teams, tours, events, sessions and
price zones (``OrganizationScopedAdmin``); artists and tags are shared by the whole platform:
every back-office user reads them, platform operators change them. Forms apply the same
rules as ``tessera.catalog.services``; publishing and cancelling go through the services.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin, ScopedInline
from tessera.accounts.models import OrganizationKind
from tessera.accounts.selectors import can_write, is_platform_operator, list_organization_ids
from tessera.catalog import services
from tessera.catalog.models import (
    AfterSalesPolicy,
    Artist,
    Competition,
    Event,
    FeeTier,
    PriceZone,
    Season,
    Session,
    Tag,
    Team,
    Tour,
    ZoneAssignment,
)
from tessera.core import audit, clock
from tessera.core.errors import DomainError

# -- audit of back-office edits ----------------------------------------------------------


class AuditedAdminMixin:
    """Records every save and delete made through a back-office form in the audit log."""

    def _organization_id(self, obj) -> int | None:
        of = getattr(self, "organization_id_of", None)
        return of(obj) if of else None

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            action=f"{obj._meta.model_name}.{'changed' if change else 'added'}_in_back_office",
            obj=obj,
            actor=request.user,
            organization_id=self._organization_id(obj),
            now=clock.now(),
            data={"fields": sorted(form.changed_data)},
        )

    def delete_model(self, request, obj):
        audit.record(
            action=f"{obj._meta.model_name}.deleted_in_back_office",
            obj=obj,
            actor=request.user,
            organization_id=self._organization_id(obj),
            now=clock.now(),
            data={"repr": str(obj)},
        )
        super().delete_model(request, obj)


def _add_domain_error(form: forms.Form, exc: DomainError, fields: tuple[str, ...]) -> None:
    """Attach a service rule's message to the field it names, else to the whole form."""
    field = next((name for name in exc.details if name in fields and name in form.fields), None)
    form.add_error(field, str(exc.message))


# -- platform-wide directories -------------------------------------------------------------


class PlatformDirectoryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Shared by every organizer: any back-office user reads, platform operators write."""

    def _is_back_office_user(self, request) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and (is_platform_operator(user) or list_organization_ids(user))
        )

    def has_module_permission(self, request):
        return self._is_back_office_user(request)

    def has_view_permission(self, request, obj=None):
        return self._is_back_office_user(request)

    def has_add_permission(self, request):
        return is_platform_operator(request.user)

    def has_change_permission(self, request, obj=None):
        return is_platform_operator(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_platform_operator(request.user)


@admin.register(Artist)
class ArtistAdmin(PlatformDirectoryAdmin):
    list_display = ["name", "name_en", "genre", "slug"]
    search_fields = ["name", "name_en", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}


@admin.register(Tag)
class TagAdmin(PlatformDirectoryAdmin):
    list_display = ["slug", "name", "name_en"]
    search_fields = ["slug", "name", "name_en"]


# -- competitions, teams, tours --------------------------------------------------------------


class SeasonInline(ScopedInline):
    model = Season
    fields = ["name", "name_en", "starts_on", "ends_on"]


@admin.register(Competition)
class CompetitionAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    list_display = ["name", "name_en", "kind", "sport", "organization"]
    list_filter = ["kind", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization"]
    search_fields = ["name", "name_en", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}
    inlines = [SeasonInline]


class SeasonForm(forms.ModelForm):
    class Meta:
        model = Season
        fields = ["competition", "name", "name_en", "starts_on", "ends_on"]

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", gettext("A season cannot end before it starts."))
        return cleaned


@admin.register(Season)
class SeasonAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    form = SeasonForm
    org_field = "competition__organization"
    scoped_foreign_keys = {"competition": "organization"}
    list_display = ["__str__", "starts_on", "ends_on"]
    list_select_related = ["competition"]
    search_fields = ["name", "name_en", "competition__name", "competition__name_en"]


@admin.register(Team)
class TeamAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    scoped_foreign_keys = {"competitions": "organization"}
    list_display = ["name", "name_en", "short_name", "city", "organization"]
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization", "city"]
    search_fields = ["name", "name_en", "short_name", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}
    filter_horizontal = ["competitions"]


@admin.register(Tour)
class TourAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    list_display = ["name", "name_en", "artist", "organization"]
    list_select_related = ["organization", "artist"]
    search_fields = ["name", "name_en", "slug", "artist__name", "artist__name_en"]
    prepopulated_fields = {"slug": ["name_en"]}


# -- events and sessions ---------------------------------------------------------------------


class EventForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = [
            "organization",
            "kind",
            "name",
            "name_en",
            "slug",
            "description",
            "description_en",
            "image",
            "image_url",
            "tags",
            "is_featured",
            "season",
            "home_team",
            "away_team",
            "round",
            "tour",
            "artists",
        ]

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        if organization is None:
            return cleaned
        if organization.kind not in (OrganizationKind.ORGANIZER, OrganizationKind.PLATFORM):
            self.add_error("organization", str(services.NotAnOrganizer.default_message))
            return cleaned
        try:
            services.check_event_links(
                organization_id=organization.pk,
                season=cleaned.get("season"),
                home_team=cleaned.get("home_team"),
                away_team=cleaned.get("away_team"),
                tour=cleaned.get("tour"),
            )
        except services.EventLinksInvalid as exc:
            _add_domain_error(self, exc, ("season", "home_team", "away_team", "tour"))
        return cleaned


_SESSION_LIMITS = ("max_tickets_per_order", "max_tickets_per_account", "hold_minutes")


class SessionForm(forms.ModelForm):
    """The session rules of ``services.check_session_rules``; the layout stays once places
    are in price zones."""

    class Meta:
        model = Session
        fields = ["event", "layout", *services.SESSION_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "max_tickets_per_identity" in self.fields:
            # left empty: one ticket per identity, the default of real-name sessions
            self.fields["max_tickets_per_identity"].required = False

    def clean_max_tickets_per_identity(self):
        value = self.cleaned_data.get("max_tickets_per_identity")
        return 1 if value is None else value

    def clean(self):
        cleaned = super().clean()
        layout = cleaned.get("layout")
        if (
            self.instance.pk
            and layout is not None
            and layout.pk != self.instance.layout_id
            and self.instance.zone_assignments.exists()
        ):
            self.add_error(
                "layout",
                gettext("Places of this layout are in price zones; the layout cannot change."),
            )
        # fields this form does not show keep the instance's values
        values = {
            name: cleaned.get(name) if name in self.fields else getattr(self.instance, name)
            for name in services.SESSION_FIELDS
        }
        required = ("starts_at", *_SESSION_LIMITS)
        if any(values[name] is None for name in required):
            return cleaned  # the missing field is already reported
        try:
            services.check_session_rules(**values)
        except DomainError as exc:
            _add_domain_error(self, exc, services.SESSION_FIELDS)
        return cleaned


class SessionInline(ScopedInline):
    model = Session
    form = SessionForm
    fields = ["starts_at", "ends_at", "layout", "status", "on_sale_from", "on_sale_until"]
    readonly_fields = ["status"]
    show_change_link = True


@admin.action(description=_("Publish the selected events"), permissions=["change"])
def publish_events(modeladmin, request, queryset):
    _run_on_events(
        modeladmin, request, queryset, services.publish_event, _("%(count)d event(s) published.")
    )


@admin.action(
    description=_("Cancel the selected events and their sessions"), permissions=["change"]
)
def cancel_events(modeladmin, request, queryset):
    _run_on_events(
        modeladmin, request, queryset, services.cancel_event, _("%(count)d event(s) cancelled.")
    )


def _run_on_events(modeladmin, request, queryset, service, done_message) -> None:
    now = clock.now()
    done = 0
    for event in queryset.order_by("pk"):
        if not can_write(request.user, event.organization_id):
            modeladmin.message_user(
                request,
                gettext("%(event)s: you cannot change events of this organizer.")
                % {"event": event},
                messages.ERROR,
            )
            continue
        try:
            service(event=event, actor=request.user, now=now)
        except DomainError as exc:
            modeladmin.message_user(
                request,
                gettext("%(event)s: %(reason)s") % {"event": event, "reason": exc.message},
                messages.ERROR,
            )
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


@admin.register(Event)
class EventAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    form = EventForm
    scoped_foreign_keys = {
        "season": "competition__organization",
        "home_team": "organization",
        "away_team": "organization",
        "tour": "organization",
    }
    list_display = ["name", "name_en", "kind", "status", "is_featured", "organization"]
    list_filter = ["status", "kind", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization"]
    search_fields = ["name", "name_en", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}
    readonly_fields = ["status"]
    filter_horizontal = ["tags", "artists"]
    inlines = [SessionInline]
    actions = [publish_events, cancel_events]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "organization",
                    "kind",
                    "status",
                    "name",
                    "name_en",
                    "slug",
                    "description",
                    "description_en",
                    "image",
                    "image_url",
                    "tags",
                    "is_featured",
                ]
            },
        ),
        (_("Fixture"), {"fields": ["season", "home_team", "away_team", "round"]}),
        (_("Concert or show"), {"fields": ["tour", "artists"]}),
    ]


class PriceZoneForm(forms.ModelForm):
    class Meta:
        model = PriceZone
        fields = ["session", "code", "name", "name_en", "price", "currency", "color", "sort_order"]
        # Picked from the browser's colour chooser (it sends #rrggbb), not typed as hex.
        widgets = {
            "color": forms.TextInput(attrs={"type": "color", "class": "zone-colour"}),
            "code": forms.TextInput(attrs={"size": 4}),
            "currency": forms.TextInput(attrs={"size": 4}),
            "sort_order": forms.NumberInput(attrs={"class": "zone-order"}),
        }

    def clean(self):
        cleaned = super().clean()
        price, currency = cleaned.get("price"), cleaned.get("currency")
        if price is not None and currency:
            try:
                services.check_price(price, currency)
            except DomainError as exc:
                self.add_error(
                    "currency" if exc.code == "currency_invalid" else "price", str(exc.message)
                )
        color = cleaned.get("color")
        if color and not services.COLOR_PATTERN.match(color):
            self.add_error("color", gettext("Enter a colour as #rrggbb."))
        return cleaned


class PriceZoneInline(ScopedInline):
    model = PriceZone
    form = PriceZoneForm
    # One block per zone, its fields on two lines that wrap with the screen (the table of
    # eight columns was wider than the content area at 1366 px).
    template = "admin/edit_inline/stacked.html"
    fields = [("code", "name", "name_en"), ("price", "currency", "color", "sort_order")]
    classes = ["price-zones"]

    class Media:
        css = {"all": ["catalog/admin-price-zones.css"]}


@admin.action(description=_("Cancel the selected sessions"), permissions=["change"])
def cancel_sessions(modeladmin, request, queryset):
    now = clock.now()
    done = 0
    for session in queryset.select_related("event", "layout__venue").order_by("pk"):
        if not can_write(request.user, session.event.organization_id):
            continue
        try:
            services.cancel_session(session=session, actor=request.user, now=now)
        except DomainError as exc:
            modeladmin.message_user(request, f"{session}: {exc.message}", messages.ERROR)
            continue
        done += 1
    modeladmin.message_user(
        request, gettext("%(count)d session(s) cancelled.") % {"count": done}, messages.SUCCESS
    )


@admin.register(Session)
class SessionAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    form = SessionForm
    org_field = "event__organization"
    scoped_foreign_keys = {"event": "organization"}
    list_display = ["__str__", "starts_at", "status", "layout"]
    list_filter = ["status"]
    list_select_related = ["event", "layout__venue"]
    search_fields = ["event__name", "event__name_en"]
    date_hierarchy = "starts_at"
    readonly_fields = ["status"]
    inlines = [PriceZoneInline]
    actions = [cancel_sessions]


@admin.register(PriceZone)
class PriceZoneAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    form = PriceZoneForm
    org_field = "session__event__organization"
    scoped_foreign_keys = {"session": "event__organization"}
    list_display = ["code", "name", "session", "price", "currency"]
    list_select_related = ["session__event", "session__layout__venue"]
    search_fields = ["code", "name", "name_en", "session__event__name"]


class ZoneAssignmentForm(forms.ModelForm):
    """A section, a row or a seat of the session's layout; the most specific one given
    fills in the others (``services.resolve_place``)."""

    class Meta:
        model = ZoneAssignment
        fields = ["session", "zone", "section", "row", "seat"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].required = False

    def clean(self):
        cleaned = super().clean()
        session, zone = cleaned.get("session"), cleaned.get("zone")
        if session is None or zone is None:
            return cleaned
        if zone.session_id != session.pk:
            self.add_error("zone", str(services.ZoneNotInSession.default_message))
            return cleaned
        try:
            section, row, seat = services.resolve_place(
                session=session,
                section=cleaned.get("section"),
                row=cleaned.get("row"),
                seat=cleaned.get("seat"),
            )
        except DomainError as exc:
            _add_domain_error(self, exc, ("section", "row", "seat"))
            return cleaned
        cleaned.update(section=section, row=row, seat=seat)
        return cleaned


@admin.register(ZoneAssignment)
class ZoneAssignmentAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    form = ZoneAssignmentForm
    org_field = "session__event__organization"
    scoped_foreign_keys = {"session": "event__organization", "zone": "session__event__organization"}
    list_display = ["__str__", "session", "zone"]
    list_select_related = [
        "zone",
        "session__event",
        "session__layout__venue",
        "section",
        "row__section",
        "seat__section",
        "seat__row",
    ]
    raw_id_fields = ["section", "row", "seat"]


# -- after-sales policies --------------------------------------------------------------------


class AfterSalesPolicyForm(forms.ModelForm):
    class Meta:
        model = AfterSalesPolicy
        fields = [
            "event",
            "session",
            "is_refundable",
            "refund_cutoff_hours",
            "refunds_need_review",
            "fee_min",
            "fee_max",
            "has_demand_fee",
            "demand_fee_floor",
            "demand_fee_cap",
            "demand_from_sold",
            "is_exchangeable",
            "exchange_cutoff_hours",
            "exchange_fee",
            "exchange_to_other_sessions",
            "is_transferable",
            "max_transfers",
            "transfer_cutoff_hours",
            "note",
            "note_en",
        ]

    def clean(self):
        cleaned = super().clean()
        event, session = cleaned.get("event"), cleaned.get("session")
        if event is not None and session is not None and session.event_id != event.pk:
            self.add_error("session", gettext("Choose a session of this event."))
        try:
            services.check_policy_numbers(
                fee_min=cleaned.get("fee_min"),
                fee_max=cleaned.get("fee_max"),
                exchange_fee=cleaned.get("exchange_fee"),
                demand_fee_floor=cleaned.get("demand_fee_floor"),
                demand_fee_cap=cleaned.get("demand_fee_cap"),
                demand_from_sold=cleaned.get("demand_from_sold"),
            )
        except DomainError as exc:
            _add_domain_error(
                self,
                exc,
                ("fee_min", "fee_max", "demand_fee_floor", "demand_fee_cap", "demand_from_sold"),
            )
        return cleaned


class FeeTierForm(forms.ModelForm):
    class Meta:
        model = FeeTier
        fields = ["hours_before", "percent"]

    def clean_percent(self):
        percent = self.cleaned_data["percent"]
        if percent is not None and not 0 <= percent <= 100:
            raise forms.ValidationError(gettext("Enter a percentage from 0 to 100."))
        return percent


class FeeTierInline(ScopedInline):
    model = FeeTier
    form = FeeTierForm
    fields = ["hours_before", "percent"]
    extra = 1


@admin.register(AfterSalesPolicy)
class AfterSalesPolicyAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    """One policy per event, and optionally one per session that replaces the event's."""

    form = AfterSalesPolicyForm
    org_field = "event__organization"
    scoped_foreign_keys = {"event": "organization", "session": "event__organization"}
    list_display = ["__str__", "is_refundable", "is_exchangeable", "is_transferable"]
    list_select_related = ["event", "session__layout__venue"]
    search_fields = ["event__name", "event__name_en"]
    raw_id_fields = ["session"]
    inlines = [FeeTierInline]
    fieldsets = [
        (None, {"fields": ["event", "session"]}),
        (
            _("Refunds"),
            {
                "fields": [
                    "is_refundable",
                    "refund_cutoff_hours",
                    "refunds_need_review",
                    "fee_min",
                    "fee_max",
                ],
                "description": _(
                    "The fee of a refund follows the fee steps below: from each step's hours "
                    "before the start until the next step."
                ),
            },
        ),
        (
            _("A fee that rises with demand"),
            {
                "fields": [
                    "has_demand_fee",
                    "demand_fee_floor",
                    "demand_fee_cap",
                    "demand_from_sold",
                ]
            },
        ),
        (
            _("Exchanges"),
            {
                "fields": [
                    "is_exchangeable",
                    "exchange_cutoff_hours",
                    "exchange_fee",
                    "exchange_to_other_sessions",
                ]
            },
        ),
        (_("Transfers"), {"fields": ["is_transferable", "max_transfers", "transfer_cutoff_hours"]}),
        (None, {"fields": ["note", "note_en"]}),
    ]
