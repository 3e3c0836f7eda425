"""Back office for cities, venues and layouts.

Cities are shared reference data: every back-office user reads them, platform operators
write them. Venues and layouts belong to the venue operator's organization. Layouts are
generated or imported as a whole (seating plans); the admin renames sections, shows a
summary and downloads or uploads plans.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin, ScopedInline
from tessera.accounts.selectors import WRITE_ROLES, is_platform_operator, list_organization_ids
from tessera.venues.models import City, Layout, Section, SectionKind, Venue
from tessera.venues.seating_plans import FORMATS, SeatingPlanInvalid
from tessera.venues.selectors import section_counts, with_layout_counts
from tessera.venues.services import export_plan, import_plan

MAX_PLAN_BYTES = 20 * 1024 * 1024


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "slug", "country", "time_zone"]
    search_fields = ["name", "name_en", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}

    def _is_staff(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request):
        return self._is_staff(request)

    def has_view_permission(self, request, obj=None):
        return self._is_staff(request)

    def has_add_permission(self, request):
        return self._is_staff(request) and is_platform_operator(request.user)

    def has_change_permission(self, request, obj=None):
        return self._is_staff(request) and is_platform_operator(request.user)

    def has_delete_permission(self, request, obj=None):
        return self._is_staff(request) and is_platform_operator(request.user)


class LayoutInline(ScopedInline):
    model = Layout
    fields = ["name", "name_en", "width", "height"]
    readonly_fields = ["width", "height"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # layouts are generated or imported: see the layout admin

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Venue)
class VenueAdmin(OrganizationScopedAdmin):
    list_display = ["name", "name_en", "city", "organization", "slug"]
    list_filter = ["city"]
    search_fields = ["name", "name_en", "slug", "address", "address_en"]
    list_select_related = ["city", "organization"]
    prepopulated_fields = {"slug": ["name_en"]}
    inlines = [LayoutInline]


class SectionInline(ScopedInline):
    """Sections come from a generated or imported plan: names and order can be edited
    here, structure (code, kind, tier) cannot."""

    model = Section
    fields = ["code", "name", "name_en", "kind", "tier", "capacity", "sort_order"]
    readonly_fields = ["code", "kind", "tier"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PlanUploadForm(forms.Form):
    venue = forms.ModelChoiceField(queryset=Venue.objects.none(), label=_("venue"))
    file = forms.FileField(
        label=_("seating plan"),
        help_text=_("A JSON file in the Tessera format or the pretix seating-plan format."),
    )
    name = forms.CharField(
        label=_("name"),
        max_length=120,
        required=False,
        help_text=_("Leave empty to use the plan's own name."),
    )
    name_en = forms.CharField(label=_("English name"), max_length=120, required=False)

    def __init__(self, *args, venues, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["venue"].queryset = venues

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_PLAN_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB."), params={"mb": MAX_PLAN_BYTES >> 20}
            )
        return upload


@admin.register(Layout)
class LayoutAdmin(OrganizationScopedAdmin):
    org_field = "venue__organization"
    scoped_foreign_keys = {"venue": "organization"}
    list_display = ["name", "name_en", "venue", "seat_count", "standing_capacity", "updated_at"]
    list_filter = ["venue__city"]
    search_fields = ["name", "name_en", "venue__name", "venue__name_en"]
    list_select_related = ["venue"]
    fields = [
        "venue",
        "name",
        "name_en",
        "width",
        "height",
        "focal_x",
        "focal_y",
        "focal_label",
        "shapes",
        "sections_summary",
        "plan_downloads",
    ]
    readonly_fields = ["sections_summary", "plan_downloads"]
    inlines = [SectionInline]
    actions = ["download_tessera_plan", "download_pretix_plan"]
    change_list_template = "admin/venues/layout/change_list.html"

    def get_queryset(self, request):
        return with_layout_counts(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "venue"] if obj is not None else fields

    # -- columns and read-only fields ----------------------------------------------------
    @admin.display(description=_("seats"), ordering="seat_count")
    def seat_count(self, obj):
        return obj.seat_count

    @admin.display(description=_("standing places"), ordering="standing_capacity")
    def standing_capacity(self, obj):
        return obj.standing_capacity

    @admin.display(description=_("sections"))
    def sections_summary(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        counts = section_counts(obj)
        tiers: dict[tuple[int, str], list[int]] = {}
        for section in Section.objects.filter(layout=obj).only("id", "tier", "kind", "capacity"):
            rows, seats = counts.get(section.pk, (0, 0))
            totals = tiers.setdefault((section.tier, section.kind), [0, 0, 0, 0])
            standing = section.capacity if section.kind == SectionKind.STANDING else 0
            for i, value in enumerate((1, rows, seats, standing)):
                totals[i] += value
        if not tiers:
            return gettext("No sections yet.")
        header = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            gettext("tier"),
            gettext("kind"),
            gettext("sections"),
            gettext("rows"),
            gettext("seats"),
            gettext("standing places"),
        )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (tier, SectionKind(kind).label, *values)
                for (tier, kind), values in sorted(tiers.items())
            ),
        )
        total = [sum(v[i] for v in tiers.values()) for i in range(4)]
        footer = format_html(
            "<tr><th>{}</th><th></th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            gettext("total"),
            *total,
        )
        return format_html("<table>{}{}{}</table>", header, body, footer)

    @admin.display(description=_("seating plan"))
    def plan_downloads(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:venues_layout_plan", args=[obj.pk, fmt]), label)
                for fmt, label in (
                    ("tessera", gettext("Download (Tessera JSON)")),
                    ("pretix", gettext("Download (pretix JSON)")),
                )
            ),
        )

    # -- plan download -------------------------------------------------------------------
    def _plan_response(self, layout: Layout, fmt: str) -> HttpResponse:
        body = json.dumps(export_plan(layout=layout, format=fmt), ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="layout-{layout.pk}-{fmt}.json"'
        return response

    def _download_action(self, request, queryset, fmt: str):
        layouts = list(queryset[:2])
        if len(layouts) != 1:
            self.message_user(
                request,
                gettext("Select exactly one layout to download its seating plan."),
                messages.WARNING,
            )
            return None
        return self._plan_response(layouts[0], fmt)

    @admin.action(description=_("Download the seating plan (Tessera JSON)"), permissions=["view"])
    def download_tessera_plan(self, request, queryset):
        return self._download_action(request, queryset, "tessera")

    @admin.action(description=_("Download the seating plan (pretix JSON)"), permissions=["view"])
    def download_pretix_plan(self, request, queryset):
        return self._download_action(request, queryset, "pretix")

    def plan_view(self, request, layout_id: int, fmt: str):
        layout = self.get_queryset(request).filter(pk=layout_id).first()
        if layout is None or fmt not in FORMATS:
            raise Http404
        if not self.has_view_permission(request, layout):
            raise PermissionDenied
        return self._plan_response(layout, fmt)

    # -- plan upload ---------------------------------------------------------------------
    def _writable_venues(self, request):
        if is_platform_operator(request.user):
            return Venue.objects.all()
        return Venue.objects.filter(
            organization_id__in=list_organization_ids(request.user, roles=WRITE_ROLES)
        )

    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        venues = self._writable_venues(request)
        plan_errors = []
        if request.method == "POST":
            form = PlanUploadForm(request.POST, request.FILES, venues=venues)
            if form.is_valid():
                try:
                    layout = import_plan(
                        venue=form.cleaned_data["venue"],
                        data=form.cleaned_data["file"].read(),
                        name=form.cleaned_data["name"],
                        name_en=form.cleaned_data["name_en"],
                        actor=request.user,
                    )
                except SeatingPlanInvalid as exc:
                    form.add_error("file", str(exc.message))
                    plan_errors = exc.details.get("errors", [])
                else:
                    self.message_user(
                        request, gettext("Imported %(name)s.") % {"name": layout}, messages.SUCCESS
                    )
                    return HttpResponseRedirect(
                        reverse("admin:venues_layout_change", args=[layout.pk])
                    )
        else:
            form = PlanUploadForm(venues=venues)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Upload a seating plan"),
            "form": form,
            "plan_errors": plan_errors,
        }
        return TemplateResponse(request, "admin/venues/layout/upload_plan.html", context)

    def get_urls(self):
        custom = [
            path(
                "upload/", self.admin_site.admin_view(self.upload_view), name="venues_layout_upload"
            ),
            path(
                "<int:layout_id>/plan/<str:fmt>/",
                self.admin_site.admin_view(self.plan_view),
                name="venues_layout_plan",
            ),
        ]
        return custom + super().get_urls()
