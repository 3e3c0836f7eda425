"""A person's own data: the JSON export holds their profile, orders, attendees, tickets,
payments and the audit entries about them (and nobody else's); deletion closes the account,
keeps orders, payments and the ledger without names, phones or emails, and waits while
tickets can still be used."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from tessera.accounts.models import User
from tessera.accounts.tests.factories import make_user
from tessera.core import audit
from tessera.core.models import AuditEntry
from tessera.inventory.models import Hold, HoldStatus
from tessera.orders.models import LedgerEntry, LedgerKind, Order, OrderStatus
from tessera.payments.models import Payment, PaymentStatus, Provider
from tessera.privacy import selectors, services
from tessera.privacy.errors import DeletionNotPossibleYet, WrongPassword
from tessera.storefront.models import CheckoutDraft
from tessera.tickets import services as tickets
from tessera.tickets.models import Ticket
from tessera.tickets.tests.factories import make_paid_order, make_ticketed_session

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-42"
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # after the sessions below
PAST = datetime(2027, 1, 20, 11, 30, tzinfo=UTC)


def a_fans_history(user, *, starts_at=PAST):
    """A paid order of two seats with attendees, tickets, a payment, a ledger charge, a
    checkout draft and audit entries, for ``user``."""
    session, zone = make_ticketed_session(starts_at=starts_at)
    order = make_paid_order(
        session=session, zone=zone, user=user, seats=2, attendee_names=["李雷", "韩梅梅"]
    )
    Order.objects.filter(pk=order.pk).update(phone="13800138000")
    issued = tickets.issue_tickets(order=order, now=order.paid_at)
    payment = Payment.objects.create(
        order=order,
        provider=Provider.SANDBOX,
        status=PaymentStatus.SUCCEEDED,
        amount=order.total,
        currency="CNY",
        provider_reference="SBX-1",
        created_at=order.created_at,
        completed_at=order.paid_at,
    )
    LedgerEntry.objects.create(
        order=order,
        kind=LedgerKind.CHARGE,
        amount=order.total,
        currency="CNY",
        payment_id=payment.pk,
        reference="SBX-1",
        at=order.paid_at,
    )
    hold = Hold.objects.create(
        session=session,
        user=user,
        status=HoldStatus.ORDERED,
        quantity=2,
        created_at=order.created_at,
        expires_at=order.expires_at,
    )
    CheckoutDraft.objects.create(
        hold=hold, user=user, names=["李雷", "韩梅梅"], email="li@example.com", updated_at=PAST
    )
    audit.record(action="profile.changed", obj=user, actor=user, now=PAST)
    return order, issued, payment


def test_the_export_holds_everything_about_the_person_and_nothing_of_others():
    # given a fan with a history, and another fan with one of their own
    fan = make_user(
        username="lilei", display_name="李雷", email="li@example.com", phone="13900139000"
    )
    order, issued, payment = a_fans_history(fan)
    other = make_user(username="someone", email="else@example.com")
    other_order, *_ = a_fans_history(other)
    # when the fan's data is exported
    data = selectors.export_person(user=fan, now=NOW)
    # then it has their profile, order with attendees, tickets, payment and drafts
    assert data["format"] == "tessera.personal-data/1"
    assert data["profile"]["username"] == "lilei"
    assert (data["profile"]["email"], data["profile"]["phone"]) == (
        "li@example.com",
        "13900139000",
    )
    (exported,) = data["orders"]
    assert exported["number"] == order.number
    assert (exported["email"], exported["phone"]) == ("buyer@example.com", "13800138000")
    assert [line["attendee_name"] for line in exported["lines"]] == ["李雷", "韩梅梅"]
    assert exported["total"] == "760.00"
    assert [t["number"] for t in data["tickets"]] == [t.number for t in issued]
    assert [t["holder_name"] for t in data["tickets"]] == ["李雷", "韩梅梅"]
    (paid,) = data["payments"]
    assert (paid["id"], paid["amount"], paid["status"]) == (str(payment.pk), "760.00", "succeeded")
    assert data["checkout_drafts"][0]["attendee_names"] == ["李雷", "韩梅梅"]
    # and the audit entries about them: their own change and the tickets issued for them
    actions = [(e["action"], e["by"]) for e in data["audit"]]
    assert ("profile.changed", "you") in actions
    assert ("tickets.issued", "system") in actions
    # and nothing of the other fan
    text = json.dumps(data, ensure_ascii=False)
    assert other_order.number not in text
    assert "else@example.com" not in text
    # the download is a JSON attachment from the account page, noted in the audit log
    client = Client()
    client.force_login(fan)
    response = client.post("/account/data/export/")
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="tessera-my-data-')
    assert json.loads(response.content)["orders"][0]["number"] == order.number
    assert AuditEntry.objects.filter(
        action="privacy.personal_data_exported", object_id=str(fan.pk)
    ).exists()
    assert client.get("/account/data/export/").status_code == 405


def raw_rows_mention(*needles: str) -> list[str]:
    """Tables and columns whose raw text still contains one of ``needles``."""
    found = []
    checks = {
        "accounts_user": ["username", "email", "phone", "display_name", "first_name"],
        "orders_order": ["email", "phone"],
        "orders_orderline": ["attendee_name", "attendee_id_number"],
        "tickets_ticket": ["holder_name"],
        "orders_ledgerentry": ["memo", "reference"],
        "storefront_checkoutdraft": ["names", "email"],
        "core_auditentry": ["data"],
    }
    with connection.cursor() as cursor:
        for table, columns in checks.items():
            for column in columns:
                cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608 - fixed names
                for (value,) in cursor.fetchall():
                    text = (
                        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    )
                    found += [f"{table}.{column}" for n in needles if n in (text or "")]
    return found


def test_deletion_anonymises_the_person_and_keeps_orders_payments_and_the_ledger():
    # given a fan whose events are over
    fan = make_user(
        username="lilei", display_name="李雷", email="li@example.com", phone="13900139000"
    )
    order, issued, payment = a_fans_history(fan)
    ledger_before = list(LedgerEntry.objects.values_list("kind", "amount", "order_id"))
    # when they ask for deletion with their password
    services.erase_person(user=fan, password=PASSWORD, now=NOW)
    # then the account is closed and names nothing
    fan = User.objects.get(pk=fan.pk)
    assert fan.username == f"deleted-{fan.pk}"
    assert (fan.email, fan.phone, fan.display_name, fan.is_active) == ("", "", "", False)
    assert not fan.has_usable_password()
    # and the order, its payment and the ledger stay, with their amounts
    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.total, order.email, order.phone) == (
        OrderStatus.PAID,
        Decimal("760.00"),
        "",
        "",
    )
    assert Payment.objects.get(pk=payment.pk).amount == Decimal("760.00")
    assert list(LedgerEntry.objects.values_list("kind", "amount", "order_id")) == ledger_before
    assert [t.holder_name for t in Ticket.objects.filter(pk__in=[t.pk for t in issued])] == [
        "",
        "",
    ]
    assert not CheckoutDraft.objects.filter(user=fan).exists()
    # and no table still holds the person's name, username, email or phone
    assert (
        raw_rows_mention("李雷", "韩梅梅", "lilei", "li@example.com", "13900139000", "13800138000")
        == []
    )
    assert AuditEntry.objects.filter(action="privacy.personal_data_erased").count() == 1


def test_deletion_waits_while_tickets_can_still_be_used_and_needs_the_password():
    # given a fan with tickets for a session that has not happened yet
    fan = make_user(username="hanmeimei", email="han@example.com")
    order, *_ = a_fans_history(fan, starts_at=NOW + timedelta(days=10))
    # then a wrong password, then the upcoming tickets, refuse the deletion
    with pytest.raises(WrongPassword):
        services.erase_person(user=fan, password="wrong", now=NOW)
    with pytest.raises(DeletionNotPossibleYet) as info:
        services.erase_person(user=fan, password=PASSWORD, now=NOW)
    assert "tickets for events that have not ended" in str(info.value.message)
    # and nothing changed
    fan.refresh_from_db()
    assert (fan.username, fan.email, fan.is_active) == ("hanmeimei", "han@example.com", True)
    assert Order.objects.get(pk=order.pk).email == "buyer@example.com"


def test_the_deletion_page_closes_the_account_and_signs_out():
    fan = make_user(username="polly", email="polly@example.com")
    a_fans_history(fan, starts_at=datetime.now(UTC) - timedelta(days=30))  # pages: real clock
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(fan)
    page = client.get("/account/delete/").content.decode()
    assert "What the law requires us to keep" in page
    # without the confirmation box nothing happens
    response = client.post("/account/delete/", {"password": PASSWORD})
    assert response.status_code == 400
    assert User.objects.get(pk=fan.pk).is_active
    response = client.post("/account/delete/", {"password": PASSWORD, "confirm": "yes"})
    assert response.status_code == 200
    assert "Your account is closed" in response.content.decode()
    assert not User.objects.get(pk=fan.pk).is_active
    assert client.get("/orders/").status_code == 302  # signed out
