"""Recording messages in the outbox, a person's choices, the inbox.

``notify`` is the one entry point other apps call, **inside the transaction of the change
that causes the message**: the outbox rows commit or roll back with that change. It writes
one ``Message`` per channel the person receives (the inbox row is delivered by being
written; email and text message rows wait for the worker in ``delivery.py``). Keys are
unique: calling ``notify`` twice with the same ``key`` records the messages once.

Transactional kinds always go to the inbox and by email (when there is an address), by text
message when the person switched text messages on; marketing goes only where allowed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import transaction

from tessera.notifications.errors import BadUnsubscribeLink, NoRecipient, UnknownKind
from tessera.notifications.models import Channel, Kind, Message, MessageStatus, Preference

UNSUBSCRIBE_SALT = "tessera.notifications.unsubscribe"
logger = logging.getLogger(__name__)
KEY_LENGTH = 150  # leaves room for ":<channel>" within Message.key's 160


def language_of(user) -> str:
    language = getattr(user, "preferred_language", "") or ""
    return language if language in ("zh-hans", "en") else settings.LANGUAGE_CODE


def preference_of(user) -> Preference | None:
    if user is None or not getattr(user, "pk", None):
        return None
    return Preference.objects.filter(user_id=user.pk).first()


LOOK_UP = object()  # ``preference`` not given: read it (None means the person has no row)


def channels_for(user, *, is_marketing: bool, preference=LOOK_UP) -> list[str]:
    """The channels a message of this category reaches for this person (see module doc)."""
    if preference is LOOK_UP:
        preference = preference_of(user)
    sms_on = bool(preference and preference.sms_enabled)
    channels = [Channel.INBOX]
    if is_marketing:
        if preference is None or preference.marketing_email:
            channels.append(Channel.EMAIL)
        if sms_on and preference.marketing_sms:
            channels.append(Channel.SMS)
    else:
        channels.append(Channel.EMAIL)
        if sms_on:
            channels.append(Channel.SMS)
    return channels


def build_messages(
    *,
    user,
    kind: str,
    context: dict,
    key: str,
    now: datetime,
    email: str = "",
    phone: str = "",
    channels: list[str] | None = None,
    is_marketing: bool = False,
    language: str = "",
    preference=LOOK_UP,
    announcement_id: int | None = None,
) -> list[Message]:
    """The unsaved outbox rows of one event for one person (or one bare address)."""
    if kind not in Kind.values:
        raise UnknownKind()
    if user is None and not (email or phone):
        raise NoRecipient()
    key = str(key)[:KEY_LENGTH]
    email = email or (getattr(user, "email", "") or "")
    phone = phone or (getattr(user, "phone", "") or "")
    if channels is None:
        channels = (
            channels_for(user, is_marketing=is_marketing, preference=preference)
            if user is not None
            else [Channel.EMAIL]
        )
    language = language or language_of(user)
    rows = []
    for channel in channels:
        address = {Channel.EMAIL: email, Channel.SMS: phone}.get(channel, "")
        if channel == Channel.INBOX and user is None:
            continue
        if channel != Channel.INBOX and not address:
            continue
        is_inbox = channel == Channel.INBOX
        rows.append(
            Message(
                key=f"{key}:{channel}",
                user=user,
                channel=channel,
                address=address,
                kind=kind,
                is_marketing=is_marketing,
                language=language,
                context=context,
                status=MessageStatus.SENT if is_inbox else MessageStatus.PENDING,
                sent_at=now if is_inbox else None,
                created_at=now,
                next_attempt_at=now,
                announcement_id=announcement_id,
            )
        )
    return rows


def notify(
    recipient,
    kind: str,
    context: dict | None = None,
    *,
    key: str,
    now: datetime,
    email: str = "",
    phone: str = "",
    channels: list[str] | None = None,
    is_marketing: bool = False,
    language: str = "",
) -> list[Message]:
    """Record the messages of ``kind`` to ``recipient`` (a user, or None with ``email`` /
    ``phone``) in the caller's transaction with one INSERT; returns the rows (a ``key``
    recorded before is skipped by the database). ``context`` is JSON: ids and short texts;
    the message is rendered in the recipient's language when it is delivered.

    Raises UnknownKind, NoRecipient.
    """
    rows = build_messages(
        user=recipient,
        kind=kind,
        context=dict(context or {}),
        key=key,
        now=now,
        email=email,
        phone=phone,
        channels=channels,
        is_marketing=is_marketing,
        language=language,
    )
    if not rows:
        return []
    # One INSERT; a key recorded before (the same event again) is skipped by the database.
    Message.objects.bulk_create(rows, ignore_conflicts=True)
    if getattr(settings, "NOTIFICATIONS_WAKE_WORKER", True) and any(
        row.channel != Channel.INBOX for row in rows
    ):
        transaction.on_commit(_wake_worker)
    return rows


def notify_many(items: list[tuple], *, now: datetime) -> int:
    """``notify`` for many people at once (a batch job): ``items`` are ``(recipient, kind,
    context, key)`` with recipients that are users; their preferences are read in one query
    and every row goes in one INSERT per 1,000 (keys recorded before are skipped). Returns
    how many rows were built. Raises UnknownKind."""
    users = [item[0] for item in items if item[0] is not None]
    preferences = {
        row.user_id: row for row in Preference.objects.filter(user_id__in={u.pk for u in users})
    }
    rows = []
    for recipient, kind, context, key in items:
        if recipient is None:
            continue
        rows += build_messages(
            user=recipient,
            kind=kind,
            context=dict(context or {}),
            key=key,
            now=now,
            preference=preferences.get(recipient.pk),
        )
    if not rows:
        return 0
    Message.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    if getattr(settings, "NOTIFICATIONS_WAKE_WORKER", True) and any(
        row.channel != Channel.INBOX for row in rows
    ):
        transaction.on_commit(_wake_worker)
    return len(rows)


def _wake_worker() -> None:
    from tessera.notifications.tasks import deliver_messages

    try:
        deliver_messages.enqueue()
    except Exception as exc:  # the periodic run delivers it anyway
        logger.warning("delivery not enqueued: %s", exc)


# -- preferences ---------------------------------------------------------------------------


def set_preferences(
    *, user, sms_enabled: bool, marketing_email: bool, marketing_sms: bool, now: datetime
) -> Preference:
    with transaction.atomic():
        preference, _ = Preference.objects.update_or_create(
            user=user,
            defaults={
                "sms_enabled": bool(sms_enabled),
                "marketing_email": bool(marketing_email),
                "marketing_sms": bool(marketing_sms),
                "updated_at": now,
            },
        )
    return preference


def unsubscribe_token(user) -> str:
    return signing.dumps({"u": user.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_marketing(*, token: str, now: datetime):
    """The one-click unsubscribe (RFC 8058): no more marketing by email or text message.
    Raises BadUnsubscribeLink for a token this site did not sign."""
    from django.contrib.auth import get_user_model

    try:
        data = signing.loads(str(token)[:500], salt=UNSUBSCRIBE_SALT)
        user = get_user_model().objects.get(pk=int(data["u"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, OverflowError) as exc:
        raise BadUnsubscribeLink() from exc
    except get_user_model().DoesNotExist as exc:
        raise BadUnsubscribeLink() from exc
    with transaction.atomic():
        preference, created = Preference.objects.get_or_create(
            user=user,
            defaults={"marketing_email": False, "marketing_sms": False, "updated_at": now},
        )
        if not created:
            preference.marketing_email = False
            preference.marketing_sms = False
            preference.updated_at = now
            preference.save(update_fields=["marketing_email", "marketing_sms", "updated_at"])
    return user


# -- the inbox -----------------------------------------------------------------------------


def inbox_of(user):
    return Message.objects.filter(user=user, channel=Channel.INBOX).order_by("-created_at", "-id")


def unread_count(user) -> int:
    return inbox_of(user).filter(read_at__isnull=True).count()


def mark_read(*, user, message_ids=None, now: datetime) -> int:
    """Mark the person's inbox messages read (all of them without ``message_ids``)."""
    qs = inbox_of(user).filter(read_at__isnull=True)
    if message_ids is not None:
        qs = qs.filter(pk__in=list(message_ids))
    with transaction.atomic():
        return qs.update(read_at=now)
