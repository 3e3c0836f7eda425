"""Back office of the resale: policies per event (or session), and the listings per event
with their status, sales and fees, scoped by organization."""

from django.contrib import admin, messages
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.selectors import can_write
from tessera.catalog.admin import AuditedAdminMixin
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.resale import services
from tessera.resale.models import Listing, ListingStatus, ResalePolicy


@admin.register(ResalePolicy)
class ResalePolicyAdmin(AuditedAdminMixin, OrganizationScopedAdmin):
    org_field = "event__organization"
    scoped_foreign_keys = {"event": "organization", "session": "event__organization"}
    list_display = [
        "event",
        "session",
        "is_allowed",
        "price_cap_percent",
        "fee_percent",
        "close_minutes_before",
    ]
    list_select_related = ["event", "session__event"]
    list_filter = ["is_allowed"]
    fields = [
        "event",
        "session",
        "is_allowed",
        "price_cap_percent",
        "fee_percent",
        "close_minutes_before",
    ]

    def save_model(self, request, obj, form, change):
        # Through the service: one row per event or session, audited.
        saved = services.set_resale_policy(
            event=obj.event,
            session=obj.session,
            actor=request.user,
            now=clock.now(),
            is_allowed=obj.is_allowed,
            price_cap_percent=obj.price_cap_percent,
            fee_percent=obj.fee_percent,
            close_minutes_before=obj.close_minutes_before,
        )
        obj.pk = saved.pk


@admin.action(description=_("Withdraw the selected listings"), permissions=["change"])
def withdraw_listings(modeladmin, request, queryset):
    now = clock.now()
    done = refused = 0
    for listing in queryset.select_related("session__event").order_by("pk"):
        if not can_write(request.user, listing.session.event.organization_id):
            refused += 1
            continue
        try:
            services.withdraw_listing(
                listing_id=listing.pk, user=request.user, now=now, by_organizer=True
            )
        except DomainError:
            refused += 1
        else:
            done += 1
    modeladmin.message_user(
        request,
        _("%(done)d withdrawn, %(refused)d left as they were.")
        % {"done": done, "refused": refused},
        messages.SUCCESS if not refused else messages.WARNING,
    )


@admin.register(Listing)
class ListingAdmin(OrganizationScopedAdmin):
    org_field = "session__event__organization"
    list_display = [
        "short_id",
        "session",
        "place",
        "seller",
        "status",
        "face_value",
        "price",
        "fee",
        "payout",
        "buyer",
        "created_at",
        "closed_at",
        "withdraw_reason",
    ]
    list_filter = ["status", "withdraw_reason", "session__event"]
    list_select_related = ["session__event", "line", "seller", "buyer"]
    search_fields = ["seller__email", "buyer__email", "buyer_order__number", "line__order__number"]
    actions = [withdraw_listings]
    readonly_fields = [f.name for f in Listing._meta.fields]
    change_list_template = "admin/resale/listing/change_list.html"

    @admin.display(description=_("listing"))
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description=_("place"))
    def place(self, obj):
        return obj.line.place_label

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        """Above the list: per event, listings live, sold, withdrawn, sales and fees."""
        scoped = self.get_queryset(request)
        per_event = (
            scoped.values(
                "session__event__id", "session__event__name", "session__event__name_en", "currency"
            )
            .annotate(
                listed=Count("pk", filter=Q(status=ListingStatus.LISTED)),
                sold=Count("pk", filter=Q(status=ListingStatus.SOLD)),
                withdrawn=Count("pk", filter=Q(status=ListingStatus.WITHDRAWN)),
                sales=Sum("price", filter=Q(status=ListingStatus.SOLD)),
                fees=Sum("fee", filter=Q(status=ListingStatus.SOLD)),
                paid_out=Sum("payout", filter=Q(status=ListingStatus.SOLD)),
            )
            .order_by("session__event__name")
        )
        extra_context = {**(extra_context or {}), "resale_per_event": list(per_event)}
        return super().changelist_view(request, extra_context=extra_context)
