"""The apps record their messages in the transaction of the change: a refund decided, a
ticket sent to someone, a payment that failed, a password reset asked for."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.test import Client
from django.utils import timezone

from tessera.accounts.tests.factories import make_member, make_user
from tessera.aftersales import services as aftersales
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.notifications import delivery
from tessera.notifications.models import Message
from tessera.transfers import services as transfers
from tessera.transfers.tests.factories import make_transferable

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_wake(settings):
    settings.NOTIFICATIONS_WAKE_WORKER = False


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def sale(now):
    sale = make_sale(sections=1, rows=1, seats_per_row=6, starts_at=now + timedelta(days=10))
    catalog.set_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        refunds_need_review=True,
        refund_cutoff_hours=2,
        tiers=[(0, 10)],
        fee_min=D("5.00"),
    )
    return sale


def test_an_approved_and_a_refused_refund_are_told_to_the_fan(sale, now, mailoutbox):
    fan = make_buyer(preferred_language="en", email="fan@example.com")
    organizer = make_member(organization=sale.session.event.organization)
    order = bought(sale, fan, [1], now)
    second = bought(sale, fan, [2], now)
    request = aftersales.request_refund(order=order, user=fan, line_ids=None, now=now)
    assert not Message.objects.filter(kind__startswith="refund").exists()
    aftersales.approve_refund(request=request, actor=organizer, now=now)
    refused = aftersales.request_refund(order=second, user=fan, line_ids=None, now=now)
    aftersales.reject_refund(request=refused, actor=organizer, reason="演出当天不退", now=now)
    assert sorted(
        Message.objects.filter(kind__startswith="refund").values_list("kind", "channel")
    ) == [
        ("refund_approved", "email"),
        ("refund_approved", "inbox"),
        ("refund_rejected", "email"),
        ("refund_rejected", "inbox"),
    ]
    delivery.deliver_due(now=now)
    subjects = sorted(m.subject for m in mailoutbox)
    assert subjects == [
        f"Refund approved for order {order.number}",
        f"Refund refused for order {second.number}",
    ]
    refused_mail = next(m for m in mailoutbox if "refused" in m.subject)
    assert "The organizer refused the refund: 演出当天不退" in refused_mail.body
    approved_mail = next(m for m in mailoutbox if "approved" in m.subject)
    assert "342.00 CNY will go back" in approved_mail.body


def test_a_ticket_sent_by_phone_reaches_the_recipients_inbox():
    setup = make_transferable()
    sent = transfers.send_transfer(
        ticket=setup.tickets[0],
        sender=setup.buyer,
        channel="phone",
        contact="13900000002",
        now=setup.order.paid_at,
    )
    [inbox] = Message.objects.filter(kind="transfer_received", channel="inbox")
    assert inbox.user == setup.friend
    assert inbox.context == {
        "transfer": str(sent.transfer.pk),
        "session": setup.session.pk,
        "sender": "王小明",
    }
    client = Client()
    client.force_login(setup.friend)
    page = client.get("/messages/").content.decode()
    assert "王小明 转赠给您一张门票" in page
    # a link transfer has no recipient yet: nothing is recorded
    transfers.send_transfer(
        ticket=setup.tickets[1], sender=setup.buyer, channel="link", now=setup.order.paid_at
    )
    assert Message.objects.filter(kind="transfer_received").count() == 2  # inbox + email


def test_password_reset_goes_through_the_outbox_and_the_page_promises_nothing_untrue(mailoutbox):
    user = make_user(email="reset@example.com", preferred_language="en")
    client = Client()
    client.cookies["django_language"] = "en"
    answer = client.post("/accounts/password_reset/", {"email": "reset@example.com"}, follow=True)
    page = answer.content.decode()
    assert "is now queued for sending" in page
    assert "We’ve emailed you" not in page and "We've emailed you" not in page
    assert mailoutbox == []
    [message] = Message.objects.filter(kind="password_reset")
    assert (message.user, message.channel, message.status) == (user, "email", "pending")
    delivery.deliver_due(now=timezone.now())
    [mail] = mailoutbox
    assert mail.subject == "Choose a new password for Tessera"
    message.refresh_from_db()
    assert (message.status, message.context) == ("sent", {})  # the link is not kept
    link = next(line for line in mail.body.splitlines() if "/accounts/reset/" in line)
    path = link.split("http://127.0.0.1:8000", 1)[1]
    form = client.get(path, follow=True)
    assert form.status_code == 200 and b"new_password1" in form.content
    # an unknown address records nothing and the page says the same
    client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert Message.objects.filter(kind="password_reset").count() == 1
