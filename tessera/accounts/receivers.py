"""Sign-out ends the account's sessions everywhere.

Sessions live in signed cookies (settings ``SESSION_ENGINE``): the server keeps no session
row it could delete, so a copied cookie would outlive a plain sign-out. ``end_sessions``
bumps ``User.session_epoch``, part of the session auth hash, and every cookie of the account
stops working on every device.

It runs from Django's ``user_logged_out`` signal rather than from a logout view of ours:
``django.contrib.auth.logout`` sends it on every way out (the site's sign-out button through
Django's ``LogoutView``, the back office's logout, any code that calls ``logout``), so no
path can sign a person out on one device and leave the other sessions running. It is the
one receiver the accounts app has; domain steps are still called directly.
"""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from tessera.accounts import services


@receiver(user_logged_out, dispatch_uid="tessera.accounts.end_sessions_on_sign_out")
def end_sessions_on_sign_out(sender, request, user, **kwargs) -> None:
    if user is not None and user.pk is not None:
        services.end_sessions(user=user)
