"""Session keys' secrets (Ed25519 private keys, rotating-code secrets) sealed under the
master key (tessera/core/vault.py); until now they were plain rows."""

from django.db import migrations

import tessera.core.fields
from tessera.core import vault

CONTEXT = "tickets.sessionkey.secret"


def _rows(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, secret FROM tickets_sessionkey ORDER BY id")
        return [(pk, bytes(value)) for pk, value in cursor.fetchall() if value is not None]


def seal_secrets(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for pk, value in _rows(connection):
            if vault.is_sealed(value):
                continue
            cursor.execute(
                "UPDATE tickets_sessionkey SET secret = %s WHERE id = %s",
                [vault.seal(value, context=CONTEXT), pk],
            )


def open_secrets(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for pk, value in _rows(connection):
            if not vault.is_sealed(value):
                continue
            cursor.execute(
                "UPDATE tickets_sessionkey SET secret = %s WHERE id = %s",
                [vault.open_sealed(value, context=CONTEXT), pk],
            )


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="sessionkey",
            name="secret",
            field=tessera.core.fields.SealedBinaryField(
                context="tickets.sessionkey.secret", verbose_name="secret"
            ),
        ),
        migrations.RunPython(seal_secrets, open_secrets, elidable=False),
    ]
