"""The help centre (FAQ entries), support conversations and the fan's display preferences.

A conversation starts with the answer bot; escalated, it waits in a queue: its organizer's
when it concerns one of that organizer's orders, the platform's (``organization`` empty)
otherwise. Fans who asked for elder-friendly help, or use the large text mode, are routed
first (``is_priority``).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.core.i18n import localized
from tessera.core.models import TimeStampedModel


class Topic(models.TextChoices):
    TICKETS = "tickets", _("Tickets")
    REFUNDS = "refunds", _("Refunds")
    EXCHANGES = "exchanges", _("Exchanges")
    TRANSFERS = "transfers", _("Transfers")
    ENTRY = "entry", _("Entry and gates")
    PARKING = "parking", _("Parking and travel")
    REAL_NAME = "real_name", _("Real-name tickets")
    PAYMENT = "payment", _("Payment")
    WAITING_ROOM = "waiting_room", _("Waiting room")
    ACCESSIBILITY = "accessibility", _("Accessibility")
    ACCOUNT = "account", _("Account")


class FaqEntry(TimeStampedModel):
    """One question of the help centre, in Chinese and English, answered in Markdown.

    No organization: a platform-wide entry; else the organizer's own entry, shown on its
    help page and preferred by the bot in that organizer's conversations."""

    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="faq_entries",
        verbose_name=_("organization"),
        help_text=_("Empty: a platform-wide entry."),
    )
    slug = models.SlugField(_("slug"), max_length=60)
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    question = models.CharField(_("question"), max_length=200)
    question_en = models.CharField(_("English question"), max_length=200, blank=True)
    answer = models.TextField(_("answer (Markdown)"), max_length=5000)
    answer_en = models.TextField(_("English answer (Markdown)"), max_length=5000, blank=True)
    keywords = models.CharField(
        _("search words"),
        max_length=300,
        blank=True,
        help_text=_("Other words people use for this question, in either language."),
    )
    is_published = models.BooleanField(_("published"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("help centre entry")
        verbose_name_plural = _("help centre entries")
        ordering = ["topic", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slug"], name="support_faq_slug_per_organization"
            ),
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(organization__isnull=True),
                name="support_faq_slug_platform",
            ),
        ]

    def __str__(self) -> str:
        return self.display_question

    @property
    def display_question(self) -> str:
        return localized(self, "question")

    @property
    def display_answer(self) -> str:
        return localized(self, "answer")


class SupportPreference(models.Model):
    """What a fan chose for display and help: the large text mode (大字版), and whether they
    asked for elder-friendly help (the mode is then suggested, and support answers first)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="support_preference",
        verbose_name=_("user"),
    )
    large_text = models.BooleanField(_("large text mode"), default=False)
    needs_assistance = models.BooleanField(
        _("asked for elder-friendly help"),
        default=False,
        help_text=_("The large text mode is suggested and support answers this person first."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("display preference")
        verbose_name_plural = _("display preferences")

    def __str__(self) -> str:
        return str(self.user)


class ConversationStatus(models.TextChoices):
    BOT = "bot", _("With the bot")
    WAITING = "waiting", _("Waiting for a person")
    OPEN = "open", _("Answered by a person")
    CLOSED = "closed", _("Closed")


class Conversation(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="support_conversations",
        verbose_name=_("fan"),
    )
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="support_conversations",
        verbose_name=_("queue"),
        help_text=_("Empty: the platform's queue."),
    )
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("order"),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ConversationStatus.choices,
        default=ConversationStatus.BOT,
        db_index=True,
    )
    is_priority = models.BooleanField(_("priority"), default=False)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    created_at = models.DateTimeField(_("created at"), db_index=True)
    escalated_at = models.DateTimeField(_("handed to a person at"), null=True, blank=True)
    first_response_at = models.DateTimeField(
        _("first answered by a person at"), null=True, blank=True
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message at"))
    rating = models.PositiveSmallIntegerField(_("satisfaction (1-5)"), null=True, blank=True)
    rating_comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("support conversation")
        verbose_name_plural = _("support conversations")
        ordering = ["-is_priority", "-last_message_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="support_rating_1_to_5",
            )
        ]

    def __str__(self) -> str:
        return str(self.public_id)[:8]


class Sender(models.TextChoices):
    FAN = "fan", _("Fan")
    BOT = "bot", _("Bot")
    AGENT = "agent", _("Agent")
    NOTE = "note", _("Internal note")
    SYSTEM = "system", _("System")


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("conversation"),
    )
    sender = models.CharField(_("from"), max_length=10, choices=Sender.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(_("text"), max_length=4000)
    # The bot's answer: which FAQ entry or personal answer it gave, and how sure it was.
    faq = models.ForeignKey(
        FaqEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    intent = models.CharField(_("answer kind"), max_length=30, blank=True)
    is_confident = models.BooleanField(_("confident"), default=True)
    links = models.JSONField(_("links"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["conversation", "id"]

    def __str__(self) -> str:
        return self.body[:60]


class CannedReply(TimeStampedModel):
    """A prepared answer an agent picks in the support inbox."""

    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_replies",
        verbose_name=_("organization"),
        help_text=_("Empty: offered to every agent."),
    )
    title = models.CharField(_("title"), max_length=80)
    body = models.TextField(_("text"), max_length=2000)
    body_en = models.TextField(_("English text"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title
