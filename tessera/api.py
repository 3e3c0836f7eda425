"""The REST API: one NinjaAPI, one router per app, one JSON error shape.

Every error, whatever raised it, answers ``{"error": {"code", "message", "details"}}``.
"""

import re

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import SessionAuth

from tessera.core.errors import DomainError
from tessera.core.schemas import ErrorOut

api = NinjaAPI(
    title="Tessera API",
    version="1",
    description="Events, sessions, venues, seating and sales of the Tessera ticketing platform.",
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
)


def _error(request, status: int, code: str, message: str, details=None):
    return api.create_response(
        request,
        {"error": {"code": code, "message": message, "details": details or {}}},
        status=status,
    )


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    response = _error(request, exc.status, exc.code, str(exc.message), exc.details)
    for name, value in getattr(exc, "headers", {}).items():  # e.g. Retry-After of a 429
        response[name] = value
    return response


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    details = [
        {"field": ".".join(str(p) for p in e.get("loc", [])), "message": e.get("msg", "")}
        for e in exc.errors
    ]
    return _error(request, 422, "invalid_input", _("The input is not valid."), {"errors": details})


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(request, 401, "not_authenticated", _("Please sign in."))


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    text = str(exc)
    if exc.status_code == 400 and text.startswith("Cannot parse request body"):
        return _error(request, 400, "invalid_json", str(INVALID_JSON))
    if exc.status_code == 403 and "CSRF" in text:
        return _error(request, 403, "csrf_failed", str(CSRF_FAILED))
    return _error(request, exc.status_code, "http_error", text)


# Ninja's own refusals, worded for people and translated.
INVALID_JSON = gettext_lazy("The request body could not be read as JSON.")
CSRF_FAILED = gettext_lazy(
    "The security check of this request failed (the CSRF token is missing or wrong). Reload "
    "the page and try again."
)


def _mount_routers() -> None:
    from tessera.aftersales.api import router as aftersales_router
    from tessera.aftersales.api_exchanges import router as exchanges_router
    from tessera.catalog.api import router as catalog_router
    from tessera.checkin.api import router as checkin_router
    from tessera.groupsales.api import router as groupsales_router
    from tessera.identities.api import router as identities_router
    from tessera.inventory.api import router as inventory_router
    from tessera.orders.api import router as orders_router
    from tessera.partnerapi.api import router as partnerapi_router
    from tessera.passes.api import router as passes_router
    from tessera.payments.api import router as payments_router
    from tessera.ratelimit.api import router as ratelimit_router
    from tessera.resale.api import router as resale_router
    from tessera.risk.api import router as risk_router
    from tessera.sale.api import router as sale_router
    from tessera.storefront.api import router as storefront_router
    from tessera.support.api import router as support_router
    from tessera.tickets.api import router as tickets_router
    from tessera.transfers.api import router as transfers_router
    from tessera.venues.api import router as venues_router
    from tessera.waitingroom.api import router as waitingroom_router
    from tessera.waitlist.api import router as waitlist_router

    api.add_router("/v1/", catalog_router)
    api.add_router("/v1/", venues_router)
    api.add_router("/v1/", inventory_router)
    api.add_router("/v1/", orders_router)
    api.add_router("/v1/", payments_router)
    api.add_router("/v1/", sale_router)
    api.add_router("/v1/", tickets_router)
    api.add_router("/v1/", waitingroom_router)
    api.add_router("/v1/", checkin_router)
    api.add_router("/v1/", transfers_router)
    api.add_router("/v1/", storefront_router)
    api.add_router("/v1/", aftersales_router)
    api.add_router("/v1/", exchanges_router)
    api.add_router("/v1/", risk_router)
    api.add_router("/v1/", waitlist_router)
    api.add_router("/v1/", identities_router)
    api.add_router("/v1/", support_router)
    api.add_router("/v1/", resale_router)
    api.add_router("/v1/", ratelimit_router)
    api.add_router("/v1/", passes_router)
    api.add_router("/v1/", partnerapi_router)
    api.add_router("/v1/", groupsales_router)


_mount_routers()


def _declare_common_errors() -> None:
    """Add to every operation the error answers that come from outside its own code, so the
    OpenAPI document lists every status an operation can give (each with the one error
    shape): 422 for input that fails validation (or that ``core.inputguard`` refuses), 400
    (unreadable JSON) and 413 (too large) for a body, 401 behind authentication, 403 (the
    CSRF check) behind a session on a writing method, 404 for an id in the path, 429 for
    the requests the rate limits count (``ratelimit.limits.ACTION_PATHS``); joins and holds
    also 403, 428 and 429 from risk control (``tessera.risk.middleware``: refused, a proof of
    work required, slowed)."""
    from tessera.ratelimit.limits import action_for

    guarded = re.compile(
        r"^/(sessions/\{[^}]+\}/(holds|checkout|seatmap/hold)|waitingrooms/\{[^}]+\}/entries)$"
    )
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            for operation in path_view.operations:
                statuses = {422}
                examples = ["/api/v1" + re.sub(r"\{[^}]+\}", n, path) for n in ("1", "1" * 32)]
                if any(action_for(m, e) for m in operation.methods for e in examples):
                    statuses.add(429)
                if "POST" in operation.methods and guarded.match(path):
                    statuses |= {403, 428, 429}
                sources = {getattr(m, "__ninja_param_source__", None) for m in operation.models}
                writes = set(operation.methods) & {"POST", "PUT", "PATCH", "DELETE"}
                if writes:
                    statuses |= {400, 413}
                if operation.auth_callbacks:
                    statuses.add(401)
                    if writes and any(isinstance(a, SessionAuth) for a in operation.auth_callbacks):
                        statuses.add(403)
                if "path" in sources:
                    statuses.add(404)
                models = operation.response_models
                for status in sorted(statuses - set(models)):
                    models[status] = operation._create_response_model(ErrorOut)


_declare_common_errors()
