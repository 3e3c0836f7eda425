"""Back office: Django admin, scoped so members see and change only their organizations' data.

Permissions come from memberships, not from Django's per-model permission table:
owners, managers and staff write; finance members read; platform operators see everything.
"""

import json

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from tessera.accounts.forms import AdminSignInForm
from tessera.accounts.models import Membership, Organization, User
from tessera.accounts.selectors import (
    WRITE_ROLES,
    can_write,
    is_platform_operator,
    list_organization_ids,
    list_organizations,
    scope_to_user,
)
from tessera.core.models import AuditEntry

# The back office's sign-in is throttled like the site's (tessera/accounts/throttle.py).
admin.site.login_form = AdminSignInForm


def _follow(obj, path: str):
    for part in path.split("__"):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


class OrganizationScopedAdmin(admin.ModelAdmin):
    """ModelAdmin whose rows belong to an organization reached through ``org_field``.

    ``scoped_foreign_keys`` maps a foreign-key or many-to-many field to the path from the
    related model to its organization, so choices offered in forms are the user's own rows
    too.
    """

    org_field = "organization"
    scoped_foreign_keys: dict[str, str] = {}

    # -- helpers ---------------------------------------------------------------
    def organization_id_of(self, obj) -> int | None:
        org = _follow(obj, self.org_field)
        return getattr(org, "pk", None)

    def _is_member(self, request) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and (is_platform_operator(user) or list_organization_ids(user))
        )

    def _writes_somewhere(self, request) -> bool:
        user = request.user
        return is_platform_operator(user) or bool(list_organization_ids(user, roles=WRITE_ROLES))

    # -- queryset and permissions -------------------------------------------------
    def get_queryset(self, request):
        return scope_to_user(super().get_queryset(request), request.user, org_field=self.org_field)

    def has_module_permission(self, request):
        return self._is_member(request)

    def has_view_permission(self, request, obj=None):
        if not self._is_member(request):
            return False
        if obj is None or is_platform_operator(request.user):
            return True
        return self.organization_id_of(obj) in list_organization_ids(request.user)

    def has_add_permission(self, request):
        return self._is_member(request) and self._writes_somewhere(request)

    def has_change_permission(self, request, obj=None):
        if not self._is_member(request):
            return False
        if obj is None:
            return self._writes_somewhere(request)
        return can_write(request.user, self.organization_id_of(obj))

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    # -- forms -------------------------------------------------------------------
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        user = request.user
        if not is_platform_operator(user):
            writable = list_organization_ids(user, roles=WRITE_ROLES)
            if db_field.related_model is Organization:
                kwargs["queryset"] = Organization.objects.filter(id__in=writable)
            elif db_field.name in self.scoped_foreign_keys:
                path = self.scoped_foreign_keys[db_field.name]
                kwargs["queryset"] = db_field.related_model._default_manager.filter(
                    **{f"{path}__in": writable}
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # Many-to-many fields listed in scoped_foreign_keys are scoped the same way.
        user = request.user
        if not is_platform_operator(user) and db_field.name in self.scoped_foreign_keys:
            writable = list_organization_ids(user, roles=WRITE_ROLES)
            path = self.scoped_foreign_keys[db_field.name]
            kwargs["queryset"] = db_field.related_model._default_manager.filter(
                **{f"{path}__in": writable}
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not can_write(request.user, self.organization_id_of(obj)):
            raise PermissionDenied(_("You cannot write data of this organization."))
        super().save_model(request, obj, form, change)


class ScopedInline(admin.TabularInline):
    """Inline rows follow their parent's permissions."""

    extra = 0

    def _parent_writable(self, request, obj) -> bool:
        if obj is None:
            return True
        model_admin = admin.site._registry.get(type(obj))
        if isinstance(model_admin, OrganizationScopedAdmin):
            return can_write(request.user, model_admin.organization_id_of(obj))
        return is_platform_operator(request.user)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request, obj=None):
        return self._parent_writable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._parent_writable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._parent_writable(request, obj)


class MembershipInline(ScopedInline):
    model = Membership
    autocomplete_fields = ["user"]
    fields = ["user", "role"]


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    org_field = "pk"
    list_display = ["name", "name_en", "kind", "slug", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "name_en", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if is_platform_operator(request.user):
            return qs
        return qs.filter(id__in=list_organization_ids(request.user))

    def organization_id_of(self, obj):
        return obj.pk

    def has_add_permission(self, request):
        # New organizations are created by platform operators.
        return is_platform_operator(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return self._writes_somewhere(request)
        user = request.user
        return is_platform_operator(user) or obj.pk in list_organization_ids(user, roles=("owner",))

    def has_delete_permission(self, request, obj=None):
        return is_platform_operator(request.user)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Only platform operators manage accounts; members see their own."""

    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Profile"), {"fields": ("display_name", "phone", "preferred_language")}),
    )
    list_display = ["username", "display_name", "email", "is_staff", "is_active"]
    search_fields = ["username", "display_name", "email", "phone"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if is_platform_operator(request.user):
            return qs
        return qs.filter(pk=request.user.pk)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return is_platform_operator(request.user) or obj is None or obj.pk == request.user.pk

    def has_change_permission(self, request, obj=None):
        return is_platform_operator(request.user)

    def has_add_permission(self, request):
        return is_platform_operator(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_platform_operator(request.user)


# -- the audit log ---------------------------------------------------------------------------


class AuditOrganizationFilter(admin.SimpleListFilter):
    """The organizations whose entries the person may read."""

    title = _("organization")
    parameter_name = "organization"

    def lookups(self, request, model_admin):
        return [(org.pk, org.display_name) for org in list_organizations(request.user)]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        try:
            return queryset.filter(organization_id=int(value))
        except ValueError:
            return queryset.none()


class ScopedValuesFilter(admin.SimpleListFilter):
    """The distinct values of one column among the entries the person may read."""

    field = ""

    def lookups(self, request, model_admin):
        values = (
            model_admin.get_queryset(request)
            .order_by(self.field)
            .values_list(self.field, flat=True)
            .distinct()[:200]
        )
        return [(v, v) for v in values]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(**{self.field: value})


class AuditActionFilter(ScopedValuesFilter):
    title = _("action")
    parameter_name = "action"
    field = "action"


class AuditObjectTypeFilter(ScopedValuesFilter):
    title = _("object type")
    parameter_name = "object_type"
    field = "object_type"


@admin.register(AuditEntry)
class AuditEntryAdmin(OrganizationScopedAdmin):
    """Who changed what, read-only. Members read their organizations' entries; platform
    operators read all, entries of no organization included. Filter by organization,
    actor, object (type, and id in the search box or ``?object_id=``), action and time."""

    org_field = "organization_id"
    list_display = ["at", "action", "object_type", "object_id", "actor", "organization_name"]
    list_filter = [
        AuditOrganizationFilter,
        AuditActionFilter,
        AuditObjectTypeFilter,
        ("actor", admin.RelatedOnlyFieldListFilter),
        ("at", admin.DateFieldListFilter),
    ]
    search_fields = ["=object_id", "action", "object_type", "actor__username"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
    fields = [
        "at",
        "action",
        "object_type",
        "object_id",
        "actor",
        "organization_name",
        "data_json",
    ]
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request):
        names = Organization.objects.filter(pk=OuterRef("organization_id"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                org_name=Subquery(names.values("name")[:1]),
                org_name_en=Subquery(names.values("name_en")[:1]),
            )
        )

    def organization_id_of(self, obj):
        return obj.organization_id

    @admin.display(description=_("organization"))
    def organization_name(self, obj):
        if obj.organization_id is None:
            return "—"
        english = get_language() == "en" and getattr(obj, "org_name_en", "")
        return english or getattr(obj, "org_name", None) or obj.organization_id

    @admin.display(description=_("data"))
    def data_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.data, ensure_ascii=False, indent=2))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
