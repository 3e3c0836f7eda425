"""Model fields of the core: ``SealedBinaryField`` keeps a secret sealed at rest."""

from django.db import models

from tessera.core import vault


class SealedBinaryField(models.BinaryField):
    """Bytes stored sealed under the master key (``core.vault``), plain bytes in Python.

    The database only ever holds the sealed form; reading opens it. ``context`` binds the
    value to its place (default ``<app>.<model>.<field>``): a sealed value copied into another
    column does not open. Lookups on the value mean nothing (every seal is randomised).
    """

    description = "Binary data sealed under the master key"

    def __init__(self, *args, context: str | None = None, **kwargs):
        self.context = context
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.context is not None:
            kwargs["context"] = self.context
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        if self.context is None:
            self.context = f"{cls._meta.label_lower}.{name}"

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is not None:
            value = vault.seal(bytes(value), context=self.context)
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return vault.open_sealed(value, context=self.context)
