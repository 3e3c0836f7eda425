from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path, re_path
from django.views.static import serve as serve_media

from tessera.accounts.forms import SignInForm
from tessera.api import api
from tessera.notifications.passwords import OutboxPasswordResetView

admin.site.site_header = "Tessera"
admin.site.site_title = "Tessera"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # Sign-in throttled per account and per address (tessera/accounts/throttle.py).
    path("accounts/login/", LoginView.as_view(authentication_form=SignInForm), name="login"),
    # Password reset mails go through the outbox (tessera/notifications/passwords.py).
    path("accounts/password_reset/", OutboxPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("tessera.accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    # Uploaded images on a single machine; behind a proxy, serve MEDIA_ROOT directly.
    re_path(r"^media/(?P<path>.*)$", serve_media, {"document_root": settings.MEDIA_ROOT}),
    path("pay/", include("tessera.sandbox.urls")),
    path("tickets/", include("tessera.tickets.urls")),
    path("queue/", include("tessera.waitingroom.urls")),
    path("checkin/", include("tessera.checkin.urls")),
    path("", include("tessera.aftersales.urls")),
    path("account/verify/", include("tessera.ratelimit.urls")),
    path("account/", include("tessera.privacy.urls")),
    path("account/attendees/", include("tessera.identities.urls")),
    path("exchanges/", include("tessera.aftersales.urls_exchanges")),
    path("", include("tessera.ops.urls")),  # /metrics, /health/live, /health/ready
    path("transfers/", include("tessera.transfers.urls")),
    path("resale/", include("tessera.resale.urls")),
    path("waitlist/", include("tessera.waitlist.urls")),
    path("passes/", include("tessera.passes.urls")),
    path("partners/allocations/", include("tessera.allocations.urls")),
    path("partners/webhooks/", include("tessera.webhooks.urls")),
    path("partners/statements/", include("tessera.settlement.urls")),
    path("partners/", include("tessera.apikeys.urls")),
    path("partners/", include("tessera.partners.urls")),
    path("reconciliation/", include("tessera.reconciliation.urls")),
    path("groups/", include("tessera.groupsales.urls")),
    path("help/", include("tessera.support.urls")),
    path("messages/", include("tessera.notifications.urls")),
    path("", include("tessera.storefront.urls")),
]
