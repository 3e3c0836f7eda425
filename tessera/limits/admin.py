"""Back office: purchase limits of an event and its sessions, scoped to the organizer."""

from django import forms
from django.contrib import admin
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.catalog.admin import AuditedAdminMixin
from tessera.limits.models import EVENT_FIELDS, LIMIT_FIELDS, PurchaseLimits

MAX_LIMIT = 1000


class PurchaseLimitsForm(forms.ModelForm):
    class Meta:
        model = PurchaseLimits
        fields = ["event", "session", *LIMIT_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in LIMIT_FIELDS:
            field = self.fields[name]
            field.validators.append(MaxValueValidator(MAX_LIMIT))
            field.widget.attrs.update({"min": 0, "max": MAX_LIMIT})

    def clean(self):
        cleaned = super().clean()
        event, session = cleaned.get("event"), cleaned.get("session")
        if event and session and session.event_id != event.pk:
            self.add_error("session", gettext("This session belongs to another event."))
        if session:
            for name in EVENT_FIELDS:
                if cleaned.get(name):
                    self.add_error(
                        name,
                        gettext(
                            "Limits per event are set on the event's limits (leave the session "
                            "empty), not on a session's."
                        ),
                    )
        return cleaned


@admin.register(PurchaseLimits)
class PurchaseLimitsAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    form = PurchaseLimitsForm
    org_field = "event__organization"
    scoped_foreign_keys = {"event": "organization", "session": "event__organization"}
    list_display = ["__str__", "event", "session", "is_limiting", "updated_at"]
    list_select_related = ["event", "session"]
    search_fields = ["event__name", "event__name_en"]
    autocomplete_fields = []
    fieldsets = [
        (None, {"fields": ["event", "session"]}),
        (_("Per session (0 = no limit)"), {"fields": list(LIMIT_FIELDS[:4])}),
        (_("Per event, across its sessions (0 = no limit)"), {"fields": list(EVENT_FIELDS)}),
    ]
