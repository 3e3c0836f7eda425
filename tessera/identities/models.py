"""Attendees a fan keeps (观演人), the identity bound to each real-name order line, and the
key of the blind index."""

from django.conf import settings
from django.db import connection, models
from django.utils.translation import gettext_lazy as _

from tessera.core import vault
from tessera.core.fields import SealedBinaryField
from tessera.identities.documents import DocumentType


class BlindIndexKey(models.Model):
    """The HMAC key of document numbers' blind index: one row, its secret sealed under the
    master key. It never rotates with the master key (every index would change)."""

    secret = SealedBinaryField(_("secret"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("blind index key")
        verbose_name_plural = _("blind index keys")


class Attendee(models.Model):
    """A person a fan buys real-name tickets for. The number is sealed; ``blind_index``
    finds the same document again; ``masked`` is what every page shows."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="attendees",
        verbose_name=_("account"),
    )
    name = models.CharField(_("name"), max_length=40)
    doc_type = models.CharField(_("document type"), max_length=20, choices=DocumentType.choices)
    number = SealedBinaryField(_("document number (sealed)"))
    blind_index = models.CharField(_("blind index"), max_length=64)
    masked = models.CharField(_("document number"), max_length=24)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("attendee")
        verbose_name_plural = _("attendees")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "blind_index"], name="uniq_attendee_document_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.masked}"


class LineIdentity(models.Model):
    """The identity of one ticket (order line) of a real-name session, copied from the
    attendee when the order was placed (removing the attendee later changes nothing)."""

    line = models.OneToOneField(
        "orders.OrderLine",
        on_delete=models.CASCADE,
        related_name="identity",
        verbose_name=_("order line"),
    )
    session = models.ForeignKey(
        "catalog.Session", on_delete=models.PROTECT, related_name="+", verbose_name=_("session")
    )
    name = models.CharField(_("name"), max_length=40)
    doc_type = models.CharField(_("document type"), max_length=20, choices=DocumentType.choices)
    number = SealedBinaryField(_("document number (sealed)"))
    blind_index = models.CharField(_("blind index"), max_length=64)
    masked = models.CharField(_("document number"), max_length=24)

    class Meta:
        verbose_name = _("ticket identity")
        verbose_name_plural = _("ticket identities")
        indexes = [models.Index(fields=["session", "blind_index"], name="identity_per_session")]

    def __str__(self) -> str:
        return f"{self.name} {self.masked}"


def sealed_key_id(model, pk: int) -> str | None:
    """The master key id under which the row's number is sealed (the raw column, unopened)."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT number FROM {table} WHERE id = %s", [pk])  # noqa: S608 - quoted
        row = cursor.fetchone()
    return vault.sealed_kid(bytes(row[0])) if row else None
