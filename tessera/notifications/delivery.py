"""The worker's side of the outbox: claim due messages, hand each to its provider with the
message's idempotency key, mark it sent, log every attempt.

Claiming is one conditional UPDATE (pending and due, or "sending" with an expired claim)
that stamps a claim token; a message is sent only by the worker whose token it carries.
No transaction is open while a provider is called. A worker that dies after the provider
accepted a message and before marking it leaves the message "sending"; when the claim
expires (``NOTIFICATIONS_CLAIM_SECONDS``) another worker sends it again with the same key,
and a provider that honours keys (the sandbox) answers "already sent" with the first
reference, so the person gets it once. Failures are retried with a growing delay
(1, 2, 4 … minutes, at most an hour) up to ``NOTIFICATIONS_MAX_ATTEMPTS``; then the message
is "failed", which the order page and the back office show.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import translation

from tessera.notifications import providers
from tessera.notifications.compose import Composed, compose
from tessera.notifications.errors import ProviderError
from tessera.notifications.models import (
    AttemptOutcome,
    Channel,
    DeliveryAttempt,
    Message,
    MessageStatus,
)

logger = logging.getLogger(__name__)
SECRET_KINDS = ("password_reset",)


def claim_seconds() -> int:
    return int(getattr(settings, "NOTIFICATIONS_CLAIM_SECONDS", 120))


def max_attempts() -> int:
    return int(getattr(settings, "NOTIFICATIONS_MAX_ATTEMPTS", 8))


def retry_delay(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def _due(now: datetime) -> Q:
    return Q(status=MessageStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=MessageStatus.SENDING, claimed_until__lt=now
    )


def claim(*, now: datetime, limit: int = 50) -> tuple[str, list[Message]]:
    """Claim up to ``limit`` due messages for this worker; (token, messages)."""
    token = uuid.uuid4().hex
    ids = list(
        Message.objects.filter(_due(now))
        .exclude(channel=Channel.INBOX)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    if not ids:
        return token, []
    with transaction.atomic():
        Message.objects.filter(_due(now), pk__in=ids).update(
            status=MessageStatus.SENDING,
            claimed_by=token,
            claimed_until=now + timedelta(seconds=claim_seconds()),
        )
    claimed = list(
        Message.objects.select_related("user").filter(
            claimed_by=token, status=MessageStatus.SENDING
        )
    )
    return token, claimed


@dataclass
class Outcome:
    sent: int = 0
    already_sent: int = 0
    failed: int = 0
    retrying: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def deliver_due(*, now: datetime, limit: int = 50, rounds: int = 20) -> Outcome:
    """Deliver due messages, ``limit`` at a time, up to ``rounds`` batches."""
    outcome = Outcome()
    for _ in range(rounds):
        token, batch = claim(now=now, limit=limit)
        if not batch:
            break
        for message in batch:
            deliver_one(message, token=token, now=now, outcome=outcome)
    return outcome


def build_email(message: Message, composed: Composed) -> EmailMultiAlternatives:
    """The email of a message: text and HTML in its language, ticket QR codes inline
    (``cid:`` images), a one-click unsubscribe header on marketing."""
    from tessera.notifications.services import unsubscribe_token
    from tessera.tickets.qr import make_qr

    with translation.override(message.language):
        context = {"c": composed, "message": message}
        unsubscribe_url = ""
        if message.is_marketing and message.user_id:
            from django.urls import reverse

            from tessera.notifications.compose import absolute

            unsubscribe_url = absolute(
                reverse("notifications:unsubscribe", args=[unsubscribe_token(message.user)])
            )
        context["unsubscribe_url"] = unsubscribe_url
        text = render_to_string("notifications/email/message.txt", context)
        html = render_to_string("notifications/email/message.html", context)
    email = EmailMultiAlternatives(
        subject=composed.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.address],
        headers={"Content-Language": "en" if message.language == "en" else "zh-Hans"},
    )
    if unsubscribe_url:
        email.extra_headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        email.extra_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.attach_alternative(html, "text/html")
    if composed.tickets:
        email.mixed_subtype = "related"
        for ticket in composed.tickets:
            import io

            out = io.BytesIO()
            make_qr(ticket.credential).save(out, kind="png", scale=6, border=4)
            image = MIMEImage(out.getvalue(), "png")
            image.add_header("Content-ID", f"<{ticket.cid}>")
            image.add_header("Content-Disposition", "inline", filename=f"{ticket.cid}.png")
            email.attach(image)
    return email


def _send(message: Message, *, now: datetime) -> tuple[str, providers.SendResult]:
    if message.channel == Channel.EMAIL:
        composed = compose(message, now=now)
        email = build_email(message, composed)
        return providers.email_backend_name(), providers.send_email(email, key=message.key)
    composed = compose(message, now=now, with_tickets=False)
    provider = providers.sms_provider()
    template = getattr(settings, "NOTIFICATIONS_SMS_TEMPLATES", {}).get(message.kind, message.kind)
    result = provider.send(
        key=message.key,
        phone=message.address,
        text=composed.sms_text or composed.subject,
        template=template,
        params=composed.sms_params,
    )
    return provider.name, result


def deliver_one(message: Message, *, token: str, now: datetime, outcome: Outcome) -> None:
    number = message.attempts + 1
    provider_name = message.channel
    try:
        provider_name, result = _send(message, now=now)
    except (ProviderError, Exception) as exc:  # one bad message must not stop the batch
        error = str(exc)[:300]
        logger.warning("message %s attempt %s failed: %s", message.pk, number, error)
        is_final = number >= max_attempts()
        with transaction.atomic():
            updated = Message.objects.filter(pk=message.pk, claimed_by=token).update(
                status=MessageStatus.FAILED if is_final else MessageStatus.PENDING,
                attempts=number,
                last_error=error,
                next_attempt_at=now + retry_delay(number),
                claimed_by="",
                claimed_until=None,
            )
            if updated:
                DeliveryAttempt.objects.create(
                    message_id=message.pk,
                    number=number,
                    provider=provider_name,
                    outcome=AttemptOutcome.FAILED,
                    error=error,
                    at=now,
                )
        if is_final:
            outcome.failed += 1
        else:
            outcome.retrying += 1
        return
    # a password link is a credential: once sent, the outbox forgets it
    forget = {"context": {}} if message.kind in SECRET_KINDS else {}
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, claimed_by=token).update(
            status=MessageStatus.SENT,
            attempts=number,
            sent_at=now,
            provider_reference=result.reference[:120],
            last_error="",
            claimed_by="",
            claimed_until=None,
            **forget,
        )
        if updated:
            DeliveryAttempt.objects.create(
                message_id=message.pk,
                number=number,
                provider=provider_name,
                outcome=AttemptOutcome.ALREADY_SENT if result.already_sent else AttemptOutcome.SENT,
                provider_reference=result.reference[:120],
                at=now,
            )
    if result.already_sent:
        outcome.already_sent += 1
    else:
        outcome.sent += 1
