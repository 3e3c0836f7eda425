from tessera.notifications.models import Channel, Message


def order_email(order) -> Message | None:
    """The email of "order paid, tickets ready" of this order, if recorded."""
    return Message.objects.filter(key=f"order_paid:{order.pk}:{Channel.EMAIL}").first()


def password_reset_emails(user):
    return Message.objects.filter(user=user, kind="password_reset", channel=Channel.EMAIL)
