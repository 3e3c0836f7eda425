"""``{% order_email_status order %}``: what really happened to the email of an order's
tickets, in the fan's words (the outbox row, not a promise)."""

from django import template
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from tessera.notifications.models import Channel, MessageStatus
from tessera.notifications.selectors import order_email

register = template.Library()


@register.simple_tag
def order_email_status(order) -> str:
    message = order_email(order)
    if message is None:
        if order.paid_at is None:
            return ""
        return _(
            "The email with your tickets has not been prepared yet; your tickets are on this page."
        )
    address = message.address
    if message.status == MessageStatus.SENT:
        when = date_format(localtime(message.sent_at), "SHORT_DATETIME_FORMAT")
        return _("Tickets emailed to %(address)s (%(when)s).") % {"address": address, "when": when}
    if message.status == MessageStatus.FAILED:
        return _(
            "The email to %(address)s could not be delivered; your tickets are on this page."
        ) % {"address": address}
    return _("The email to %(address)s is waiting to be sent; your tickets are on this page.") % {
        "address": address
    }


__all__ = ["Channel", "order_email_status"]
