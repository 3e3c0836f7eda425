"""Reads of payments used by the API, pages and other apps."""

from uuid import UUID

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import NotFound
from tessera.payments.models import Payment


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    default_message = _("This payment does not exist.")


def get_payment_for_user(*, payment_id: UUID, user) -> Payment:
    """The user's own payment; anyone else's answers PaymentNotFound like an unknown id."""
    payment = (
        Payment.objects.select_related("order").filter(pk=payment_id, order__user=user).first()
    )
    if payment is None:
        raise PaymentNotFound
    return payment


def list_payments(*, order) -> list[Payment]:
    return list(order.payments.order_by("-created_at"))
