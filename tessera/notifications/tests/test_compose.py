"""Every kind of message reads well in both languages with the context its callers pass
(docs/notifications.md lists them), including the kinds the waiting list and session
changes will send."""

import pytest

from tessera.notifications.compose import compose
from tessera.notifications.models import Announcement, Kind, Message
from tessera.notifications.tests.factories import NOW, make_fan_with_tickets

pytestmark = pytest.mark.django_db


def _contexts(setup) -> dict:
    session, order = setup.session.pk, setup.order.pk
    announcement = Announcement.objects.create(
        session=setup.session,
        subject="入场提示",
        subject_en="Entry notice",
        body="早到。",
        body_en="Come early.",
        created_at=NOW,
    )
    return {
        Kind.ORDER_PAID: {"order": order},
        Kind.PAYMENT_FAILED: {"order": order},
        Kind.HOLD_EXPIRING: {"order": order, "expires_at": "2026-12-01T02:10:00+00:00"},
        Kind.REFUND_APPROVED: {"order_number": "T1", "amount": "342.00 CNY"},
        Kind.REFUND_REJECTED: {"order_number": "T1", "reason": "演出当天不退"},
        Kind.EXCHANGE_COMPLETED: {"order_number": "T2"},
        Kind.TRANSFER_RECEIVED: {"transfer": "x", "session": session, "sender": "李雷"},
        Kind.WAITLIST_OFFER: {
            "session": session,
            "until": "2026-12-01T04:00:00+00:00",
            "url": "/waitlist/offers/1/",
        },
        Kind.SESSION_POSTPONED: {"session": session, "new_starts_at": "2027-01-08T11:30:00+00:00"},
        Kind.SESSION_CANCELLED: {"session": session, "note": "因不可抗力取消"},
        Kind.SESSION_MOVED: {"session": session},
        Kind.REMINDER_24H: {"session": session},
        Kind.REMINDER_2H: {"session": session},
        Kind.PASSWORD_RESET: {"path": "/accounts/reset/MQ/x/"},
        Kind.ANNOUNCEMENT: {"announcement": announcement.pk},
        Kind.PARTNER_APPLICATION: {
            "decision": "rejected",
            "name": "星海票务有限公司",
            "name_en": "Xinghai Ticketing",
            "reason": "营业执照已过期",
        },
        Kind.PARTNER_INVITATION: {
            "organization": setup.session.event.organization_id,
            "inviter": "陈静",
            "role": "manager",
            "path": "/partners/invitations/x.y/",
        },
    }


EXPECTED_SUBJECTS = {
    Kind.WAITLIST_OFFER: ("有票了：星光演唱会", "Tickets are available for you: Starlight Concert"),
    Kind.SESSION_POSTPONED: ("延期：星光演唱会", "Postponed: Starlight Concert"),
    Kind.SESSION_CANCELLED: ("取消：星光演唱会", "Cancelled: Starlight Concert"),
    Kind.SESSION_MOVED: ("场馆或时间变更：星光演唱会", "New venue or time: Starlight Concert"),
    Kind.REMINDER_2H: ("两小时后：星光演唱会", "In two hours: Starlight Concert"),
    Kind.ANNOUNCEMENT: ("入场提示", "Entry notice"),
    Kind.PARTNER_APPLICATION: (
        "关于 星海票务有限公司 的合作伙伴申请",
        "Your partner application for Xinghai Ticketing",
    ),
}


def test_every_kind_composes_in_chinese_and_english():
    setup = make_fan_with_tickets()
    contexts = _contexts(setup)
    assert set(contexts) == set(Kind.values)
    for kind, context in contexts.items():
        message = Message(kind=kind, context=context, user=setup.fan, language="zh-hans")
        zh = compose(message, now=NOW)
        en = compose(message, now=NOW, language="en")
        assert zh.subject and en.subject and zh.subject != en.subject, kind
        assert zh.paragraphs and en.paragraphs, kind
        if kind in EXPECTED_SUBJECTS:
            assert (zh.subject, en.subject) == EXPECTED_SUBJECTS[kind]
    offer = compose(
        Message(kind=Kind.WAITLIST_OFFER, context=contexts[Kind.WAITLIST_OFFER], language="en"),
        now=NOW,
    )
    assert offer.paragraphs == [
        "Places came free and you are next on the waiting list. The offer holds until "
        "Tuesday, 1 December 2026, 12:00."
    ]
    assert offer.action == ("Take the offer", "http://127.0.0.1:8000/waitlist/offers/1/")
    postponed = compose(
        Message(
            kind=Kind.SESSION_POSTPONED, context=contexts[Kind.SESSION_POSTPONED], language="en"
        ),
        now=NOW,
    )
    assert ("New date", "Friday, 8 January 2027, 19:30") in postponed.facts
