"""Password reset through the outbox: the form records the email (kind ``password_reset``)
in a transaction, the worker sends it; the page after the request says what is true: a
message is on its way if the address belongs to an account, not that it was sent."""

from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView
from django.db import transaction
from django.urls import reverse

from tessera.core import clock
from tessera.notifications.models import Channel, Kind
from tessera.notifications.services import notify


class OutboxPasswordResetForm(PasswordResetForm):
    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        user = context["user"]
        path = reverse(
            "password_reset_confirm", kwargs={"uidb64": context["uid"], "token": context["token"]}
        )
        with transaction.atomic():
            notify(
                user,
                Kind.PASSWORD_RESET,
                {"path": path},
                key=f"password_reset:{user.pk}:{context['token']}",
                now=clock.now(),
                email=to_email,
                channels=[Channel.EMAIL],
            )


class OutboxPasswordResetView(PasswordResetView):
    form_class = OutboxPasswordResetForm
