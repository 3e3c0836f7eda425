"""Re-seal every sealed value in the database under the current master key.

    manage.py rotate_master_key --new-key --retire   # key file: new key, re-seal, drop the old
    manage.py rotate_master_key                      # re-seal under the first key configured

With ``TESSERA_MASTER_KEY``: put the new entry first (``new:…,old:…``) in every process's
environment, restart them, run this command, then remove the old entry. Values already under
the current key are left alone, so the command can be run again after an interruption.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from tessera.core import vault
from tessera.core.fields import SealedBinaryField

BATCH = 500


def sealed_fields():
    """(model, field) for every SealedBinaryField of an installed model."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, SealedBinaryField):
                yield model, field


def reseal_field(model, field, current_kid: str) -> tuple[int, int]:
    """Re-seal the field's values under the current key -> (re-sealed, already current)."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(field.column)
    pk = connection.ops.quote_name(model._meta.pk.column)
    resealed = current = 0
    last = None
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                where = f"WHERE {pk} > %s " if last is not None else ""
                cursor.execute(
                    f"SELECT {pk}, {column} FROM {table} {where}ORDER BY {pk} LIMIT %s",  # noqa: S608 - quoted names
                    [last, BATCH] if last is not None else [BATCH],
                )
                rows = cursor.fetchall()
            for row_pk, value in rows:
                if value is None:
                    continue
                value = bytes(value)
                if vault.sealed_kid(value) == current_kid:
                    current += 1
                    continue
                # Not sealed yet (a row written before sealing existed) or sealed under an
                # older key: the field seals what it is given under the current key.
                plain = (
                    vault.open_sealed(value, context=field.context)
                    if vault.is_sealed(value)
                    else value
                )
                model._base_manager.filter(pk=row_pk).update(**{field.attname: plain})
                resealed += 1
        if len(rows) < BATCH:
            return resealed, current
        last = rows[-1][0]


class Command(BaseCommand):
    help = "Re-seal every secret kept in the database under the current master key."

    def add_arguments(self, parser):
        parser.add_argument(
            "--new-key",
            action="store_true",
            help="first write a new master key into the key file as the current key",
        )
        parser.add_argument(
            "--retire",
            action="store_true",
            help="afterwards drop every other key from the key file",
        )

    def handle(self, *args, new_key=False, retire=False, **options):
        try:
            if new_key:
                key = vault.add_key_to_file()
                self.stdout.write(f"New master key {key.kid} written to {vault.key_file()}.")
            ring = vault.keyring(fresh=True)
        except vault.VaultError as exc:
            raise CommandError(str(exc)) from exc
        total = 0
        for model, field in sealed_fields():
            try:
                resealed, current = reseal_field(model, field, ring.current.kid)
            except vault.VaultError as exc:
                raise CommandError(f"{model._meta.label}.{field.name}: {exc}") from exc
            total += resealed
            self.stdout.write(
                f"{model._meta.label}.{field.name}: {resealed} re-sealed, "
                f"{current} already under {ring.current.kid}"
            )
        self.stdout.write(f"{total} value(s) re-sealed under master key {ring.current.kid}.")
        if retire:
            try:
                dropped = vault.retire_old_keys_in_file()
            except vault.VaultError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"Retired master keys: {', '.join(dropped)}."
                if dropped
                else "No other master key to retire."
            )
