"""Support conversations: the fan asks, the bot answers, a person takes over when asked.

Every entry point is one transaction and audits what a person of the back office did.
A conversation's queue (``organization``) is fixed when it is handed to a person: the
organizer of the order it is about, else the organization whose help page it started
on, else the platform (empty). Fans who use the large text mode or asked for help are
answered first (``is_priority``).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from tessera.core import audit
from tessera.support import bot
from tessera.support.errors import (
    ConversationClosed,
    ConversationOpen,
    MessageInvalid,
    RatingInvalid,
)
from tessera.support.models import (
    Conversation,
    ConversationStatus,
    Message,
    Sender,
    SupportPreference,
)

MESSAGE_MAX = 1000
COMMENT_MAX = 500


def clean_text(text, *, limit: int = MESSAGE_MAX) -> str:
    """The message without NUL bytes and outer spaces; raises MessageInvalid when it is not
    a string, empty or longer than ``limit``."""
    if not isinstance(text, str):
        raise MessageInvalid()
    cleaned = text.replace("\x00", "").strip()
    if not cleaned or len(cleaned) > limit:
        raise MessageInvalid(details={"text": "too_long" if cleaned else "required"})
    return cleaned


def preference_of(user) -> SupportPreference | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return SupportPreference.objects.filter(user=user).first()


def _is_priority(user) -> bool:
    preference = preference_of(user)
    return bool(preference and (preference.large_text or preference.needs_assistance))


def ask(
    *,
    conversation: Conversation | None,
    user,
    text,
    organization_id: int | None,
    language: str,
    now: datetime,
) -> tuple[Conversation, Message, Message | None]:
    """Record the fan's message and, while the bot has the conversation, its answer.

    Starts a conversation when ``conversation`` is None. Raises MessageInvalid and
    ConversationClosed."""
    body = clean_text(text)
    if conversation is not None and conversation.status == ConversationStatus.CLOSED:
        raise ConversationClosed()
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    reply = None
    if conversation is None or conversation.status == ConversationStatus.BOT:
        reply = bot.answer(
            body, user=user if signed_in else None, organization_id=organization_id, now=now
        )
    with transaction.atomic(durable=True):
        if conversation is None:
            conversation = Conversation.objects.create(
                user=user if signed_in else None,
                organization_id=organization_id,
                language=(language or "zh-hans")[:10],
                created_at=now,
                last_message_at=now,
            )
        asked = Message.objects.create(
            conversation=conversation, sender=Sender.FAN, body=body, created_at=now
        )
        answered = None
        if reply is not None:
            answered = Message.objects.create(
                conversation=conversation,
                sender=Sender.BOT,
                body=reply.body[:4000],
                faq=reply.faq,
                intent=reply.intent,
                is_confident=reply.is_confident,
                links=reply.links,
                created_at=now,
            )
            if reply.order is not None and conversation.order_id is None:
                conversation.order = reply.order
        conversation.last_message_at = now
        conversation.save(update_fields=["order", "last_message_at"])
    return conversation, asked, answered


def escalate(*, conversation: Conversation, now: datetime) -> Conversation:
    """Hand the conversation to a person: it joins its queue (see the module docstring).
    Asking again while it waits changes nothing. Raises ConversationClosed."""
    with transaction.atomic(durable=True):
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.status == ConversationStatus.CLOSED:
            raise ConversationClosed()
        if locked.status != ConversationStatus.BOT:
            return locked
        if locked.order_id is not None:
            from tessera.orders.models import Order

            locked.organization_id = (
                Order.objects.filter(pk=locked.order_id)
                .values_list("session__event__organization_id", flat=True)
                .first()
            )
        locked.status = ConversationStatus.WAITING
        locked.escalated_at = now
        locked.last_message_at = now
        locked.is_priority = _is_priority(locked.user)
        locked.save()
        Message.objects.create(
            conversation=locked,
            sender=Sender.SYSTEM,
            body=_("A person from support will answer here soon."),
            created_at=now,
        )
        audit.record(
            action="support.escalated",
            obj=locked,
            actor=locked.user,
            organization_id=locked.organization_id,
            now=now,
            data={"priority": locked.is_priority},
        )
    return locked


def reply_as_agent(
    *, conversation: Conversation, agent, text, now: datetime, is_note: bool = False
) -> Message:
    """An agent's reply (seen by the fan) or internal note (never shown to the fan).
    The first reply stamps the first response time; an unassigned conversation is
    assigned to its first replier. Raises MessageInvalid, ConversationClosed."""
    body = clean_text(text, limit=4000)
    with transaction.atomic(durable=True):
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.status == ConversationStatus.CLOSED and not is_note:
            raise ConversationClosed()
        message = Message.objects.create(
            conversation=locked,
            sender=Sender.NOTE if is_note else Sender.AGENT,
            author=agent,
            body=body,
            created_at=now,
        )
        if not is_note:
            if locked.escalated_at is None:
                locked.escalated_at = now
            if locked.first_response_at is None:
                locked.first_response_at = now
            if locked.assigned_to_id is None:
                locked.assigned_to = agent
            locked.status = ConversationStatus.OPEN
            locked.last_message_at = now
            locked.save()
        audit.record(
            action="support.note" if is_note else "support.replied",
            obj=locked,
            actor=agent,
            organization_id=locked.organization_id,
            now=now,
        )
    return message


def assign(*, conversation: Conversation, agent, actor, now: datetime) -> Conversation:
    with transaction.atomic(durable=True):
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        locked.assigned_to = agent
        locked.save(update_fields=["assigned_to"])
        audit.record(
            action="support.assigned",
            obj=locked,
            actor=actor,
            organization_id=locked.organization_id,
            now=now,
            data={"agent": getattr(agent, "pk", None)},
        )
    return locked


def close(*, conversation: Conversation, actor, now: datetime) -> Conversation:
    """Close the conversation (the fan or an agent); the fan may then rate it once."""
    with transaction.atomic(durable=True):
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.status == ConversationStatus.CLOSED:
            return locked
        locked.status = ConversationStatus.CLOSED
        locked.closed_at = now
        locked.save(update_fields=["status", "closed_at"])
        audit.record(
            action="support.closed",
            obj=locked,
            actor=actor,
            organization_id=locked.organization_id,
            now=now,
        )
    return locked


def rate(*, conversation: Conversation, rating, comment, now: datetime) -> Conversation:
    """The fan's satisfaction (1-5) with a closed conversation, once.
    Raises RatingInvalid, ConversationOpen."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise RatingInvalid()
    note = ""
    if comment not in (None, ""):
        note = clean_text(comment, limit=COMMENT_MAX)
    with transaction.atomic(durable=True):
        updated = Conversation.objects.filter(
            pk=conversation.pk, status=ConversationStatus.CLOSED, rating__isnull=True
        ).update(rating=rating, rating_comment=note)
        if updated != 1:
            raise ConversationOpen()
    conversation.refresh_from_db()
    return conversation


def set_preference(
    *, user, now: datetime, large_text: bool | None = None, needs_assistance: bool | None = None
) -> SupportPreference:
    """Remember the large text mode and/or the wish for elder-friendly help on the account."""
    with transaction.atomic(durable=True):
        preference, _created = SupportPreference.objects.select_for_update().get_or_create(
            user=user
        )
        if large_text is not None:
            preference.large_text = bool(large_text)
        if needs_assistance is not None:
            preference.needs_assistance = bool(needs_assistance)
        preference.save()
    return preference
