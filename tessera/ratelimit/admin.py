"""Back office: which sessions require a verified contact (the organizer's switch)."""

from django.contrib import admin

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.core import audit, clock
from tessera.ratelimit import verification
from tessera.ratelimit.models import VerificationRequirement


@admin.register(VerificationRequirement)
class VerificationRequirementAdmin(OrganizationScopedAdmin):
    org_field = "session__event__organization"
    scoped_foreign_keys = {"session": "event__organization"}
    list_display = ("session", "requirement", "created_at")
    list_filter = ("requirement",)
    raw_id_fields = ("session",)
    readonly_fields = ("created_at",)
    actions = None

    # The admin's change view runs in its own transaction: the row, its audit entry and
    # this process's table of requirements change together here (set_requirement does the
    # same outside the admin).
    def save_model(self, request, obj, form, change):
        now = clock.now()
        obj.created_at = obj.created_at or now
        super().save_model(request, obj, form, change)
        audit.record(
            action="ratelimit.requirement_set",
            obj=obj.session,
            actor=request.user,
            now=now,
            data={"requirement": obj.requirement},
        )
        verification.forget_requirements()

    def delete_model(self, request, obj):
        session = obj.session
        super().delete_model(request, obj)
        audit.record(
            action="ratelimit.requirement_set",
            obj=session,
            actor=request.user,
            now=clock.now(),
            data={"requirement": ""},
        )
        verification.forget_requirements()
