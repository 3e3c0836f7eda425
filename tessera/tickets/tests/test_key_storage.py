"""Session keys at rest: the database holds only sealed secrets (raw rows read with SQL), and
rotating the master key re-seals every one without changing what it signs."""

import base64
import importlib
import io
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import CommandError, call_command
from django.db import connection

from tessera.core import vault
from tessera.tickets import credentials as cred
from tessera.tickets import services
from tessera.tickets.models import SessionKey
from tessera.tickets.tests.factories import NOW, make_paid_order, make_ticketed_session
from tessera.tickets.tests.test_services import DURING

pytestmark = pytest.mark.django_db


def raw_secrets() -> dict[int, bytes]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT kid, secret FROM tickets_sessionkey")
        return {kid: bytes(value) for kid, value in cursor.fetchall()}


def entry(kid: str, byte: int) -> str:
    return f"{kid}:{base64.urlsafe_b64encode(bytes([byte]) * 32).decode()}"


@pytest.fixture
def key_file(settings, tmp_path):
    """Master keys in a file of their own (no TESSERA_MASTER_KEY)."""
    settings.MASTER_KEYS = ""
    settings.MASTER_KEY_FILE = tmp_path / "master_keys"
    vault.forget_keyring()
    yield settings.MASTER_KEY_FILE
    vault.forget_keyring()


def test_no_private_key_bytes_are_stored_in_the_key_rows():
    # given a session with a signing key and a rotation key
    session, _zone = make_ticketed_session()
    signing = services.get_or_create_signing_key(session=session, now=NOW)
    rotation = services.get_or_create_rotation_key(session=session, now=NOW)
    private = Ed25519PrivateKey.from_private_bytes(bytes(signing.secret))
    # when the rows are read as the database has them
    rows = raw_secrets()
    # then each is sealed, and neither secret appears in any form
    for key in (signing, rotation):
        raw = rows[key.kid]
        assert raw.startswith(vault.MAGIC)
        assert bytes(key.secret) not in raw
        assert base64.b64encode(bytes(key.secret)) not in raw
        assert bytes(key.secret).hex().encode() not in raw
        assert b"PRIVATE KEY" not in raw
    # and the key read back through the model is the working private key
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert public == bytes(SessionKey.objects.get(pk=signing.pk).public_key)
    assert len(SessionKey.objects.get(pk=rotation.pk).secret) == 32


def test_rotating_the_master_key_reseals_every_secret_and_tickets_still_verify(key_file):
    # given tickets signed under a session key sealed by the first master key
    order = make_paid_order(seats=1)
    (ticket,) = services.issue_tickets(order=order, now=NOW)
    services.get_or_create_rotation_key(session=order.session, now=NOW)
    before = raw_secrets()
    (first,) = vault.parse_keys(key_file.read_text())
    assert {vault.sealed_kid(v) for v in before.values()} == {first.kid}
    # when the master key is rotated: a new key, everything re-sealed, the old key retired
    call_command("rotate_master_key", "--new-key", "--retire", stdout=io.StringIO())
    # then the file holds only the new key, still private
    (second,) = vault.parse_keys(key_file.read_text())
    assert second.kid != first.kid
    assert (key_file.stat().st_mode & 0o777) == 0o600
    # and every row is sealed under it, with new bytes for the same secrets
    after = raw_secrets()
    assert {vault.sealed_kid(v) for v in after.values()} == {second.kid}
    assert all(after[kid] != before[kid] for kid in before)
    # and the old credential and a new one verify with the published public key
    text = services.credential_for(ticket=ticket, now=NOW)
    payload = cred.verify(
        text,
        public_keys=services.public_keys_for_session(order.session),
        is_revoked=services.revocation_list(order.session),
        now=DURING,
    )
    assert payload.ticket_id == ticket.pk


def test_rotation_with_keys_from_the_environment(settings):
    # given rows sealed under key "a" of the environment
    settings.MASTER_KEYS = entry("a", 1)
    vault.forget_keyring()
    session, _zone = make_ticketed_session()
    key = services.get_or_create_signing_key(session=session, now=NOW)
    assert vault.sealed_kid(raw_secrets()[key.kid]) == "a"
    # when "b" is put first and the command runs
    settings.MASTER_KEYS = f"{entry('b', 2)},{entry('a', 1)}"
    call_command("rotate_master_key", stdout=io.StringIO())
    # then the row is under "b" and opens without "a"
    assert vault.sealed_kid(raw_secrets()[key.kid]) == "b"
    settings.MASTER_KEYS = entry("b", 2)
    assert bytes(SessionKey.objects.get(pk=key.pk).secret) == bytes(key.secret)
    # and writing a key file is refused while the keys come from the environment
    with pytest.raises(CommandError, match="TESSERA_MASTER_KEY"):
        call_command("rotate_master_key", "--new-key")
    vault.forget_keyring()


def test_the_migration_seals_rows_stored_in_plain():
    # given a key row written in plain, as before sealing existed
    session, _zone = make_ticketed_session()
    key = services.get_or_create_signing_key(session=session, now=NOW)
    plain = bytes(key.secret)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_sessionkey SET secret = %s WHERE id = %s", [plain, key.pk])
    # when the data migration runs
    migration = importlib.import_module("tessera.tickets.migrations.0002_seal_session_key_secrets")
    migration.seal_secrets(None, SimpleNamespace(connection=connection))
    # then the row is sealed and opens to the same key
    raw = raw_secrets()[key.kid]
    assert vault.is_sealed(raw) and plain not in raw
    assert bytes(SessionKey.objects.get(pk=key.pk).secret) == plain
    # and running it again changes nothing
    migration.seal_secrets(None, SimpleNamespace(connection=connection))
    assert raw_secrets()[key.kid] == raw
