"""The help chat over HTTP: ask (the bot answers), read new messages, ask for a person,
close, rate. Signed in or not: a conversation started without an account belongs to the
browser session that started it, one started signed in to that account only; any other
caller gets 404. POSTs need the CSRF token (``X-CSRFToken``), signed in or not.
Errors answer ``{"error": {code, message, details}}``.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.utils.translation import get_language, gettext
from ninja import Field, Query, Router, Schema
from ninja.security import SessionAuth

from tessera.accounts.models import Organization, OrganizationKind
from tessera.core.clock import now as clock_now
from tessera.core.schemas import ErrorOut, InputSchema
from tessera.support import selectors, services
from tessera.support.errors import ConversationNotFound
from tessera.support.models import Conversation, ConversationStatus, Message

router = Router(tags=["support"])

_ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
SESSION_KEY = "support_conversations"
SESSION_KEEP = 10


class FanOrVisitor(SessionAuth):
    """The signed-in fan or an anonymous visitor; the CSRF check applies to both."""

    def authenticate(self, request, key):
        return request.user


visitor_auth = FanOrVisitor()


class AskIn(InputSchema):
    text: str = Field(..., max_length=4000)
    conversation: UUID | None = None
    organization: int | None = Field(None, ge=1, le=2**31 - 1)


class RatingIn(InputSchema):
    rating: int = Field(..., ge=1, le=5)
    comment: str = Field("", max_length=500)


class LinkOut(Schema):
    label: str
    url: str


class MessageOut(Schema):
    id: int
    sender: str
    sender_label: str
    body: str
    links: list[LinkOut]
    is_confident: bool
    created_at: datetime


class ConversationOut(Schema):
    id: UUID
    status: str
    status_label: str
    can_rate: bool
    rating: int | None
    offers_person: bool
    messages: list[MessageOut]


class AfterQuery(Schema):
    after: int = Field(0, ge=0, le=2**62)


def _message_out(message: Message) -> dict:
    label = gettext("Help bot") if message.sender == "bot" else message.get_sender_display()
    if message.sender == "agent" and message.author is not None:
        label = str(message.author.display_name or message.author.first_name or label)
    links = message.links if isinstance(message.links, list) else []
    return {
        "id": message.pk,
        "sender": message.sender,
        "sender_label": label,
        "body": message.body,
        "links": [link for link in links if isinstance(link, dict)][:5],
        "is_confident": message.is_confident,
        "created_at": message.created_at,
    }


def _out(conversation: Conversation, messages, *, offers_person: bool = False) -> dict:
    return {
        "id": conversation.public_id,
        "status": conversation.status,
        "status_label": conversation.get_status_display(),
        "can_rate": conversation.status == ConversationStatus.CLOSED
        and conversation.rating is None,
        "rating": conversation.rating,
        "offers_person": offers_person,
        "messages": [_message_out(message) for message in messages],
    }


def _owned(request, public_id: UUID) -> Conversation:
    """The caller's conversation: their account's, or, for a visitor, their session's."""
    conversation = Conversation.objects.filter(public_id=public_id).first()
    if conversation is None:
        raise ConversationNotFound()
    user = request.user
    if conversation.user_id is not None:
        if not user.is_authenticated or conversation.user_id != user.pk:
            raise ConversationNotFound()
    elif str(public_id) not in request.session.get(SESSION_KEY, []):
        raise ConversationNotFound()
    return conversation


def _remember(request, conversation: Conversation) -> None:
    if conversation.user_id is not None:
        return
    known = [value for value in request.session.get(SESSION_KEY, []) if isinstance(value, str)]
    key = str(conversation.public_id)
    if key not in known:
        request.session[SESSION_KEY] = ([*known, key])[-SESSION_KEEP:]


@router.post(
    "/support/messages",
    auth=visitor_auth,
    response={200: ConversationOut, **_ERRORS},
    summary="Ask the help bot",
)
def ask(request, payload: AskIn):
    """Send a message. Without ``conversation`` a new one starts. While the bot has the
    conversation the answer is among ``messages`` (the fan's message and the bot's); once a
    person has it, the message waits for them. ``organization``: the organizer whose help
    page the chat is on (its own help entries come first)."""
    now = clock_now()
    conversation = _owned(request, payload.conversation) if payload.conversation else None
    organization_id = conversation.organization_id if conversation else payload.organization
    if conversation is None and organization_id is not None:
        organization_id = (
            Organization.objects.filter(
                pk=organization_id, kind=OrganizationKind.ORGANIZER, is_active=True
            )
            .values_list("pk", flat=True)
            .first()
        )
    conversation, asked, answered = services.ask(
        conversation=conversation,
        user=request.user,
        text=payload.text,
        organization_id=organization_id,
        language=get_language() or "zh-hans",
        now=now,
    )
    _remember(request, conversation)
    messages = [asked] + ([answered] if answered is not None else [])
    offers = bool(
        answered is not None and (not answered.is_confident or answered.intent == "human")
    )
    return _out(conversation, messages, offers_person=offers)


@router.get(
    "/support/conversations/{public_id}",
    auth=visitor_auth,
    response={200: ConversationOut, **_ERRORS},
    summary="Read a help conversation",
)
def read_conversation(request, public_id: UUID, query: Query[AfterQuery]):
    """The conversation's status and its messages after ``after`` (a message id; 0: all),
    internal notes excepted. The chat window polls this while a person has it."""
    conversation = _owned(request, public_id)
    return _out(conversation, list(selectors.visible_messages(conversation, after_id=query.after)))


@router.post(
    "/support/conversations/{public_id}/escalate",
    auth=visitor_auth,
    response={200: ConversationOut, **_ERRORS},
    summary="Ask for a person",
)
def escalate(request, public_id: UUID):
    """Hand the conversation to a person of support; their replies appear in it."""
    conversation = services.escalate(conversation=_owned(request, public_id), now=clock_now())
    return _out(conversation, list(selectors.visible_messages(conversation))[-1:])


@router.post(
    "/support/conversations/{public_id}/close",
    auth=visitor_auth,
    response={200: ConversationOut, **_ERRORS},
    summary="Close a help conversation",
)
def close(request, public_id: UUID):
    """End the conversation; it can then be rated once."""
    user = request.user if request.user.is_authenticated else None
    conversation = services.close(
        conversation=_owned(request, public_id), actor=user, now=clock_now()
    )
    return _out(conversation, [])


@router.post(
    "/support/conversations/{public_id}/rating",
    auth=visitor_auth,
    response={200: ConversationOut, **_ERRORS},
    summary="Rate a closed help conversation",
)
def rate(request, public_id: UUID, payload: RatingIn):
    """Satisfaction from 1 to 5 stars, with an optional comment; once per conversation."""
    conversation = services.rate(
        conversation=_owned(request, public_id),
        rating=payload.rating,
        comment=payload.comment,
        now=clock_now(),
    )
    return _out(conversation, [])
