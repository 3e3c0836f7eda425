"""Two-step sign-in pages: set it up (QR code, first code, recovery codes shown once), turn
it off, and the code asked for before the back office."""

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from tessera.accounts import services, totp
from tessera.accounts.middleware import VERIFIED_SESSION_KEY
from tessera.accounts.models import TwoFactorDevice
from tessera.accounts.selectors import is_platform_operator
from tessera.core import clock
from tessera.core.errors import DomainError


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _qr_svg(uri: str) -> str:
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#1c1b2e")


@never_cache
@login_required
def two_factor(request):
    """Set up, review or turn off two-step sign-in."""
    user = request.user
    now = clock.now()
    device = TwoFactorDevice.objects.filter(user=user).first()
    required = is_platform_operator(user)
    next_url = _safe_next(request, reverse("storefront:my_orders"))
    form = CodeForm(request.POST or None)
    recovery_codes: list[str] = []
    action = request.POST.get("do", "")
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            if action == "confirm":
                recovery_codes = services.confirm_two_factor(user=user, code=code, now=now)
                request.session[VERIFIED_SESSION_KEY] = user.pk
                messages.success(request, gettext("Two-step sign-in is on."))
            elif action == "disable":
                services.disable_two_factor(user=user, code=code, now=now)
                request.session.pop(VERIFIED_SESSION_KEY, None)
                messages.success(request, gettext("Two-step sign-in is off."))
                return redirect(reverse("accounts:two_factor"))
            elif action == "renew":
                services.verify_second_factor(user=user, code=code, now=now)
                recovery_codes = services.regenerate_recovery_codes(user=user, now=now)
        except DomainError as exc:
            form.add_error("code", str(exc.message))
        device = TwoFactorDevice.objects.filter(user=user).first()
    if device is None:
        # The secret stays the same until confirmed, so reloading after scanning is safe.
        device = services.start_two_factor(user=user, now=now)
    context = {
        "device": device,
        "required": required,
        "form": form,
        "recovery_codes": recovery_codes,
        "unused_codes": services.unused_recovery_codes(user) if device.is_confirmed else 0,
        "next": next_url,
        "nav": "orders",
    }
    if not device.is_confirmed:
        uri = totp.provisioning_uri(device.secret, account=user.get_username())
        context["qr_svg"] = _qr_svg(uri)
        context["secret_text"] = " ".join(
            totp.base32_secret(device.secret)[i : i + 4]
            for i in range(0, len(totp.base32_secret(device.secret)), 4)
        )
    return render(request, "accounts/two_factor.html", context)


@never_cache
@login_required
def two_factor_verify(request):
    """The code asked for once per session before the back office."""
    user = request.user
    next_url = _safe_next(request, reverse("admin:index"))
    if not TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
        return redirect(f"{reverse('accounts:two_factor')}?{urlencode({'next': next_url})}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            kind = services.verify_second_factor(
                user=user, code=form.cleaned_data["code"], now=clock.now()
            )
        except DomainError as exc:
            form.add_error("code", str(exc.message))
        else:
            request.session[VERIFIED_SESSION_KEY] = user.pk
            if kind == "recovery":
                messages.warning(
                    request,
                    gettext(
                        "You signed in with a recovery code. %(count)d remain; make new ones "
                        "on the two-step sign-in page."
                    )
                    % {"count": services.unused_recovery_codes(user)},
                )
            return redirect(next_url)
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": next_url, "nav": "orders"},
    )
