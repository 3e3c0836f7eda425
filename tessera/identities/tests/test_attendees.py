"""A fan's attendees: sealed numbers, blind index, masked display, rotation, the API."""

import base64
import json
import logging

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from tessera.core import vault
from tessera.core.models import AuditEntry
from tessera.identities import services
from tessera.identities.errors import AttendeeExists, AttendeeNotFound, DocumentRejected
from tessera.identities.models import Attendee, sealed_key_id
from tessera.inventory.tests.factories import make_buyer

pytestmark = pytest.mark.django_db

NUMBER = "11010519491231002X"


def entry(kid: str, byte: int) -> str:
    return f"{kid}:{base64.urlsafe_b64encode(bytes([byte]) * 32).decode()}"


@pytest.fixture
def keys(settings):
    settings.MASTER_KEYS = entry("first", 7)
    vault.forget_keyring()
    yield settings
    vault.forget_keyring()


def raw_database_text() -> str:
    """Every value of every table, as text (bytes decoded leniently)."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value).decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def test_an_attendee_is_kept_sealed_and_shown_masked(keys, caplog):
    fan = make_buyer()
    now = timezone.now()
    caplog.set_level(logging.DEBUG)
    attendee = services.add_attendee(
        user=fan, name=" Li  Lei ", doc_type="resident_id", number="11010519491231002x", now=now
    )
    # the number round-trips through the vault, is masked, and found by its blind index
    stored = Attendee.objects.get(pk=attendee.pk)
    assert bytes(stored.number) == NUMBER.encode()
    assert (stored.name, stored.masked) == ("Li Lei", "1101**********002X")
    assert stored.blind_index == services.blind_index("resident_id", NUMBER)
    assert len(stored.blind_index) == 64 and NUMBER not in stored.blind_index
    assert sealed_key_id(Attendee, stored.pk) == "first"
    # nowhere in the database, the audit log or the logs in plain text
    assert NUMBER not in raw_database_text()
    assert NUMBER.lower() not in raw_database_text()
    entry_ = AuditEntry.objects.get(action="identities.attendee_added")
    assert entry_.data == {"doc_type": "resident_id", "masked": "1101**********002X"}
    assert NUMBER not in caplog.text


def test_the_same_document_twice_in_one_account_is_refused(keys):
    fan = make_buyer()
    now = timezone.now()
    services.add_attendee(user=fan, name="Li Lei", doc_type="resident_id", number=NUMBER, now=now)
    with pytest.raises(AttendeeExists):
        services.add_attendee(
            user=fan, name="Lei Li", doc_type="resident_id", number=f" {NUMBER.lower()}", now=now
        )
    assert Attendee.objects.filter(user=fan).count() == 1
    # another fan may list the same person
    services.add_attendee(
        user=make_buyer(), name="Li Lei", doc_type="resident_id", number=NUMBER, now=now
    )
    assert Attendee.objects.count() == 2


def test_a_bad_number_is_refused_naming_the_reason_and_nothing_is_written(keys):
    fan = make_buyer()
    with pytest.raises(DocumentRejected) as refused:
        services.add_attendee(
            user=fan,
            name="Li Lei",
            doc_type="resident_id",
            number="110105194912310021",
            now=timezone.now(),
        )
    assert refused.value.details == {"number": "check_digit"}
    assert Attendee.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_rotating_the_master_key_reseals_numbers_and_keeps_the_blind_index(keys):
    fan = make_buyer()
    attendee = services.add_attendee(
        user=fan, name="Li Lei", doc_type="resident_id", number=NUMBER, now=timezone.now()
    )
    index = attendee.blind_index
    keys.MASTER_KEYS = f"{entry('second', 9)},{entry('first', 7)}"
    vault.forget_keyring()
    call_command("rotate_master_key", verbosity=0)
    assert sealed_key_id(Attendee, attendee.pk) == "second"
    keys.MASTER_KEYS = entry("second", 9)  # the old key retired
    vault.forget_keyring()
    services.forget_blind_index_key()
    stored = Attendee.objects.get(pk=attendee.pk)
    assert bytes(stored.number) == NUMBER.encode()
    assert services.blind_index("resident_id", NUMBER) == index


def test_removing_an_attendee_is_only_for_its_own_account(keys):
    fan, other = make_buyer(), make_buyer()
    attendee = services.add_attendee(
        user=fan, name="Li Lei", doc_type="passport", number="E12345678", now=timezone.now()
    )
    with pytest.raises(AttendeeNotFound):
        services.remove_attendee(user=other, attendee_id=attendee.pk, now=timezone.now())
    assert Attendee.objects.filter(pk=attendee.pk).exists()
    services.remove_attendee(user=fan, attendee_id=attendee.pk, now=timezone.now())
    assert not Attendee.objects.filter(pk=attendee.pk).exists()


# -- the API -----------------------------------------------------------------------------------


def post(client, body, **extra):
    return client.post(
        "/api/v1/attendees", json.dumps(body), content_type="application/json", **extra
    )


def test_the_api_adds_lists_and_removes_attendees_masked(keys):
    fan = make_buyer(preferred_language="en")
    client = Client()
    client.force_login(fan)
    added = post(
        client,
        {"name": "Li Lei", "doc_type": "resident_id", "number": NUMBER},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert added.status_code == 201
    body = added.json()
    assert body["masked_number"] == "1101**********002X"
    assert body["doc_type_label"] == "Mainland resident ID card"
    assert NUMBER not in added.content.decode()
    listed = client.get("/api/v1/attendees").json()
    assert [(a["id"], a["masked_number"]) for a in listed] == [(body["id"], "1101**********002X")]
    again = post(client, {"name": "Li Lei", "doc_type": "resident_id", "number": NUMBER})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "attendee_exists")
    assert client.delete(f"/api/v1/attendees/{body['id']}").status_code == 204
    assert client.get("/api/v1/attendees").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Li Lei", "doc_type": "resident_id", "number": NUMBER, "extra": 1},
        {"name": "Li Lei", "doc_type": "resident_id", "number": 11010519491231002},
        {"name": "Li Lei", "doc_type": "id_card", "number": NUMBER},
        {"name": "Li\x00Lei", "doc_type": "resident_id", "number": NUMBER},
        {"name": "Li Lei", "doc_type": "resident_id", "number": "1" * 41},
        {"name": "Li Lei", "doc_type": "resident_id", "number": "11010519491231\x00002X"},
        {"name": "", "doc_type": "resident_id", "number": NUMBER},
        ["Li Lei", "resident_id", NUMBER],
    ],
)
def test_the_api_refuses_loose_input(keys, body):
    client = Client()
    client.force_login(make_buyer())
    answer = post(client, body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "invalid_input")
    assert Attendee.objects.count() == 0


def test_the_api_explains_a_bad_check_digit_in_chinese(keys):
    client = Client()
    client.force_login(make_buyer(preferred_language="zh-hans"))
    answer = post(
        client,
        {"name": "李雷", "doc_type": "resident_id", "number": "110105194912310021"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "identity_document_invalid"
    assert error["details"] == {"number": "check_digit"}
    assert error["message"] == "身份证号码最后一位校验码不符。"


def test_the_api_needs_a_signed_in_account():
    assert Client().get("/api/v1/attendees").status_code == 401
