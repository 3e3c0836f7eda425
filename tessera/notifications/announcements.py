"""Organizers' announcements to the holders of a session: written as a draft, previewed,
then sent — fanned out by the worker in batches (``producers.fan_out_announcement``) while
the back office shows done/total."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from tessera.core import audit
from tessera.notifications.compose import Composed, compose
from tessera.notifications.errors import AnnouncementInvalid, AnnouncementNotDraft
from tessera.notifications.models import Announcement, AnnouncementStatus, Kind, Message
from tessera.notifications.producers import count_holders

logger = logging.getLogger(__name__)


def preview(*, announcement: Announcement, language: str, now: datetime) -> Composed:
    """The announcement as a holder reads it (no message is recorded)."""
    sample = Message(
        kind=Kind.ANNOUNCEMENT,
        language=language,
        context={"announcement": announcement.pk},
        user=None,
    )
    return compose(sample, now=now)


def start_sending(*, announcement: Announcement, actor, now: datetime) -> Announcement:
    """Count the recipients and hand the fan-out to the worker. Raises AnnouncementNotDraft,
    AnnouncementInvalid."""
    if not (announcement.subject or "").strip() or not (announcement.body or "").strip():
        raise AnnouncementInvalid()
    total = count_holders(announcement.session_id)
    with transaction.atomic():
        updated = Announcement.objects.filter(
            pk=announcement.pk, status=AnnouncementStatus.DRAFT
        ).update(status=AnnouncementStatus.SENDING, total=total, started_at=now)
        if not updated:
            raise AnnouncementNotDraft()
        audit.record(
            action="announcement.sent",
            obj=announcement,
            actor=actor,
            organization_id=announcement.session.event.organization_id,
            now=now,
            data={"recipients": total},
        )
        transaction.on_commit(lambda: _enqueue(announcement.pk))
    return Announcement.objects.get(pk=announcement.pk)


def _enqueue(announcement_id: int) -> None:
    from tessera.notifications.tasks import fan_out_announcement

    try:
        fan_out_announcement.enqueue(announcement_id)
    except Exception as exc:  # the periodic run picks it up
        logger.warning("announcement %s not enqueued: %s", announcement_id, exc)
