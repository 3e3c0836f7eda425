"""Messages derived in batches: paid orders after the ledger's high-water mark (the sale's
purchase writes nothing for them), reminders once per session, places about to be released,
announcements fanned out with their progress."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tessera.catalog.models import Session
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.notifications import announcements, delivery, producers, services
from tessera.notifications.errors import AnnouncementNotDraft
from tessera.notifications.models import (
    Announcement,
    AnnouncementStatus,
    Message,
    ReminderRun,
    Watermark,
)
from tessera.notifications.tests.factories import NOW, make_fan_with_tickets
from tessera.orders.models import LedgerEntry, LedgerKind, Order
from tessera.sale.tests.conftest import gateway_callbacks


@pytest.fixture(autouse=True)
def _no_wake(settings):
    settings.NOTIFICATIONS_WAKE_WORKER = False


def _buy(sale, buyer, quantity=2):
    fan = Client()
    fan.force_login(buyer)
    bought = fan.post(
        f"/api/v1/sessions/{sale.session.pk}/checkout",
        json.dumps({"zone": sale.zones["A"].pk, "quantity": quantity, "provider": "sandbox"}),
        content_type="application/json",
    ).json()
    [callback] = gateway_callbacks(bought["payment"]["id"], timezone.now())
    answer = Client().post(
        "/api/v1/payments/callbacks/sandbox",
        callback.body,
        content_type="application/json",
        HTTP_X_SANDBOX_SIGNATURE=callback.headers["X-Sandbox-Signature"],
    )
    assert answer.status_code == 200
    return Order.objects.get(number=bought["order"]["number"])


@pytest.mark.django_db(transaction=True)
def test_orders_paid_through_the_sale_are_announced_once_by_the_batch(mailoutbox):
    sale = make_sale(sections=1, rows=2, seats_per_row=5)
    buyer = make_buyer(email="fan@example.com", preferred_language="en", display_name="Li")
    order = _buy(sale, buyer)
    assert order.status == "fulfilled"
    # the purchase itself recorded nothing
    assert Message.objects.count() == 0
    now = timezone.now()
    # within the lag the batch waits (the transaction may still be committing elsewhere)
    assert producers.derive_paid_orders(now=now - timedelta(seconds=1)) == 0
    assert producers.derive_paid_orders(now=now + timedelta(seconds=10)) == 1
    assert sorted(Message.objects.values_list("key", "status")) == [
        (f"order_paid:{order.pk}:email", "pending"),
        (f"order_paid:{order.pk}:inbox", "sent"),
    ]
    # again, and again over the overlap window: nothing new
    assert producers.derive_paid_orders(now=now + timedelta(seconds=20)) == 0
    Watermark.objects.update(position_at=now - timedelta(minutes=1))
    assert producers.derive_paid_orders(now=now + timedelta(seconds=30)) == 0
    assert Message.objects.count() == 2
    delivery.deliver_due(now=now + timedelta(seconds=30))
    [mail] = mailoutbox
    assert mail.to == ["fan@example.com"]
    assert mail.subject.startswith("Your tickets for ")
    assert len([a for a in mail.attachments if a.get_content_type() == "image/png"]) == 2


@pytest.mark.django_db
def test_a_rolled_back_payment_is_never_announced():
    setup = make_fan_with_tickets()
    order = setup.order
    with pytest.raises(RuntimeError), transaction.atomic():
        LedgerEntry.objects.create(
            order=order, kind=LedgerKind.CHARGE, amount=order.total, currency="CNY", at=NOW
        )
        raise RuntimeError("the sale failed after charging")
    assert producers.derive_paid_orders(now=NOW + timedelta(minutes=1)) == 0
    assert Message.objects.count() == 0
    LedgerEntry.objects.create(
        order=order, kind=LedgerKind.CHARGE, amount=order.total, currency="CNY", at=NOW
    )
    assert producers.derive_paid_orders(now=NOW + timedelta(minutes=1)) == 1
    assert Message.objects.filter(kind="order_paid").count() == 2


@pytest.mark.django_db
def test_reminders_go_once_per_session_and_kind_to_every_holder():
    setup = make_fan_with_tickets()
    start = setup.session.starts_at
    assert producers.record_reminders(now=start - timedelta(hours=30)) == {}
    day_before = producers.record_reminders(now=start - timedelta(hours=23))
    assert day_before == {f"reminder_24h:{setup.session.pk}": 2}  # inbox + email
    assert producers.record_reminders(now=start - timedelta(hours=22)) == {}
    two_hours = producers.record_reminders(now=start - timedelta(minutes=90))
    assert two_hours == {f"reminder_2h:{setup.session.pk}": 2}
    assert set(ReminderRun.objects.values_list("kind", "recorded")) == {
        ("reminder_24h", 2),
        ("reminder_2h", 2),
    }
    assert set(Message.objects.filter(user=setup.fan).values_list("kind", "channel")) == {
        ("reminder_24h", "inbox"),
        ("reminder_24h", "email"),
        ("reminder_2h", "inbox"),
        ("reminder_2h", "email"),
    }


@pytest.mark.django_db
def test_a_cancelled_session_gets_no_reminder():
    setup = make_fan_with_tickets()
    Session.objects.filter(pk=setup.session.pk).update(status="cancelled")
    assert producers.record_reminders(now=setup.session.starts_at - timedelta(hours=5)) == {}


@pytest.mark.django_db
def test_places_about_to_be_released_are_announced_once():
    from tessera.tickets.tests.factories import make_paid_order, make_ticketed_session

    session, zone = make_ticketed_session(seats=2)
    setup = make_fan_with_tickets()
    pending = make_paid_order(
        session=session, zone=zone, user=setup.fan, status="pending_payment", now=NOW
    )  # pays before NOW + 10 min
    assert producers.warn_expiring_holds(now=NOW) == 0
    assert producers.warn_expiring_holds(now=NOW + timedelta(minutes=6)) == 1
    assert producers.warn_expiring_holds(now=NOW + timedelta(minutes=7)) == 0
    [message] = Message.objects.filter(kind="hold_expiring")
    assert (message.channel, message.context["order"]) == ("inbox", pending.pk)


@pytest.mark.django_db
def test_an_announcement_is_previewed_then_fanned_out_in_batches_with_progress(
    django_capture_on_commit_callbacks,
):
    setup = make_fan_with_tickets(language="en")
    others = [make_fan_with_tickets() for _ in range(2)]
    # the other fans hold tickets of other sessions: move one order to this session
    Order.objects.filter(pk=others[0].order.pk).update(session=setup.session)
    from tessera.tickets.models import Ticket

    Ticket.objects.filter(order_line__order=others[0].order).update(session=setup.session)
    announcement = Announcement.objects.create(
        session=setup.session,
        subject="入场提示",
        subject_en="Entry notice",
        body="请提前一小时到场。\n东门排队较短。",
        body_en="Please come an hour early.\nThe east gate has shorter queues.",
        created_at=NOW,
    )
    preview = announcements.preview(announcement=announcement, language="en", now=NOW)
    assert preview.subject == "Entry notice"
    assert preview.paragraphs == ["Please come an hour early.", "The east gate has shorter queues."]
    assert Message.objects.filter(kind="announcement").count() == 0
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = announcements.start_sending(announcement=announcement, actor=None, now=NOW)
    assert (started.status, started.total, started.done) == ("sending", 2, 0)
    assert len(callbacks) == 1
    with pytest.raises(AnnouncementNotDraft):
        announcements.start_sending(announcement=announcement, actor=None, now=NOW)
    producers.BATCH, batch = 1, producers.BATCH
    try:
        first = producers.fan_out_announcement(announcement_id=announcement.pk, now=NOW, batches=1)
        assert (first.status, first.done, first.total) == ("sending", 1, 2)
        done = producers.fan_out_announcement(announcement_id=announcement.pk, now=NOW)
    finally:
        producers.BATCH = batch
    assert (done.status, done.done, done.total, done.percent) == (
        AnnouncementStatus.DONE,
        2,
        2,
        100,
    )
    assert set(Message.objects.filter(kind="announcement").values_list("user_id", "channel")) == {
        (setup.fan.pk, "inbox"),
        (setup.fan.pk, "email"),
        (others[0].fan.pk, "inbox"),
        (others[0].fan.pk, "email"),
    }


@pytest.mark.django_db
def test_marketing_announcements_respect_the_unsubscribe():
    setup = make_fan_with_tickets()
    services.set_preferences(
        user=setup.fan, sms_enabled=True, marketing_email=False, marketing_sms=False, now=NOW
    )
    announcement = Announcement.objects.create(
        session=setup.session,
        subject="周边八折",
        body="本周末购买周边享八折。",
        is_marketing=True,
        created_at=NOW,
    )
    announcements.start_sending(announcement=announcement, actor=None, now=NOW)
    producers.fan_out_announcement(announcement_id=announcement.pk, now=NOW)
    assert list(Message.objects.filter(kind="announcement").values_list("channel", flat=True)) == [
        "inbox"
    ]
