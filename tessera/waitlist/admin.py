"""The organizer's view of waiting lists: entries and offers, scoped by organization, with
the per-zone figures (fans waiting, offers made, bought, expired) above the entries."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.catalog.models import PriceZone, Session
from tessera.waitlist import selectors
from tessera.waitlist.models import WaitlistEntry, WaitlistOffer


class _ReadOnly:
    """Rows are written by the fans and the services only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(_ReadOnly, OrganizationScopedAdmin):
    org_field = "session__event__organization"
    list_display = [
        "id",
        "session",
        "user",
        "zone",
        "max_price",
        "quantity",
        "status",
        "created_at",
    ]
    list_filter = [("session", admin.RelatedOnlyFieldListFilter), "status"]
    list_select_related = ["session__event", "session__layout__venue", "user", "zone"]
    search_fields = ["user__username", "user__display_name", "user__email"]
    change_list_template = "admin/waitlist/waitlistentry/change_list.html"

    def changelist_view(self, request, extra_context=None):
        scoped = self.get_queryset(request)
        session_filter = request.GET.get("session__id__exact")
        if session_filter and session_filter.isdigit():
            scoped = scoped.filter(session_id=int(session_filter))
        session_ids = sorted(set(scoped.values_list("session_id", flat=True)))[:50]
        rows = selectors.zone_summary(session_ids)
        sessions = Session.objects.select_related("event", "layout__venue").in_bulk(session_ids)
        zone_ids = {r["zone_id"] for r in rows if r["zone_id"]}
        zones = PriceZone.objects.in_bulk(zone_ids)
        for row in rows:
            row["session"] = sessions.get(row["session_id"])
            zone = zones.get(row["zone_id"])
            row["zone"] = zone.display_name if zone else _("Any zone")
        extra_context = {**(extra_context or {}), "waitlist_summary": rows}
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(WaitlistOffer)
class WaitlistOfferAdmin(_ReadOnly, OrganizationScopedAdmin):
    org_field = "session__event__organization"
    list_display = [
        "id",
        "session",
        "user",
        "zone",
        "quantity",
        "status",
        "created_at",
        "expires_at",
    ]
    list_filter = [("session", admin.RelatedOnlyFieldListFilter), "status"]
    list_select_related = ["session__event", "session__layout__venue", "user", "zone"]
