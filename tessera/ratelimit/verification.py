"""Verified contacts: a fan proves a mobile phone or an email address with a one-time code.

A code is six digits from ``secrets``; only its HMAC-SHA256 (under a key derived from
SECRET_KEY, with a per-code salt) is stored. It expires after ``CODE_TTL`` and allows
``MAX_ATTEMPTS`` wrong tries; asking for a new one invalidates the earlier ones of that
channel, and asking is rate limited (bucket ``verify_send`` per account and address). The
code travels through the notification providers (``notifications.providers``: the SMS
provider of the settings, whose sandbox keeps the text and logs it; email through Django's
mail backend), sent after the transaction that recorded its hash, never from inside it;
it is never put in the outbox, the audit log or any other row in clear.

A session with a ``VerificationRequirement`` admits only verified fans to hold places
(the hold guard ``require_verified_contact``). The guard reads the requirements from a
per-process table refreshed every ``REQUIREMENTS_TTL`` seconds, so the sale of a session
without a requirement costs no statement; a requirement set in another process applies
within that time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from tessera.core import audit
from tessera.ratelimit.errors import (
    CodeAttemptsExhausted,
    CodeExpired,
    CodeInvalid,
    CodeNotSent,
    ContactMissing,
)
from tessera.ratelimit.models import (
    Channel,
    OneTimeCode,
    Requirement,
    VerificationRequirement,
    VerifiedContact,
)

logger = logging.getLogger(__name__)
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
REQUIREMENTS_TTL = 30.0  # seconds
_PHONE = re.compile(r"^(?:\+86)?(1[3-9][0-9]{9})$|^(\+[1-9][0-9]{7,14})$")


def normalize(channel: str, address: str) -> str:
    """The canonical form of a phone number (mainland 11 digits, else +E.164) or an email
    address (lower case); raises ContactMissing when it is neither."""
    address = (address or "").strip()
    if channel == Channel.PHONE:
        compact = re.sub(r"[\s()-]", "", address)
        match = _PHONE.match(compact)
        if not match:
            raise ContactMissing(_("Enter a mobile phone number like 13812345678 or +85291234567."))
        return match.group(1) or match.group(2)
    if channel == Channel.EMAIL:
        try:
            validate_email(address)
        except ValidationError:
            raise ContactMissing(_("Enter a valid email address.")) from None
        return address.lower()[:254]
    raise ContactMissing()


def _digest(salt: str, code: str) -> str:
    key = hashlib.sha256(b"tessera.verification:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def masked(channel: str, address: str) -> str:
    if channel == Channel.PHONE:
        return address[:3] + "****" + address[-4:] if len(address) >= 8 else "****"
    name, _at, domain = address.partition("@")
    return (name[:1] + "***@" + domain) if domain else "***"


def request_code(*, user, channel: str, address: str, now: datetime, environ=None) -> OneTimeCode:
    """Record a new code for ``user`` at ``address`` and send it. Earlier codes of that
    channel stop working. Raises ContactMissing, RateLimited (too many codes asked),
    CodeNotSent (the provider refused; the code is recorded but cannot be known)."""
    from tessera.ratelimit.limits import refusal

    address = normalize(channel, address)
    refused = refusal(environ or {}, "verify_send", account=user.pk)
    if refused is not None:
        raise refused
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    with transaction.atomic(durable=True):
        OneTimeCode.objects.filter(
            user=user, channel=channel, used_at__isnull=True, expires_at__gt=now
        ).update(expires_at=now)
        row = OneTimeCode.objects.create(
            user=user,
            channel=channel,
            address=address,
            salt=salt,
            code_hash=_digest(salt, code),
            created_at=now,
            expires_at=now + CODE_TTL,
        )
        audit.record(
            action="ratelimit.code_sent",
            obj=row,
            actor=user,
            now=now,
            data={"channel": channel, "to": masked(channel, address)},
        )
    _send(row, code, language=translation.get_language() or settings.LANGUAGE_CODE)
    return row


def _text(code: str) -> str:
    minutes = int(CODE_TTL.total_seconds() // 60)
    return _(
        "Tessera: your verification code is %(code)s. It expires in %(minutes)d minutes. "
        "Do not share it with anyone."
    ) % {"code": code, "minutes": minutes}


def _send(row: OneTimeCode, code: str, *, language: str) -> None:
    from tessera.notifications.errors import ProviderError
    from tessera.notifications.providers import send_email, sms_provider

    key = f"verification:{row.pk}"
    with translation.override(language):
        text = _text(code)
        subject = _("Your Tessera verification code")
    try:
        if row.channel == Channel.PHONE:
            provider = sms_provider()
            provider.send(
                key=key,
                phone=row.address,
                text=text,
                template="verification_code",
                params={"code": code},
            )
            if provider.name == "sandbox":  # the sandbox stands for a phone: show the text
                logger.info("sandbox text message to %s: %s", row.address, text)
        else:
            send_email(
                EmailMultiAlternatives(subject=subject, body=text, to=[row.address]), key=key
            )
    except ProviderError:
        logger.warning("verification code %s could not be sent", row.pk, exc_info=True)
        raise CodeNotSent() from None


def confirm_code(*, user, channel: str, code: str, now: datetime) -> VerifiedContact:
    """Check ``code`` against the newest code of ``user``'s ``channel``; a right code marks
    its address verified (once: a used code is refused). Raises CodeInvalid (a wrong code;
    the attempt is counted), CodeAttemptsExhausted, CodeExpired (none, expired or used)."""
    code = re.sub(r"\s", "", code or "")[:12]
    with transaction.atomic(durable=True):
        row = (
            OneTimeCode.objects.select_for_update()
            .filter(user=user, channel=channel)
            .order_by("-created_at", "-pk")
            .first()
        )
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise CodeExpired()
        if row.attempts >= MAX_ATTEMPTS:
            raise CodeAttemptsExhausted()
        right = len(code) == 6 and hmac.compare_digest(row.code_hash, _digest(row.salt, code))
        if not right:
            OneTimeCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
            wrong = row.attempts + 1
        else:
            OneTimeCode.objects.filter(pk=row.pk).update(used_at=now)
            contact, _created = VerifiedContact.objects.get_or_create(
                user=user,
                channel=channel,
                address=row.address,
                defaults={"verified_at": now},
            )
            audit.record(
                action="ratelimit.contact_verified",
                obj=contact,
                actor=user,
                now=now,
                data={"channel": channel, "address": masked(channel, row.address)},
            )
            return contact
    if wrong >= MAX_ATTEMPTS:
        raise CodeAttemptsExhausted()
    raise CodeInvalid()


def verified_channels(user) -> set[str]:
    if not getattr(user, "pk", None):
        return set()
    return set(VerifiedContact.objects.filter(user=user).values_list("channel", flat=True))


def satisfies(requirement: str, channels: set[str]) -> bool:
    if requirement == Requirement.ANY:
        return bool(channels)
    return requirement in channels


# -- the session requirement and the hold guard ---------------------------------------------

_requirements: dict[int, str] = {}
_loaded_at = [float("-inf")]
_lock = threading.Lock()


def requirement_of(session_id: int) -> str | None:
    """The requirement of a session (None: none), from the per-process table."""
    ttl = float(getattr(settings, "RATELIMIT_REQUIREMENTS_SECONDS", REQUIREMENTS_TTL))
    if time.monotonic() - _loaded_at[0] > ttl:
        with _lock:
            if time.monotonic() - _loaded_at[0] > ttl:
                fresh = dict(
                    VerificationRequirement.objects.values_list("session_id", "requirement")
                )
                _requirements.clear()
                _requirements.update(fresh)
                _loaded_at[0] = time.monotonic()
    return _requirements.get(session_id)


def forget_requirements() -> None:
    """Read the requirements again on the next hold (this process)."""
    _loaded_at[0] = float("-inf")


def set_requirement(*, session, requirement: str | None, actor, now: datetime) -> None:
    """Require (or, with None, stop requiring) a verified contact to buy in ``session``."""
    with transaction.atomic(durable=True):
        if requirement is None:
            VerificationRequirement.objects.filter(session=session).delete()
        else:
            VerificationRequirement.objects.update_or_create(
                session=session, defaults={"requirement": requirement, "created_at": now}
            )
        audit.record(
            action="ratelimit.requirement_set",
            obj=session,
            actor=actor,
            now=now,
            data={"requirement": requirement or ""},
        )
    forget_requirements()


def verify_url(session_id: int) -> str:
    return (
        reverse("ratelimit:verify")
        + "?"
        + urlencode({"next": reverse("storefront:buy", args=[session_id])})
    )


def require_verified_contact(*, session, user, admission_pass, now) -> None:
    """Hold guard: a session with a requirement needs a verified contact of its buyer."""
    from tessera.ratelimit.errors import VerificationRequired

    requirement = requirement_of(session.pk)
    if requirement is None:
        return
    if not satisfies(requirement, verified_channels(user)):
        raise VerificationRequired(requirement=requirement, verify_url=verify_url(session.pk))


def verification_redirect(request, session):
    """For the buy page: a redirect to the verify page (with a notice saying why) when
    ``session`` requires a contact the signed-in fan has not verified, else None."""
    from django.contrib import messages
    from django.shortcuts import redirect

    requirement = requirement_of(session.pk)
    if requirement is None or satisfies(requirement, verified_channels(request.user)):
        return None
    from tessera.ratelimit.errors import VerificationRequired

    refused = VerificationRequired(requirement=requirement, verify_url=verify_url(session.pk))
    messages.warning(request, str(refused.message))
    channel = "email" if requirement == Requirement.EMAIL else "phone"
    return redirect(refused.verify_url + "&channel=" + channel)
