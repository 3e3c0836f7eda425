"""Email through a real SMTP server (aiosmtpd on a free local port): headers, the
recipient's language, text and HTML, the tickets' QR codes inline; a server that refuses
leaves the message waiting and the fan is told so."""

import email
import email.policy
import io
import socket
from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.test import Client

from tessera.notifications import delivery, services
from tessera.notifications.models import Message, MessageStatus
from tessera.notifications.providers import message_id_for
from tessera.notifications.tests.factories import NOW, make_fan_with_tickets
from tessera.tickets import selectors as ticket_selectors
from tessera.tickets import services as ticket_services
from tessera.tickets.qr import make_qr

pytestmark = pytest.mark.django_db


class Keep:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.DEFAULT_FROM_EMAIL = "Tessera <tickets@tessera.example>"
    settings.NOTIFICATIONS_WAKE_WORKER = False
    yield handler
    controller.stop()


def _record_paid(setup):
    with transaction.atomic():
        services.notify(
            setup.fan,
            "order_paid",
            {"order": setup.order.pk},
            key=f"order_paid:{setup.order.pk}",
            now=NOW,
            email=setup.order.email,
        )


def subject_of(mail) -> str:
    """The decoded Subject (Django folds a long encoded subject onto the next line)."""
    return str(make_header(decode_header(mail.get("Subject", failobj="").__str__()))).strip()


def test_an_english_fan_gets_english_mail_with_the_qr_codes_inline(smtp):
    setup = make_fan_with_tickets(language="en")
    _record_paid(setup)
    assert delivery.deliver_due(now=NOW).sent == 1
    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == ["buyer@example.com"]
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    number = setup.order.number
    assert subject_of(mail) == f"Your tickets for Starlight Concert (order {number})"
    assert mail["From"] == "Tessera <tickets@tessera.example>"
    assert mail["To"] == "buyer@example.com"
    assert mail["Content-Language"] == "en"
    assert mail["Message-ID"] == message_id_for(f"order_paid:{setup.order.pk}:email")
    assert mail.get_content_type() == "multipart/related"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Hello 王小明," in text and "Your payment arrived" in text
    assert f"/orders/{number}/" in text
    images = [part for part in mail.walk() if part.get_content_type() == "image/png"]
    tickets = ticket_selectors.list_order_tickets(setup.order, valid_only=True)
    assert len(images) == len(tickets) == 2
    for ticket, image in zip(tickets, images, strict=True):
        cid = f"ticket-{ticket.public_id.hex}"
        assert image["Content-ID"] == f"<{cid}>"
        assert f'src="cid:{cid}"' in html
        expected = io.BytesIO()
        make_qr(ticket_services.credential_for(ticket=ticket, now=NOW)).save(
            expected, kind="png", scale=6, border=4
        )
        assert image.get_content() == expected.getvalue()


def test_a_chinese_fan_gets_chinese_mail(smtp):
    setup = make_fan_with_tickets(language="zh-hans")
    _record_paid(setup)
    delivery.deliver_due(now=NOW)
    [envelope] = smtp.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert subject_of(mail) == f"您的星光演唱会门票（订单 {setup.order.number}）"
    assert mail["Content-Language"] == "zh-Hans"
    assert "王小明，您好：" in mail.get_body(("plain",)).get_content()
    assert '<html lang="zh-Hans">' in mail.get_body(("html",)).get_content()


def test_a_reminder_carries_the_match_day_guide(smtp):
    setup = make_fan_with_tickets(language="en")
    with transaction.atomic():
        services.notify(setup.fan, "reminder_24h", {"session": setup.session.pk}, key="r", now=NOW)
    delivery.deliver_due(now=NOW)
    [envelope] = smtp.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert subject_of(mail) == "Tomorrow: Starlight Concert"
    text = mail.get_body(("plain",)).get_content()
    assert "Address: 1 Starlight Road, Shanghai" in text
    assert "Gates: East gate, West gate" in text
    assert "Getting there: Metro line 2, Starlight Road, exit 3" in text
    assert "What to bring: Your ID card and the e-ticket on your phone" in text
    assert "Map: https://www.openstreetmap.org/?mlat=31.230400&mlon=121.473700&zoom=16" in text


def test_a_refused_connection_leaves_the_mail_waiting_and_the_order_page_says_so(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _free_port()  # nothing listens there
    settings.NOTIFICATIONS_WAKE_WORKER = False
    setup = make_fan_with_tickets(language="en")
    _record_paid(setup)
    assert delivery.deliver_due(now=NOW).retrying == 1
    message = Message.objects.get(channel="email")
    assert message.status == MessageStatus.PENDING and message.attempts == 1
    assert "refused" in message.last_error.lower()
    client = Client()
    client.force_login(setup.fan)
    client.cookies["django_language"] = "en"
    page = client.get(f"/orders/{setup.order.number}/").content.decode()
    assert "The email to buyer@example.com is waiting to be sent" in page
    assert "Tickets emailed" not in page
    assert delivery.deliver_due(now=NOW + timedelta(seconds=10)).retrying == 0  # backs off
