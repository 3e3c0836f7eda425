"""Back office for the inventory, scoped to the member's organizations.

Units and holds are read-only here: places change only through the services (holds,
sales, blocks), never by editing a row. Blocking and unblocking are list actions that call
the services.
"""

from collections import defaultdict

from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.admin import OrganizationScopedAdmin
from tessera.accounts.selectors import can_write
from tessera.core.clock import now as clock_now
from tessera.inventory import services
from tessera.inventory.models import Hold, InventoryUnit, SalesChannel


class ReadOnlyScopedAdmin(OrganizationScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InventoryUnit)
class InventoryUnitAdmin(ReadOnlyScopedAdmin):
    org_field = "session__event__organization"
    list_display = [
        "id",
        "session",
        "zone",
        "section",
        "seat",
        "channel",
        "status",
        "hold_expires_at",
        "block_reason",
    ]
    list_filter = [
        "status",
        ("zone", admin.RelatedOnlyFieldListFilter),
        ("channel", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = [
        "session__event",
        "session__layout__venue",
        "zone",
        "section",
        "seat__row",
        "seat__section",
        "channel",
    ]
    search_fields = ["section__code", "seat__row__label"]
    show_full_result_count = False
    actions = ["block_selected", "unblock_selected"]

    def has_block_permission(self, request):
        return self._writes_somewhere(request)

    def _by_writable_session(self, request, queryset):
        by_session = defaultdict(list)
        refused = 0
        for unit in queryset.select_related("session__event"):
            if can_write(request.user, unit.session.event.organization_id):
                by_session[unit.session].append(unit.pk)
            else:
                refused += 1
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)d place of an organization you cannot change was left alone.",
                    "%(count)d places of organizations you cannot change were left alone.",
                    refused,
                )
                % {"count": refused},
                messages.WARNING,
            )
        return by_session

    @admin.action(description=_("Block selected places"), permissions=["block"])
    def block_selected(self, request, queryset):
        now = clock_now()
        done = sum(
            services.block_units(
                session=session,
                unit_ids=ids,
                reason=gettext("Blocked in the back office"),
                actor=request.user,
                now=now,
            )
            for session, ids in self._by_writable_session(request, queryset).items()
        )
        self.message_user(
            request,
            ngettext("%(count)d place blocked.", "%(count)d places blocked.", done)
            % {"count": done},
        )

    @admin.action(description=_("Unblock selected places"), permissions=["block"])
    def unblock_selected(self, request, queryset):
        now = clock_now()
        done = sum(
            services.unblock_units(session=session, unit_ids=ids, actor=request.user, now=now)
            for session, ids in self._by_writable_session(request, queryset).items()
        )
        self.message_user(
            request,
            ngettext("%(count)d place unblocked.", "%(count)d places unblocked.", done)
            % {"count": done},
        )


@admin.register(Hold)
class HoldAdmin(ReadOnlyScopedAdmin):
    org_field = "session__event__organization"
    list_display = [
        "id",
        "session",
        "user",
        "channel",
        "status",
        "quantity",
        "created_at",
        "expires_at",
        "extensions",
    ]
    list_filter = ["status", ("channel", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["session__event", "session__layout__venue", "user", "channel"]
    search_fields = ["user__username", "user__email"]
    date_hierarchy = "created_at"


@admin.register(SalesChannel)
class SalesChannelAdmin(OrganizationScopedAdmin):
    org_field = "organization"
    list_display = ["code", "name", "name_en", "organization", "is_active", "sells_open_pool"]
    list_filter = ["is_active", "sells_open_pool"]
    search_fields = ["code", "name", "name_en"]
