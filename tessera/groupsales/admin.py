"""The back office of the group and box sales, scoped by organization: group requests (the
event's organizer; answered from the console's page ``/groups/manage/``), boxes (the
venue's operator) and box offers (the event's organizer; changed through the services, so
putting an offer on sale sets its places aside)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.groupsales import services
from tessera.groupsales.models import Box, BoxOffer, BoxSale, GroupRequest


class _ReadOnly:
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GroupRequest)
class GroupRequestAdmin(_ReadOnly, OrganizationScopedAdmin):
    org_field = "organization"
    list_display = [
        "id",
        "company_name",
        "session",
        "zone",
        "quantity",
        "budget",
        "status",
        "unit_price",
        "pay_by_at",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["session__event", "session__layout__venue", "zone"]
    search_fields = ["company_name", "invoice_title", "tax_number", "invoice_email"]


@admin.register(Box)
class BoxAdmin(_ReadOnly, OrganizationScopedAdmin):
    org_field = "layout__venue__organization"
    list_display = ["name", "name_en", "layout", "section", "capacity", "extras"]
    list_select_related = ["layout__venue", "section"]


@admin.register(BoxOffer)
class BoxOfferAdmin(OrganizationScopedAdmin):
    org_field = "session__event__organization"
    list_display = ["box", "session", "price", "currency", "is_on_sale"]
    list_select_related = ["box", "session__event", "session__layout__venue"]
    actions = ["take_off_sale", "put_on_sale"]
    fields = ["box", "session", "price", "extras", "extras_en", "is_on_sale"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_sell_permission(self, request):
        """Who may run the actions; ``services.offer_box`` checks each offer's organization
        (owners, managers and staff of the event's organizer)."""
        return self.has_view_permission(request)

    def _set(self, request, queryset, on_sale: bool):
        now = clock.now()
        for offer in queryset.select_related("box", "session__event"):
            try:
                services.offer_box(
                    box=offer.box,
                    session=offer.session,
                    price=offer.price,
                    extras=offer.extras,
                    extras_en=offer.extras_en,
                    actor=request.user,
                    now=now,
                    on_sale=on_sale,
                )
            except DomainError as exc:
                self.message_user(request, f"{offer}: {exc.message}", messages.ERROR)

    @admin.action(
        permissions=["sell"], description=_("Take the boxes off sale (places back one by one)")
    )
    def take_off_sale(self, request, queryset):
        self._set(request, queryset, False)

    @admin.action(permissions=["sell"], description=_("Put the boxes on sale whole"))
    def put_on_sale(self, request, queryset):
        self._set(request, queryset, True)


@admin.register(BoxSale)
class BoxSaleAdmin(_ReadOnly, OrganizationScopedAdmin):
    org_field = "offer__session__event__organization"
    list_display = ["offer", "user", "order", "created_at"]
    list_select_related = ["offer__box", "order"]
