"""Sign-out ends the account's sessions everywhere.

Sessions live in signed cookies (settings ``SESSION_ENGINE``): the server keeps no session
row it could delete, so a copied cookie would outlive a plain sign-out. ``end_sessions``
bumps ``User.session_epoch``, part of the session auth hash, and every cookie of the account
stops working on every device.

It runs from Django's ``user_logged_out`` signal rather than from a logout view of ours:
``django.contrib.auth.logout`` sends it on every way out (the site's sign-out button through
Django's ``LogoutView``, the back office's logout, any code that calls ``logout``), so no
path can sign a person out on one device and leave the other sessions running. A second
receiver forgets, at every sign-in, that a session passed two-step sign-in. Domain steps are
still called directly.
"""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from tessera.accounts import services
from tessera.accounts.middleware import VERIFIED_SESSION_KEY


@receiver(user_logged_out, dispatch_uid="tessera.accounts.end_sessions_on_sign_out")
def end_sessions_on_sign_out(sender, request, user, **kwargs) -> None:
    if user is not None and user.pk is not None:
        services.end_sessions(user=user)


@receiver(user_logged_in, dispatch_uid="tessera.accounts.second_factor_again_on_sign_in")
def second_factor_again_on_sign_in(sender, request, user, **kwargs) -> None:
    """A new sign-in has not passed the second step yet, whatever the session held."""
    if request is not None and hasattr(request, "session"):
        request.session.pop(VERIFIED_SESSION_KEY, None)
