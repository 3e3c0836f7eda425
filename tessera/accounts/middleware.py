"""Two-step sign-in in front of the back office.

A staff member whose two-step sign-in is on must enter a code once per session before any
back-office page; a platform operator (superuser or member of the platform organization)
without it is sent to set it up first. The session remembers the verified account
(``VERIFIED_SESSION_KEY``); signing in again starts without it (``accounts.receivers``).
"""

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from tessera.accounts.models import TwoFactorDevice
from tessera.accounts.selectors import is_platform_operator

VERIFIED_SESSION_KEY = "tessera_2fa_user"


def is_verified(request) -> bool:
    return request.session.get(VERIFIED_SESSION_KEY) == request.user.pk


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix = None
        self._open_paths = None

    def _paths(self):
        if self._admin_prefix is None:
            self._admin_prefix = reverse("admin:index")
            self._open_paths = {
                reverse("admin:login"),
                reverse("admin:logout"),
                reverse("admin:jsi18n"),
            }
        return self._admin_prefix, self._open_paths

    def __call__(self, request):
        prefix, open_paths = self._paths()
        path = request.path
        user = getattr(request, "user", None)
        if (
            path.startswith(prefix)
            and path not in open_paths
            and user is not None
            and user.is_authenticated
            and user.is_staff
            and user.is_active
            and not is_verified(request)
        ):
            query = urlencode({"next": request.get_full_path()})
            if TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
                return redirect(f"{reverse('accounts:two_factor_verify')}?{query}")
            if settings.TWO_FACTOR_REQUIRED_FOR_OPERATORS and is_platform_operator(user):
                return redirect(f"{reverse('accounts:two_factor')}?{query}")
        return self.get_response(request)
