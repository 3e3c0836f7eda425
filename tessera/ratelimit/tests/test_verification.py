"""One-time codes (hashed, expiring, attempts limited, resends limited, single use) and the
hold guard of sessions that require a verified contact."""

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tessera.core.models import AuditEntry
from tessera.inventory.models import Hold
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.notifications.models import SmsSandboxRecord
from tessera.ratelimit import verification
from tessera.ratelimit.errors import (
    CodeAttemptsExhausted,
    CodeExpired,
    CodeInvalid,
    ContactMissing,
    RateLimited,
)
from tessera.ratelimit.models import OneTimeCode, VerifiedContact

pytestmark = pytest.mark.django_db


def sent_code(phone: str) -> str:
    record = SmsSandboxRecord.objects.filter(phone=phone).order_by("-accepted_at", "-pk").first()
    return re.search(r"\b(\d{6})\b", record.text).group(1)


@pytest.fixture
def fan():
    return make_buyer(phone="13812345678", email="fan@example.com")


@pytest.fixture
def now():
    return timezone.now()


def test_a_code_is_sent_hashed_and_verifies_once(fan, now):
    row = verification.request_code(user=fan, channel="phone", address="138 1234 5678", now=now)
    code = sent_code("13812345678")
    assert row.address == "13812345678"
    assert code not in row.code_hash and len(row.code_hash) == 64
    stored = OneTimeCode.objects.filter(pk=row.pk).values_list(flat=True)
    assert code not in json.dumps(list(OneTimeCode.objects.values()), default=str)
    assert stored
    assert code not in json.dumps(list(AuditEntry.objects.values("data")), default=str)
    contact = verification.confirm_code(user=fan, channel="phone", code=code, now=now)
    assert (contact.channel, contact.address) == ("phone", "13812345678")
    # the same code again: replay refused, nothing more verified
    with pytest.raises(CodeExpired):
        verification.confirm_code(user=fan, channel="phone", code=code, now=now)
    assert VerifiedContact.objects.count() == 1


def test_a_wrong_code_counts_and_five_exhaust_the_code(fan, now):
    verification.request_code(user=fan, channel="phone", address="13812345678", now=now)
    right = sent_code("13812345678")
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(4):
        with pytest.raises(CodeInvalid):
            verification.confirm_code(user=fan, channel="phone", code=wrong, now=now)
    with pytest.raises(CodeAttemptsExhausted):
        verification.confirm_code(user=fan, channel="phone", code=wrong, now=now)
    # even the right code no longer works
    with pytest.raises(CodeAttemptsExhausted):
        verification.confirm_code(user=fan, channel="phone", code=right, now=now)
    assert OneTimeCode.objects.get().attempts == 5
    assert not VerifiedContact.objects.exists()


def test_an_expired_or_replaced_code_is_refused(fan, now):
    verification.request_code(user=fan, channel="phone", address="13812345678", now=now)
    first = sent_code("13812345678")
    with pytest.raises(CodeExpired):
        verification.confirm_code(
            user=fan, channel="phone", code=first, now=now + timedelta(minutes=10, seconds=1)
        )
    verification.request_code(user=fan, channel="phone", address="13812345678", now=now)
    second = sent_code("13812345678")
    old, new = OneTimeCode.objects.order_by("pk")
    assert old.expires_at == now  # asking again stopped the earlier code
    if second != first:  # one in a million the same six digits come again
        with pytest.raises(CodeInvalid):
            verification.confirm_code(user=fan, channel="phone", code=first, now=now)
        assert OneTimeCode.objects.get(pk=new.pk).attempts == 1
    assert not VerifiedContact.objects.exists()


def test_resends_are_rate_limited(fan, now, settings):
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_BACKEND = "memory"
    for _ in range(3):
        verification.request_code(user=fan, channel="email", address="fan@example.com", now=now)
    with pytest.raises(RateLimited) as refused:
        verification.request_code(user=fan, channel="email", address="fan@example.com", now=now)
    assert refused.value.details["scope"] == "account"
    assert OneTimeCode.objects.count() == 3
    assert len(mail.outbox) == 3
    assert "verification code is" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("channel", "address"),
    [("phone", "12345"), ("phone", "02012345678"), ("email", "not-an-email"), ("fax", "1")],
)
def test_a_bad_address_is_refused(fan, now, channel, address):
    with pytest.raises(ContactMissing):
        verification.request_code(user=fan, channel=channel, address=address, now=now)
    assert not OneTimeCode.objects.exists()


# -- the sale --------------------------------------------------------------------------------


@pytest.fixture
def guarded_sale(now):
    sale = make_sale(sections=1, rows=2, seats_per_row=10)
    verification.set_requirement(session=sale.session, requirement="phone", actor=None, now=now)
    return sale


def hold(client, sale):
    return client.post(
        f"/api/v1/sessions/{sale.session.pk}/holds",
        json.dumps({"zone": sale.zones["A"].pk, "quantity": 1}),
        content_type="application/json",
    )


def test_an_unverified_fan_is_refused_with_a_link_to_verify(fan, guarded_sale):
    client = Client(headers={"Accept-Language": "zh-hans"})
    client.force_login(fan)
    refused = hold(client, guarded_sale)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "verification_required"
    assert error["message"] == "本场次要求购票前先验证手机号。"
    assert error["details"] == {
        "requirement": "phone",
        "verify_url": f"/account/verify/?next=%2Fsessions%2F{guarded_sale.session.pk}%2Fbuy%2F",
    }
    checkout = client.post(
        f"/api/v1/sessions/{guarded_sale.session.pk}/checkout",
        json.dumps({"zone": guarded_sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"}),
        content_type="application/json",
    )
    assert checkout.status_code == 403
    assert checkout.json()["error"]["code"] == "verification_required"
    assert Hold.objects.count() == 0
    # the buy page sends the fan to verify, saying why
    page = client.get(f"/sessions/{guarded_sale.session.pk}/buy/")
    assert page.status_code == 302
    assert page["Location"].startswith("/account/verify/?next=")


def test_an_email_does_not_satisfy_a_phone_requirement(fan, guarded_sale, now):
    VerifiedContact.objects.create(
        user=fan, channel="email", address="fan@example.com", verified_at=now
    )
    client = Client()
    client.force_login(fan)
    assert hold(client, guarded_sale).status_code == 403


def test_a_verified_fan_buys_through_the_api(fan, guarded_sale):
    client = Client()
    client.force_login(fan)
    sent = client.post(
        "/api/v1/verification/codes",
        json.dumps({"channel": "phone", "address": "+86 138 1234 5678"}),
        content_type="application/json",
    )
    assert sent.status_code == 202
    assert sent.json()["sent_to"] == "138****5678"
    wrong = client.post(
        "/api/v1/verification/confirm",
        json.dumps({"channel": "phone", "code": "12345"}),
        content_type="application/json",
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "code_invalid"
    confirmed = client.post(
        "/api/v1/verification/confirm",
        json.dumps({"channel": "phone", "code": sent_code("13812345678")}),
        content_type="application/json",
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["address"] == "138****5678"
    assert client.get("/api/v1/verification").json()["verified"][0]["channel"] == "phone"
    bought = client.post(
        f"/api/v1/sessions/{guarded_sale.session.pk}/checkout",
        json.dumps({"zone": guarded_sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"}),
        content_type="application/json",
    )
    assert bought.status_code == 201
    assert bought.json()["order"]["status"] == "pending_payment"


def test_sessions_without_a_requirement_cost_no_statement(fan, now, django_assert_num_queries):
    sale = make_sale(sections=1, rows=1, seats_per_row=2)
    verification.requirement_of(sale.session.pk)  # the table is read once per 30 s
    with django_assert_num_queries(0):
        verification.require_verified_contact(
            session=sale.session, user=fan, admission_pass=None, now=now
        )


def test_an_operator_sets_the_requirement_in_the_back_office(now):
    from tessera.accounts.tests.factories import make_user

    sale = make_sale(sections=1, rows=1, seats_per_row=2)
    operator = make_user(username="op", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator)
    answer = client.post(
        "/admin/ratelimit/verificationrequirement/add/",
        {"session": sale.session.pk, "requirement": "email"},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert verification.requirement_of(sale.session.pk) == "email"
    assert AuditEntry.objects.filter(action="ratelimit.requirement_set").count() == 1
