"""What a partner API key may do. A key carries a list of scopes; every endpoint of the
partner API names the one it needs and calls ``require_scope`` on the caller's principal."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tessera.core.errors import DomainError

CATALOG_READ = "catalog:read"
AVAILABILITY = "availability"
ORDERS = "orders"
REFUNDS = "refunds"
WEBHOOKS = "webhooks"

SCOPES = {
    CATALOG_READ: _("Read the catalog: events and sessions"),
    AVAILABILITY: _("Read availability and quotes"),
    ORDERS: _("Place orders and fetch their tickets"),
    REFUNDS: _("Cancel and refund orders"),
    WEBHOOKS: _("Manage webhook subscriptions"),
}
ALL_SCOPES = list(SCOPES)


class ScopeMissing(DomainError):
    code = "scope_missing"
    status = 403
    default_message = _("This API key does not have the permission this call needs.")


def require_scope(principal, scope: str) -> None:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    if scope not in (getattr(principal, "scopes", None) or ()):
        raise ScopeMissing(details={"scope": scope})
