"""Sign-in forms of the site and of the back office, both throttled (``accounts.throttle``)."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm

from tessera.accounts import throttle
from tessera.core import clock


class ThrottledSignInMixin:
    """``clean`` of Django's AuthenticationForm with the throttle around the password check:
    a locked account name or address is refused before the password is looked at."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        now = clock.now()
        keys = throttle.sign_in_keys(username=username, request=self.request)
        wait = throttle.wait_seconds(keys=keys, now=now)
        if wait:
            raise forms.ValidationError(throttle.lockout_message(wait), code="throttled")
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            locked = throttle.record_failure(keys=keys, now=now)
            errors = [self.get_invalid_login_error()]
            if locked:
                errors.append(
                    forms.ValidationError(throttle.lockout_message(locked), code="throttled")
                )
            raise forms.ValidationError(errors)
        self.confirm_login_allowed(self.user_cache)
        throttle.clear(keys=throttle.account_key(username))
        return self.cleaned_data


class SignInForm(ThrottledSignInMixin, AuthenticationForm):
    """The site's sign-in."""


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    """The back office's sign-in (staff accounts only, as Django's)."""
