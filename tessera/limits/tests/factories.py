"""Purchase limits for tests."""

from tessera.limits.models import PurchaseLimits


def set_limits(*, event, session=None, **limits) -> PurchaseLimits:
    """The event's limits (or ``session``'s override) with ``limits`` on, the rest off."""
    row, _ = PurchaseLimits.objects.update_or_create(event=event, session=session, defaults=limits)
    return row
